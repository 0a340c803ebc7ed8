"""One contract, three stores: memory, SQLite (several processes) and a real redis-server."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.stores import MemoryStore, SqliteStore, StateStore, open_store
from tests.harness.redis import redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    s: StateStore
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = SqliteStore(tmp_path / "state.sqlite3")
    else:
        from bot.stores.redis import RedisStore

        s = RedisStore(request.getfixturevalue("redis_url"), prefix=f"t{time.monotonic_ns()}")
    yield s
    s.close()


def test_add_is_a_test_and_set(store: StateStore) -> None:
    assert store.add("seen", "Ev1", {"n": 1})
    assert not store.add("seen", "Ev1", {"n": 2})
    assert store.get("seen", "Ev1") == {"n": 1}


def test_expiry(store: StateStore) -> None:
    assert store.add("seen", "short", {"x": 1}, ttl_s=0.05)
    time.sleep(0.15)
    assert store.get("seen", "short") is None
    assert store.add("seen", "short", {"x": 2}, ttl_s=5)


def test_take_gives_a_value_once(store: StateStore) -> None:
    store.put("action", "a1", {"cmd": "x"})
    assert store.take("action", "a1") == {"cmd": "x"}
    assert store.take("action", "a1") is None


def test_update_read_modify_write_and_delete(store: StateStore) -> None:
    def bump(v: dict[str, int] | None) -> dict[str, int]:
        return {"n": (v or {"n": 0})["n"] + 1}

    for _ in range(5):
        store.update("count", "c", bump)  # type: ignore[arg-type]
    assert store.get("count", "c") == {"n": 5}
    assert store.update("count", "c", lambda v: None) is None
    assert store.get("count", "c") is None


def test_scan_lists_live_records(store: StateStore) -> None:
    store.put("job", "j1", {"s": "queued"})
    store.put("job", "j2", {"s": "running"})
    store.put("other", "x", {"s": "?"})
    store.put("job", "gone", {"s": "x"}, ttl_s=0.05)
    time.sleep(0.15)
    assert dict(store.scan("job")) == {"j1": {"s": "queued"}, "j2": {"s": "running"}}


def _bump_many(kind: str, where: str, n: int) -> None:
    s: StateStore
    if kind == "sqlite":
        s = SqliteStore(where)
    else:
        from bot.stores.redis import RedisStore

        s = RedisStore(where.split("|")[0], prefix=where.split("|")[1])
    for _ in range(n):
        s.update("count", "shared", lambda v: {"n": (v or {"n": 0})["n"] + 1})
    s.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_update_is_atomic_across_processes(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if kind == "sqlite":
        where = str(tmp_path / "shared.sqlite3")
        SqliteStore(where)
        reader: StateStore = SqliteStore(where)
    else:
        from bot.stores.redis import RedisStore

        url = request.getfixturevalue("redis_url")
        prefix = f"p{time.monotonic_ns()}"
        where = f"{url}|{prefix}"
        reader = RedisStore(url, prefix=prefix)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_bump_many, args=(kind, where, 40)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert reader.get("count", "shared") == {"n": 120}


def test_sqlite_store_faults_are_one_clear_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupt"):
        open_store(str(corrupt))
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "no" / "such" / "dir" / "state.sqlite3"))
    if os.geteuid() != 0:  # root ignores file modes
        ro = tmp_path / "ro.sqlite3"
        SqliteStore(ro)
        ro.chmod(stat.S_IRUSR)
        with pytest.raises(StoreError):
            open_store(str(ro))


def test_sqlite_store_deleted_under_the_bot_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    s = SqliteStore(path)
    s.put("thread", "t", {"env": "prod"})
    path.unlink()
    with pytest.raises(StoreError, match="deleted or replaced"):
        s.put("thread", "t", {"env": "prod"})


def test_redis_unreachable_is_one_clear_line_without_password() -> None:
    with pytest.raises(StoreError) as e:
        open_store("unused", "redis://:hunter2secret@127.0.0.1:1/0")
    assert "hunter2secret" not in str(e.value) and "127.0.0.1" in str(e.value)


def test_a_worker_whose_lease_ran_out_can_record_nothing_more(store: StateStore) -> None:
    """The ledger's fence: once another worker has claimed a job whose lease ran out, the first one's
    stage (say "sending", before a confirmed command) raises JobLost and its finish closes nothing."""
    from bot.errors import JobLost
    from bot.jobs.ledger import Ledger

    now = [1000.0]
    ledger = Ledger(store, lease_s=15.0, clock=lambda: now[0])
    jid = ledger.accept("click", {"body": {}}, "job-fence")
    assert jid is not None
    first = ledger.claim(jid, "hostA:1:aaa")
    assert first is not None
    ledger.record(jid, worker="hostA:1:aaa", stage="authorized")
    now[0] += 20  # frozen past its lease
    assert [r.id for r in ledger.reap()] == [jid]
    assert ledger.claim(jid, "hostB:2:bbb") is not None
    with pytest.raises(JobLost):
        ledger.record(jid, worker="hostA:1:aaa", stage="sending")
    assert not ledger.runs_under(jid, "hostA:1:aaa") and ledger.runs_under(jid, "hostB:2:bbb")
    ledger.finish(jid, "done", worker="hostA:1:aaa")
    rec = ledger.get(jid)
    assert rec is not None and rec.state == "running" and rec.worker == "hostB:2:bbb" and rec.stage == "authorized"
    ledger.record(jid, worker="hostB:2:bbb", stage="sending")
    ledger.finish(jid, "done", worker="hostB:2:bbb")
    done = ledger.get(jid)
    assert done is not None and done.state == "done" and done.stage == "sending"
