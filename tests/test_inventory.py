from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import InventoryError, UnknownNameError
from bot.inventory import find_inventory_path, load_inventory, parse_inventory

EXAMPLE = Path(__file__).resolve().parents[1] / "bot" / "data" / "inventory.example.yaml"


def test_example_inventory_loads_with_defaults_inherited() -> None:
    inv = load_inventory(EXAMPLE)
    prod = inv.environment("prod")
    app1 = prod.host("app1")
    assert app1.user == "neolane" and app1.port == 22 and app1.nl_home == "/usr/local/neolane/nl6"
    assert prod.host("track1").port == 2222
    assert inv.environment("dev").host("this-machine").transport == "local"
    assert inv.environment_for_channel("C0123PROD") == "prod"
    assert app1.deadline_s == app1.connect_timeout_s + app1.command_timeout_s


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"environments": {"prod": {"hosts": [{"name": "a"}]}}},
            "environments.prod.hosts.0: Value error, address is required",
        ),
        ({"environments": {"prod": {"hosts": [{"name": "a b", "address": "x"}]}}}, "environments.prod.hosts.0.name"),
        (
            {"environments": {"prod": {"hosts": [{"name": "a", "address": "x; rm"}]}}},
            "environments.prod.hosts.0.address",
        ),
        (
            {
                "defaults": {"nl_home": "relative/path"},
                "environments": {"p": {"hosts": [{"name": "a", "address": "x"}]}},
            },
            "defaults.nl_home",
        ),
        ({"environments": {"prod": {"hosts": []}}}, "environments.prod.hosts: expected a list"),
        ({"environments": {"prod;x": {"hosts": [{"name": "a", "address": "x"}]}}}, "environments.prod;x"),
        (
            {"environments": {"p": {"instances": ["a/b"], "hosts": [{"name": "a", "address": "x"}]}}},
            "environments.p.instances",
        ),
        (
            {"environments": {"p": {"access": {"users": ["bob"]}, "hosts": [{"name": "a", "address": "x"}]}}},
            "environments.p.access.users",
        ),
        ({"envs": {}}, "envs: unknown field"),
        ([1, 2], "(top level)"),
    ],
)
def test_errors_name_the_field(data: object, message: str) -> None:
    with pytest.raises(InventoryError) as e:
        parse_inventory(data, "inv.yaml")
    assert message in str(e.value), str(e.value)
    assert str(e.value).startswith("inv.yaml: ")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    f = tmp_path / "i.yaml"
    f.write_text("environments:\n  prod: [unclosed\n")
    with pytest.raises(InventoryError, match=r"i.yaml: invalid YAML \(line"):
        load_inventory(f)


def test_unknown_names() -> None:
    inv = load_inventory(EXAMPLE)
    with pytest.raises(UnknownNameError, match="unknown environment 'nope'; known: dev, prod"):
        inv.environment("nope")
    with pytest.raises(UnknownNameError, match="unknown host"):
        inv.environment("prod").host("zzz")


def test_lookup_order(tmp_path: Path) -> None:
    assert find_inventory_path("a.yaml", "b.yaml", tmp_path) == Path("a.yaml")
    assert find_inventory_path(None, "b.yaml", tmp_path) == Path("b.yaml")
    assert find_inventory_path(None, None, tmp_path) is None
    (tmp_path / "inventory.yaml").write_text("x")
    assert find_inventory_path(None, None, tmp_path) == tmp_path / "inventory.yaml"


def test_a_failed_host_is_one_line_not_also_an_empty_host_list() -> None:
    data = {"environments": {"prod": {"hosts": [{"name": "app1", "address": "x", "port": "twenty"}]}}}
    with pytest.raises(InventoryError) as e:
        parse_inventory(data, "inv.yaml")
    assert str(e.value).splitlines() == [
        "inv.yaml: environments.prod.hosts.0.port: Input should be a valid integer, unable to parse string as an integer"
    ]


def test_a_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "i.yaml"
    f.write_bytes(b"\xff\xfe e\x00n\x00v\x00")  # a UTF-16 export
    with pytest.raises(InventoryError, match=r"i.yaml: not UTF-8 text \(byte 0xff at offset 0\)"):
        load_inventory(f)
