"""App Home shows every environment (or says how many more) within Slack's limit, on the watch's clock."""

from __future__ import annotations

from bot.present.slack import home_view
from bot.watch.model import AlertState, WatchRound
from tests.harness.fake_slack import validate_view

T0 = 1_900_000_000.0


def test_app_home_shows_every_environment_or_how_many_more_within_slacks_limit() -> None:
    rnd = WatchRound(environment="e", at=T0, status="ok", verdict="all fine", events=(), problems=0, hosts=1)
    envs = [(f"env{i:02d}", True, "", False, rnd, []) for i in range(40)]
    view = home_view("UALICE", envs, now=T0)  # type: ignore[arg-type]
    assert validate_view(view) is None and len(view["blocks"]) <= 100
    text = str(view["blocks"])
    shown = [n for n, *_ in envs if f"*{n}*" in text]
    assert len(shown) >= 10
    assert f"… and {40 - len(shown)} more environments" in text and "env39" in text
    few = home_view("UALICE", envs[:12], now=T0)  # type: ignore[arg-type]
    assert all(f"*{n}*" in str(few["blocks"]) for n, *_ in envs[:12]) and "more environment" not in str(few)


def test_app_home_says_snoozed_on_the_watch_clock() -> None:
    a = AlertState(
        key="k", environment="prod", host="app1", module="mta", instance="prod", check="process", status="fail",
        fingerprint="f", summary="mta down", opened_at=T0, last_seen=T0, snoozed_until=T0 + 3600, snoozed_by="U1",
    )  # fmt: skip
    row = [("prod", True, "", False, None, [a])]
    assert "snoozed until 2030-03-17 18:46 UTC" in str(home_view("U", row, now=T0 + 60))  # type: ignore[arg-type]
    assert "snoozed" not in str(home_view("U", row, now=T0 + 7200))  # type: ignore[arg-type]
    assert "updated 2030-03-17 17:47 UTC" in str(home_view("U", row, now=T0 + 60))  # type: ignore[arg-type]


def test_app_home_shows_a_protected_environments_results_only_to_who_may_check_it() -> None:
    a = AlertState(
        key="k", environment="prod", host="app1", module="mta", instance="prod", check="process", status="fail",
        fingerprint="f", summary="mta down on the payroll relay", opened_at=T0, last_seen=T0,
    )  # fmt: skip
    rnd = WatchRound(
        environment="prod", at=T0, status="fail", verdict="mta down on app1", events=(), problems=1, hosts=1
    )
    mine = str(home_view("UOPS", [("prod", True, "", False, rnd, [a])], now=T0))  # type: ignore[arg-type]
    assert "mta down on app1" in mine and "payroll relay" in mine
    view = home_view("UOTHER", [("prod", False, "prod is protected", False, rnd, [a])], now=T0)  # type: ignore[arg-type]
    theirs = str(view["blocks"])
    assert validate_view(view) is None and "*prod*" in theirs
    assert "mta down" not in theirs and "payroll relay" not in theirs and "Open alerts" not in theirs
    assert "you may not run checks (prod is protected)" in theirs
