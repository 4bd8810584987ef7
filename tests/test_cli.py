"""`python -m huelights_setup`: every command against the simulated bridge on 127.0.0.1, in-process.

The same commands as a process: tests/integration/test_cli_process.py.

main() gets its environment as an argument, so no HUE_* variable of the machine running the tests leaks in.
"""

from __future__ import annotations

import json
import re
import shlex
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug.serving import make_server

from devstack.bridge import V2_SHOWCASE_CONFIG, SimulatedBridge
from devstack.bridge.modes import bridge_id_of, serve_bridge
from devstack.bridge.tls import TestPKI
from huelights.actions import Inventory
from huelights.bridge import Deadline, HueBridge
from huelights.config import load_settings, parse_target
from huelights.v2.inventory import resolve_target
from huelights.v2.resources import parse_resources
from huelights_setup.cli import main
from tests.support.servers import APP_KEY, REPO, RunningBridge, bridge_pki, free_port, press_link_button_after_polls

WRONG_KEY = "wrong-key-0123456789abcdef"
TLS_BRIDGE_ID = "001788fffe6a2b3c"


def env_for(sim: RunningBridge, **extra: str) -> dict[str, str]:
    # Two attempts keep the error tests fast; the retry logic itself is tested in test_bridge.py.
    return {"HUE_BRIDGE": sim.http_url, "HUE_APP_KEY": APP_KEY, "HUE_MAX_ATTEMPTS": "2", **extra}


def run(capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    status = main(argv, env)
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("huelights: ")
    return lines[0]


def commands_sent(sim: RunningBridge | V2Sim) -> int:
    counts = sim.bridge.counts()
    return int(counts["light_commands"] + counts["group_commands"])


# ----- help ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["pair"], ["lights"], ["groups"], ["secret"], ["config"], ["check"]])
def test_help_describes_each_command(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*command, "--help"], {})
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m huelights_setup ")
    if not command:
        for name in ("pair", "lights", "groups", "secret", "config", "check"):
            assert name in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([], {})
    assert caught.value.code == 2
    assert "required: COMMAND" in capsys.readouterr().err


# ----- pair ---------------------------------------------------------------------------------------------


def test_pair_polls_until_the_link_button_is_pressed_and_prints_only_the_key(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    presser = press_link_button_after_polls(sim, polls=3)
    status, out, err = run(capsys, ["pair", "--bridge", sim.http_url, "--interval", "0.05", "--wait", "10"], {})
    presser.join(timeout=5)
    assert status == 0, err
    key = out.strip()
    assert out == f"{key}\n", "stdout carries the key alone, so KEY=$(... pair ...) works"
    assert key in sim.bridge.app_keys and key != APP_KEY
    posts = [r for r in sim.bridge.requests() if r["method"] == "POST"]
    assert len(posts) >= 4, "three 101 answers, then the key"
    # The registration documented for CLIP v2 clients (v2 has none of its own).
    assert all(r["body"] == {"devicetype": "huelights#gohome", "generateclientkey": True} for r in posts)
    assert "Press the round link button" in err
    assert "waiting for the link button: 10 s left" in err
    assert key not in err
    assert list(tmp_path.iterdir()) == [], "the key is written to no file unless --save asks"


def test_pair_gives_up_after_the_wait_with_a_countdown(sim: RunningBridge, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    status, out, err = run(capsys, ["pair", "--bridge", sim.http_url, "--interval", "0.1", "--wait", "1.5"], {})
    elapsed = time.monotonic() - started
    assert status == 1
    assert out == ""
    lines = err.strip().splitlines()
    countdown = [line.strip() for line in lines if "left" in line]
    assert countdown == ["waiting for the link button: 2 s left", "waiting for the link button: 1 s left"]
    assert "the link button was not pressed within 1.5 s; run pair again" in lines[-1]
    assert lines[-1].startswith("huelights: ")
    assert 1.5 <= elapsed < 5
    posts = [r for r in sim.bridge.requests() if r["method"] == "POST"]
    assert 10 <= len(posts) <= 20, "about one attempt per interval, bounded by the wait"
    assert sim.bridge.app_keys == {APP_KEY}


def test_pair_save_writes_a_private_env_file_and_does_not_print_the_key(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sim.bridge.press_link_button()
    target = tmp_path / "hue.env"
    status, out, err = run(capsys, ["pair", "--bridge", sim.http_url, "--save", str(target)], {})
    assert status == 0, err
    assert out == ""
    (key,) = sim.bridge.app_keys - {APP_KEY}
    assert target.read_text() == f"HUE_APP_KEY={key}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert key not in err


def test_pair_save_never_overwrites_a_file_and_asks_nothing_of_the_bridge(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "hue.env"
    target.write_text("HUE_APP_KEY=old\n")
    status, out, err = run(capsys, ["pair", "--bridge", sim.http_url, "--save", str(target)], {})
    assert status == 2
    assert out == ""
    assert "already exists" in one_error_line(err)
    assert target.read_text() == "HUE_APP_KEY=old\n"
    assert sim.bridge.requests() == []


def test_pair_takes_the_bridge_from_the_environment_and_needs_no_key(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.bridge.press_link_button()
    status, out, _ = run(capsys, ["pair"], {"HUE_BRIDGE": sim.http_url, "TRIGGER_TOKEN": "short"})
    assert status == 0
    assert out.strip() in sim.bridge.app_keys


def test_pair_reports_an_unreachable_bridge_before_asking_for_the_button(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    status, out, err = run(capsys, ["pair", "--bridge", url], {"HUE_MAX_ATTEMPTS": "2"})
    assert status == 1
    assert out == ""
    line = one_error_line(err)
    assert f"bridge {url}:" in line and "cannot reach the bridge (connection refused)" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pair"], "configuration error: HUE_BRIDGE: is not set; export it or pass --bridge"),
        (["pair", "--bridge", "ftp://bridge"], "HUE_BRIDGE: scheme 'ftp' is not http or https (from --bridge)"),
        (["pair", "--bridge", "127.0.0.1", "--ca-bundle", "/nonexistent.pem"], "HUE_CA_BUNDLE"),
    ],
)
def test_pair_configuration_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    status, _, err = run(capsys, argv, {})
    assert status == 2
    assert message in one_error_line(err)


def test_pair_wait_is_bounded_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["pair", "--bridge", "127.0.0.1", "--wait", "3600"], {})
    assert caught.value.code == 2
    assert "outside 0.1..300 seconds" in capsys.readouterr().err


# ----- lights and groups --------------------------------------------------------------------------------


def test_lights_table_shows_what_each_light_can_do(sim: RunningBridge, capsys: pytest.CaptureFixture[str]) -> None:
    sim.bridge.set_reachable("3", False)
    sim.bridge.set_light_state("1", effect="colorloop")
    sim.bridge.set_light_state("2", on=False)
    status, out, err = run(capsys, ["lights"], env_for(sim))
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "COLOUR", "REACHABLE", "ON", "EFFECT", "HUE_TARGET"]
    sofa = ["1", "Sofa", "lamp", "Extended", "color", "light", "yes", "yes", "yes", "colorloop", "lights:Sofa", "lamp"]
    assert lines[1].split() == sofa
    assert lines[2].split()[6:9] == ["yes", "yes", "no"]
    assert lines[3].split()[4:7] == ["yes", "no", "yes"]  # Bloom: colour, not reachable, on
    assert lines[4].split()[5:9] == ["no", "yes", "yes", "-"]  # the white bulb has no effect
    assert commands_sent(sim) == 0


def test_lights_json_is_for_scripts(sim: RunningBridge, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, ["lights", "--json"], env_for(sim))
    assert status == 0
    rows = json.loads(out)
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[3] == {
        "id": "4",
        "name": "Hallway bulb",
        "type": "Dimmable light",
        "colour": False,
        "reachable": True,
        "on": True,
        "effect": None,
        "target": "lights:Hallway bulb",
    }


def test_groups_table_and_json_list_members_and_targets(sim: RunningBridge, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, ["groups"], env_for(sim))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "MEMBERS", "HUE_TARGET"]
    assert lines[1].endswith("all")
    assert "Living room" in lines[2] and "Sofa lamp, Reading lamp, Bloom, Hallway bulb" in lines[2]
    assert lines[2].endswith("group:Living room")
    status, out, _ = run(capsys, ["groups", "--json"], env_for(sim))
    assert json.loads(out) == [
        {"id": "0", "name": "(every light)", "type": "", "lights": ["1", "2", "3", "4"], "target": "all"},
        {
            "id": "1",
            "name": "Living room",
            "type": "Room",
            "lights": ["1", "2", "3", "4"],
            "target": "group:Living room",
        },
    ]


AWKWARD = {
    "lights": {
        "1": {"name": "Lamp", "type": "Extended color light"},
        "2": {"name": "lamp", "type": "Color light"},  # same name but for case: ambiguous, use the id
        "3": {"name": "Desk, left", "type": "Dimmable light"},  # a comma would split lights:...
        "4": {"name": "1", "type": "Dimmable light"},  # a name that is another light's id
        "5": {"name": "Porch", "type": "Color temperature light"},
    },
    "groups": {
        "1": {"name": "Office", "type": "Room", "lights": ["1", "2", "3"]},
        "2": {"name": "0", "type": "Zone", "lights": ["4"]},  # group:0 means every light
        "3": {"name": "Outside, front", "type": "Zone", "lights": ["5"]},
    },
}


def test_every_listed_target_selects_exactly_that_light_or_group(capsys: pytest.CaptureFixture[str]) -> None:
    bridge = SimulatedBridge(config=AWKWARD, app_key=APP_KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        env = {"HUE_BRIDGE": server.url, "HUE_APP_KEY": APP_KEY}
        assert main(["lights", "--json"], env) == 0
        lights = {row["id"]: row["target"] for row in json.loads(capsys.readouterr().out)}
        assert main(["groups", "--json"], env) == 0
        groups = {row["id"]: row["target"] for row in json.loads(capsys.readouterr().out)}
        assert lights == {"1": "lights:1", "2": "lights:2", "3": "lights:3", "4": "lights:4", "5": "lights:Porch"}
        assert groups == {"0": "all", "1": "group:Office", "2": "group:2", "3": "group:Outside, front"}
        # The functions' own resolution agrees.
        client = HueBridge(load_settings(env))
        for light_id, target in lights.items():
            assert Inventory().plan(parse_target(target), client, Deadline(10)).light_ids == (light_id,)
        for group_id, target in groups.items():
            assert Inventory().plan(parse_target(target), client, Deadline(10)).group_id == group_id


@pytest.mark.parametrize("command", ["lights", "groups"])
def test_listing_ignores_a_target_that_does_not_resolve_yet(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    status, _, err = run(capsys, [command], env_for(sim, HUE_TARGET="nonsense", TRIGGER_TOKEN="short"))
    assert status == 0, err


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            "unreachable",
            "cannot reach the bridge (connection refused) (gave up after 2 attempts); is the address right",
        ),
        ("wrong key", "Hue error 1 at /lights: unauthorized user"),
        ("busy", "GET lights: HTTP 503 from the bridge (gave up after 2 attempts)"),
        ("html", "GET lights: the bridge answered with a body that is not JSON"),
    ],
)
@pytest.mark.parametrize("command", ["lights", "groups"])
def test_listing_errors_are_one_line_without_the_key(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str], command: str, fault: str, message: str
) -> None:
    env = env_for(sim)
    if fault == "unreachable":
        env["HUE_BRIDGE"] = f"http://127.0.0.1:{free_port()}"
    elif fault == "wrong key":
        env["HUE_APP_KEY"] = WRONG_KEY
    elif fault == "busy":
        sim.bridge.fail_next(2, "503")
    else:
        sim.bridge.fail_next(2, "html")
    status, out, err = run(capsys, [command], env)
    assert status == 1
    assert out == ""
    line = one_error_line(err)
    assert message in line
    assert env["HUE_APP_KEY"] not in line


def test_verbose_shows_the_retries(sim: RunningBridge, capsys: pytest.CaptureFixture[str]) -> None:
    sim.bridge.fail_next(1, "503")
    status, _, err = run(capsys, ["-v", "lights"], env_for(sim))
    assert status == 0
    assert "retry 1/2" in err
    assert APP_KEY not in err


def test_missing_key_says_how_to_get_one(sim: RunningBridge, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, ["lights"], {"HUE_BRIDGE": sim.http_url})
    assert status == 2
    assert "HUE_APP_KEY: is not set; create a key with `python -m huelights_setup pair`" in one_error_line(err)


def test_flags_override_the_environment(sim: RunningBridge, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"HUE_BRIDGE": f"http://127.0.0.1:{free_port()}", "HUE_APP_KEY": WRONG_KEY}
    status, out, err = run(capsys, ["lights", "--bridge", sim.http_url, "--key", APP_KEY], env)
    assert status == 0, err
    assert "Sofa lamp" in out


# ----- secret and config --------------------------------------------------------------------------------


def _knative_documents() -> list[dict[str, Any]]:
    documents = []
    for path in (REPO / "knative" / "base").glob("*.yaml"):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]
    return documents


def _walk(node: Any, key: str) -> list[Any]:
    found = []
    if isinstance(node, dict):
        for name, value in node.items():
            found += [value] if name == key else _walk(value, key)
    elif isinstance(node, list):
        for item in node:
            found += _walk(item, key)
    return found


def test_secret_manifest_matches_what_the_services_read(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, ["secret"], {"HUE_APP_KEY": APP_KEY})
    assert status == 0
    secret = yaml.safe_load(out)
    assert secret["kind"] == "Secret" and secret["metadata"]["namespace"] == "gohome"
    refs = {(ref["name"], ref["key"]) for ref in _walk(_knative_documents(), "secretKeyRef")}
    assert refs == {(secret["metadata"]["name"], key) for key in secret["stringData"]}
    assert secret["stringData"]["HUE_APP_KEY"] == APP_KEY
    token = secret["stringData"]["TRIGGER_TOKEN"]
    assert len(token) >= 43 and load_settings({"HUE_BRIDGE": "x", "HUE_APP_KEY": "k", "TRIGGER_TOKEN": token})
    assert "generated a new TRIGGER_TOKEN" in err
    assert main(["secret"], {"HUE_APP_KEY": APP_KEY}) == 0
    assert yaml.safe_load(capsys.readouterr().out)["stringData"]["TRIGGER_TOKEN"] != token


def test_secret_keeps_a_given_token_and_quotes_every_value(capsys: pytest.CaptureFixture[str]) -> None:
    token = "tok: en # 'quoted' \"double\" \\ ünï"
    status, out, err = run(capsys, ["secret", "--key", "k3y-from-flag", "--token", token], {"HUE_APP_KEY": "other"})
    assert status == 0
    assert yaml.safe_load(out)["stringData"] == {"HUE_APP_KEY": "k3y-from-flag", "TRIGGER_TOKEN": token}
    assert err == ""
    status, out, _ = run(capsys, ["secret"], {"HUE_APP_KEY": APP_KEY, "TRIGGER_TOKEN": "from-the-environment-0123"})
    assert yaml.safe_load(out)["stringData"]["TRIGGER_TOKEN"] == "from-the-environment-0123"


def test_secret_as_a_kubectl_command(capsys: pytest.CaptureFixture[str]) -> None:
    token = "a token with 'quotes' and spaces"
    status, out, _ = run(capsys, ["secret", "--kubectl", "--token", token], {"HUE_APP_KEY": APP_KEY})
    assert status == 0
    create, apply = out.strip().split(" | ")
    assert shlex.split(create) == [
        "kubectl",
        "-n",
        "gohome",
        "create",
        "secret",
        "generic",
        "huelights",
        f"--from-literal=HUE_APP_KEY={APP_KEY}",
        f"--from-literal=TRIGGER_TOKEN={token}",
        "--dry-run=client",
        "-o",
        "yaml",
    ]
    assert apply == "kubectl apply -f -"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["secret"], {}, "HUE_APP_KEY: is not set; create a key with `python -m huelights_setup pair`"),
        (["secret", "--key", "has space"], {}, "HUE_APP_KEY: has characters a bridge key never has"),
        (["secret", "--token", "short"], {"HUE_APP_KEY": APP_KEY}, "TRIGGER_TOKEN: is shorter than 16 characters"),
    ],
)
def test_secret_refuses_values_a_function_would_refuse(
    capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str], message: str
) -> None:
    status, out, err = run(capsys, argv, env)
    assert status == 2
    assert out == ""
    line = one_error_line(err)
    assert message in line
    assert "has space" not in line


def test_config_manifest_matches_knative_base(capsys: pytest.CaptureFixture[str]) -> None:
    # With the bridge id given, config is offline (this address is not loopback: nothing may go there).
    env = {
        "HUE_BRIDGE": "192.168.1.2",
        "HUE_BRIDGE_ID": "001788FFFE5A1B2C",
        "HUE_TARGET": " GROUP: Living room ",
        "HUE_APP_KEY": "never-printed",
    }
    status, out, err = run(capsys, ["config"], env)
    assert status == 0, err
    config = yaml.safe_load(out)
    (base,) = [doc for doc in _knative_documents() if doc["kind"] == "ConfigMap"]
    assert config["metadata"]["name"] == base["metadata"]["name"] == "huelights-config"
    assert _walk(_knative_documents(), "configMapRef")[0]["name"] == "huelights-config"
    assert config["data"] == {
        "HUE_BRIDGE": "https://192.168.1.2",
        "HUE_BRIDGE_ID": "001788fffe5a1b2c",
        "HUE_TARGET": "group:Living room",
        "HUE_BUDGET_SECONDS": "25",
    }
    assert config["data"].keys() == base["data"].keys()
    assert "never-printed" not in out + err


def test_config_flags_and_bridge_id(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "config",
        "--bridge",
        "https://hue.lan",
        "--target",
        "lights:Sofa lamp,3",
        "--bridge-id",
        "001788FFFE5A1B2C",
    ]
    status, out, err = run(capsys, argv, {"HUE_BRIDGE": "ignored", "HUE_BUDGET_SECONDS": "40"})
    assert status == 0
    assert yaml.safe_load(out)["data"] == {
        "HUE_BRIDGE": "https://hue.lan",
        "HUE_TARGET": "lights:Sofa lamp,3",
        "HUE_BUDGET_SECONDS": "40",
        "HUE_BRIDGE_ID": "001788fffe5a1b2c",
    }
    assert err == "", "an https bridge needs nothing more: Signify's roots are in the image"


def test_config_for_the_round_bridge_keeps_plain_http_and_pins_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, ["config"], {"HUE_BRIDGE": "http://192.168.1.2"})
    assert status == 0, err
    data = yaml.safe_load(out)["data"]
    assert (data["HUE_BRIDGE"], data["HUE_BRIDGE_ID"]) == ("http://192.168.1.2", "")
    assert "only for the round first-generation bridge" in err


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["config"], {"HUE_BRIDGE": "192.168.1.2", "HUE_TARGET": "kitchen"}, "configuration error: HUE_TARGET:"),
        (["config", "--target", "lights:a,,b"], {"HUE_BRIDGE": "192.168.1.2"}, "(from --target)"),
        (["config"], {}, "HUE_BRIDGE: is not set"),
    ],
)
def test_config_errors(capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str], message: str) -> None:
    status, out, err = run(capsys, argv, env)
    assert status == 2
    assert out == ""
    assert message in one_error_line(err)


# ----- check --------------------------------------------------------------------------------------------


def test_check_reports_and_changes_nothing(sim: RunningBridge, capsys: pytest.CaptureFixture[str]) -> None:
    sim.bridge.set_light_state("2", on=False)
    env = env_for(sim, HUE_TARGET="group:living ROOM", TRIGGER_TOKEN="a-long-enough-trigger-token")
    status, out, err = run(capsys, ["check"], env)
    assert status == 0, err
    assert err == ""
    assert "ok    bridge answers: 'Simulated Hue bridge', id 001788fffe5a1b2c" in out
    assert "ok    speaking CLIP v1: HUE_API=auto and HUE_BRIDGE is http:// (CLIP v2 is served over HTTPS only)" in out
    assert "ok    application key accepted" in out
    assert "ok    target group:living ROOM: 4 light(s), commands go to group 1" in out
    assert 'colorloop: PUT groups/1/action {"on": true, "effect": "colorloop", "sat": 254}' in out
    dry_run = out.split("dry run")[1].splitlines()
    colorloop = dry_run[dry_run.index(next(line for line in dry_run if "colorloop:" in line)) :]
    assert "Sofa lamp" in colorloop[1] and colorloop[1].endswith("would change")
    assert "Hallway bulb" in colorloop[4] and 'no colour: gets {"on": true}, counts as skipped' in colorloop[4]
    lights_on = dry_run[dry_run.index(next(line for line in dry_run if "lights_on:" in line)) :]
    assert lights_on[1].endswith("already so") and lights_on[2].endswith("would change")  # light 2 is off
    assert "No problems found (0 warning(s))." in out
    assert APP_KEY not in out
    assert commands_sent(sim) == 0
    assert {r["method"] for r in sim.bridge.requests()} == {"GET"}


def test_check_lists_which_lights_can_colorloop_and_warns(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.bridge.set_reachable("3", False)
    status, out, _ = run(capsys, ["check", "--target", "lights:Bloom,Hallway bulb"], env_for(sim))
    assert status == 0
    table = out.split("ID  NAME")[1].splitlines()
    assert table[0].split()[0:2] == ["TYPE", "COLORLOOP"]
    assert table[1].split()[:5] == ["3", "Bloom", "Color", "light", "yes"]
    assert table[2].split()[:6] == ["4", "Hallway", "bulb", "Dimmable", "light", "no"]
    assert "warn  light 3 'Bloom' is not reachable" in out
    assert "note  TRIGGER_TOKEN is not set" in out
    assert "PUT lights/<id>/state" in out
    assert "unreachable: sent anyway and once more, then reported as a warning" in out
    assert "No problems found (1 warning(s))." in out
    assert commands_sent(sim) == 0


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unreachable", "cannot reach the bridge (connection refused)"),
        ("wrong key", "unauthorized user (the application key HUE_APP_KEY was rejected"),
        ("unknown group", "HUE_TARGET: no group (room or zone) with id or name 'Kitchen' (the bridge has: 1 'Living"),
        ("unknown light", "HUE_TARGET: no light with id or name 'Lava lamp'"),
        ("empty group", "HUE_TARGET: group:Empty has no lights"),
        ("other bridge", "HUE_BRIDGE_ID is 001788fffe000000, but the bridge there is 001788fffe5a1b2c"),
        ("timeout", "GET /api/config: no answer within 0.3s"),
    ],
)
def test_check_problems_exit_1_with_one_line(capsys: pytest.CaptureFixture[str], case: str, message: str) -> None:
    config = {"groups": {"1": {"name": "Living room", "lights": ["1"]}, "2": {"name": "Empty", "lights": []}}}
    bridge = SimulatedBridge(config=config, app_key=APP_KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        env = {"HUE_BRIDGE": server.url, "HUE_APP_KEY": APP_KEY, "HUE_MAX_ATTEMPTS": "1", "HUE_TARGET": "all"}
        if case == "unreachable":
            env["HUE_BRIDGE"] = f"http://127.0.0.1:{free_port()}"
        elif case == "wrong key":
            env["HUE_APP_KEY"] = WRONG_KEY
        elif case == "unknown group":
            env["HUE_TARGET"] = "group:Kitchen"
        elif case == "unknown light":
            env["HUE_TARGET"] = "lights:Sofa lamp,Lava lamp"
        elif case == "empty group":
            env["HUE_TARGET"] = "group:Empty"
        elif case == "other bridge":
            env["HUE_BRIDGE_ID"] = "001788fffe000000"
        else:
            env.update(HUE_READ_TIMEOUT="0.3")
            bridge.start_outage("silent")
        started = time.monotonic()
        status, out, err = run(capsys, ["check"], env)
        bridge.end_outage()  # releases a hanging request
        assert time.monotonic() - started < 5
        assert status == 1
        line = one_error_line(err)
        assert message in line
        assert env["HUE_APP_KEY"] not in out + err
        assert out.startswith("Checking HUE_BRIDGE=") and "ok    settings are valid" in out
        assert bridge.counts()["light_commands"] == bridge.counts()["group_commands"] == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUE_TARGET": "kitchen"}, "configuration error: HUE_TARGET: 'kitchen' is not 'all'"),
        ({"TRIGGER_TOKEN": "short"}, "configuration error: TRIGGER_TOKEN: is shorter than 16"),
        ({"HUE_BUDGET_SECONDS": "soon"}, "configuration error: HUE_BUDGET_SECONDS: 'soon' is not a number"),
    ],
)
def test_check_validates_the_whole_environment_like_a_function(
    sim: RunningBridge, capsys: pytest.CaptureFixture[str], env: dict[str, str], message: str
) -> None:
    status, out, err = run(capsys, ["check"], env_for(sim, **env))
    assert status == 2
    assert out == ""
    assert message in one_error_line(err)
    assert sim.bridge.requests() == []


# ----- TLS, as the functions do it ----------------------------------------------------------------------


@dataclass
class TLSSim:
    url: str
    bridge: SimulatedBridge
    test_root: Path
    pki: TestPKI


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI(TLS_BRIDGE_ID)


@pytest.fixture
def tls_sim(pki: TestPKI, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TLSSim]:
    """The simulated bridge over TLS with the certificate variant `request.param` (default: a gen-2 bridge's).

    /api/config names the same bridge id as the certificate, as on a real bridge.
    """
    variant = getattr(request, "param", "gen2")
    bridge = SimulatedBridge(config={"bridge": {"bridgeid": TLS_BRIDGE_ID.upper()}}, app_key=APP_KEY)
    context = pki.credentials(variant).server_context()
    server = make_server("127.0.0.1", 0, bridge, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TLSSim(f"https://127.0.0.1:{server.server_port}", bridge, pki.write_root(tmp_path / "root.pem"), pki)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_lights_and_check_over_tls_with_ca_bundle_and_bridge_id(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--bridge", tls_sim.url, "--ca-bundle", str(tls_sim.test_root), "--bridge-id", TLS_BRIDGE_ID]
    status, out, err = run(capsys, ["lights", *flags, "--key", APP_KEY], {})
    assert status == 0, err
    assert "Sofa lamp" in out
    status, out, err = run(capsys, ["check", *flags], {"HUE_APP_KEY": APP_KEY})
    assert status == 0, err
    assert "note  TLS verified against Signify's Hue roots or HUE_CA_BUNDLE, certificate CN = HUE_BRIDGE_ID" in out
    assert f"id {TLS_BRIDGE_ID}" in out
    assert "pin this bridge" not in out


def test_check_without_a_bridge_id_confirms_it_and_says_how_to_pin_it(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"HUE_BRIDGE": tls_sim.url, "HUE_CA_BUNDLE": str(tls_sim.test_root), "HUE_APP_KEY": APP_KEY}
    status, out, err = run(capsys, ["check"], env)
    assert status == 0, err
    assert "certificate CN = the bridgeid of /api/config" in out
    assert f"note  pin this bridge: HUE_BRIDGE_ID={TLS_BRIDGE_ID}" in out


def test_pair_over_https_prints_the_bridge_id_to_pin(tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]) -> None:
    tls_sim.bridge.press_link_button()
    status, out, err = run(capsys, ["pair", "--ca-bundle", str(tls_sim.test_root)], {"HUE_BRIDGE": tls_sim.url})
    assert status == 0, err
    assert out.strip() and out.strip() != APP_KEY  # a new key
    assert f"certificate is verified: issued for bridge {TLS_BRIDGE_ID}" in err
    (post,) = [r for r in tls_sim.bridge.requests() if r["method"] == "POST"]
    assert post["body"] == {"devicetype": "huelights#gohome", "generateclientkey": True}
    # The bridge also hands out an Entertainment client key (32 hex digits): not ours to show or keep.
    assert not re.search(r"[0-9A-F]{32}", out + err)
    assert f"export HUE_BRIDGE={tls_sim.url} HUE_BRIDGE_ID={TLS_BRIDGE_ID} and HUE_APP_KEY" in err


def test_config_reads_the_bridge_id_over_verified_tls(tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]) -> None:
    bare = tls_sim.url.removeprefix("https://")
    env = {"HUE_BRIDGE": bare, "HUE_CA_BUNDLE": str(tls_sim.test_root), "HUE_APP_KEY": "never-sent-0123456789"}
    status, out, err = run(capsys, ["config"], env)
    assert status == 0, err
    data = yaml.safe_load(out)["data"]
    assert (data["HUE_BRIDGE"], data["HUE_BRIDGE_ID"]) == (tls_sim.url, TLS_BRIDGE_ID)
    assert "huelights-ca-bundle" in err and "knative/components/ca-bundle" in err
    assert [r["path"] for r in tls_sim.bridge.requests()] == ["/api/config"]


@pytest.mark.parametrize("tls_sim", ["foreign-ca"], indirect=True)
def test_a_wrong_certificate_is_a_clear_error_without_the_key(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "HUE_BRIDGE": tls_sim.url,
        "HUE_APP_KEY": APP_KEY,
        "HUE_CA_BUNDLE": str(tls_sim.test_root),
        "HUE_BRIDGE_ID": TLS_BRIDGE_ID,
    }
    status, out, err = run(capsys, ["groups"], env)
    assert status == 1
    assert out == ""
    line = one_error_line(err)
    assert "TLS verification of the bridge failed: the certificate is not issued by Signify's Hue roots" in line
    assert APP_KEY not in line
    assert tls_sim.bridge.requests() == []


@pytest.mark.parametrize("tls_sim", ["self-signed"], indirect=True)
def test_trust_cert_shows_and_saves_a_self_signed_certificate_that_then_works(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, ["groups"], {"HUE_BRIDGE": tls_sim.url, "HUE_APP_KEY": APP_KEY})
    assert status == 1
    assert "self-signed certificate" in err and "trust-cert --save" in err
    saved = tmp_path / "bridge-cert.pem"
    status, out, err = run(capsys, ["trust-cert", "--save", str(saved)], {"HUE_BRIDGE": tls_sim.url})
    assert (status, saved.exists()) == (1, False), "not a terminal and no --yes: nothing is trusted"
    assert tls_sim.pki.credentials("self-signed").leaf.fingerprint() in err
    status, out, err = run(capsys, ["trust-cert", "--save", str(saved), "--yes"], {"HUE_BRIDGE": tls_sim.url})
    assert status == 0, err
    assert f"CN (bridge id)      {TLS_BRIDGE_ID}" in err
    assert saved.read_bytes() == tls_sim.pki.credentials("self-signed").leaf.cert_pem
    env = {"HUE_BRIDGE": tls_sim.url, "HUE_APP_KEY": APP_KEY, "HUE_CA_BUNDLE": str(saved)}
    status, out, err = run(capsys, ["lights", "--bridge-id", TLS_BRIDGE_ID], env)
    assert status == 0, err
    assert "Sofa lamp" in out


@pytest.mark.parametrize("tls_sim", ["expired"], indirect=True)
def test_trust_cert_saves_nothing_that_would_not_work(
    tls_sim: TLSSim, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "bridge-cert.pem"
    status, _, err = run(capsys, ["trust-cert", "--save", str(saved), "--yes"], {"HUE_BRIDGE": tls_sim.url})
    assert status == 1
    assert not saved.exists()
    assert "nothing saved: TLS verification of the bridge failed: the certificate has expired" in one_error_line(err)
    assert tls_sim.bridge.requests() == []


# ----- CLIP v2: lights, groups and check on a bridge the functions talk to over v2 --------------------------


@dataclass
class V2Sim:
    bridge: SimulatedBridge
    env: dict[str, str]

    def paths(self) -> list[str]:
        return [str(r["path"]) for r in self.bridge.requests()]

    def resources(self) -> Any:
        return parse_resources(self.bridge.v2_document())


@pytest.fixture
def v2sim(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[V2Sim]:
    """The simulator over HTTPS with the config `request.param` (default: V2_SHOWCASE_CONFIG: a white-ambiance
    lamp whose effects lack prism, a light with `effects` only and powerup `powerfail`, a zone, a second room)."""
    bridge = SimulatedBridge(config=getattr(request, "param", V2_SHOWCASE_CONFIG), app_key=APP_KEY)
    with serve_bridge(bridge, "gen2", pki=bridge_pki(bridge_id_of(bridge))) as served:
        root = served.write_root(tmp_path / "test-root.pem")
        env = {"HUE_BRIDGE": served.url, "HUE_CA_BUNDLE": str(root), "HUE_APP_KEY": APP_KEY, "HUE_MAX_ATTEMPTS": "2"}
        yield V2Sim(bridge, env)


def v2_id(sim: V2Sim, v1_path: str) -> str:
    """The v2 id of the light or room the simulator also shows as `v1_path` (`/lights/1`, `/groups/1`)."""
    (found,) = [
        item["id"]
        for item in sim.bridge.v2_document()
        if item.get("id_v1") == v1_path and item["type"] in {"light", "room", "zone"}
    ]
    return str(found)


def test_lights_on_v2_show_the_loop_each_light_gets(v2sim: V2Sim, capsys: pytest.CaptureFixture[str]) -> None:
    v2sim.bridge.set_reachable("3", False)
    status, out, err = run(capsys, ["lights"], v2sim.env)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "COLOUR", "REACHABLE", "ON", "EFFECT", "COLORLOOP", "GIVES", "HUE_TARGET"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["1"] == ["1", "Sofa", "lamp", "yes", "yes", "yes", "no_effect", "prism", "lights:Sofa", "lamp"]
    assert rows["3"][2:8] == ["yes", "no", "yes", "-", "colorloop", "(v1)"]  # Bloom: colour, no v2 effects
    assert rows["4"][3:8] == ["no", "yes", "yes", "-", "none"]  # white bulb
    assert rows["5"][3:8] == ["no", "yes", "yes", "no_effect", "none"]  # white ambiance: effects, but no prism
    assert rows["6"][2:7] == ["strip", "yes", "yes", "yes", "no_effect"] and rows["6"][7] == "prism"
    assert "listed through CLIP v2" in err
    assert commands_sent(v2sim) == 0
    assert "/clip/v2/resource" in v2sim.paths()


def test_lights_json_on_v2_keeps_the_v1_keys_and_lists_every_target_form(
    v2sim: V2Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, ["lights", "--json"], v2sim.env)
    assert status == 0, err
    rows = {row["id"]: row for row in json.loads(out)}
    assert list(rows) == ["1", "2", "3", "4", "5", "6"]
    v1_keys = {"id", "name", "type", "colour", "reachable", "on", "effect", "target"}
    assert all(v1_keys <= row.keys() for row in rows.values())
    sofa = v2_id(v2sim, "/lights/1")
    assert rows["1"]["targets"] == ["lights:Sofa lamp", "lights:1", f"lights:{sofa}"]
    assert (rows["1"]["target"], rows["1"]["v2_id"], rows["1"]["api"]) == ("lights:Sofa lamp", sofa, "v2")
    assert {lid: row["loop"] for lid, row in rows.items()} == {
        "1": "prism",
        "2": "prism",
        "3": "colorloop",
        "4": "none",
        "5": "none",
        "6": "prism",
    }
    assert rows["5"]["loop_note"] == "white light: no colour to loop"
    assert (rows["1"]["powerup"], rows["6"]["powerup"]) == ("safety", "powerfail")
    assert rows["4"]["connectivity"] == "connected" and rows["4"]["reachable"] is True
    # Every form listed selects exactly that light in the functions' own resolution.
    resources = v2sim.resources()
    for row in rows.values():
        for target in row["targets"]:
            assert resolve_target(parse_target(target), resources).light_ids == (row["v2_id"],), target


def test_hue_api_v2_never_uses_v1_colorloop_and_never_touches_v1(
    v2sim: V2Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, ["lights", "--json"], {**v2sim.env, "HUE_API": "v2"})
    assert status == 0, err
    bloom = json.loads(out)[2]
    assert (bloom["name"], bloom["loop"]) == ("Bloom", "none")
    assert "v1 colorloop is off (HUE_API=v2" in bloom["loop_note"]
    # /api/config (no key) is how TLS learns the bridge id; nothing with the key goes to v1.
    assert not [path for path in v2sim.paths() if path.startswith("/api/") and path != "/api/config"]


@pytest.mark.parametrize("how", ["env", "flag"])
def test_hue_api_v1_over_https_keeps_the_v1_listing(v2sim: V2Sim, capsys: pytest.CaptureFixture[str], how: str) -> None:
    env, argv = ({**v2sim.env, "HUE_API": "v1"}, ["lights"]) if how == "env" else (v2sim.env, ["lights", "--api", "v1"])
    status, out, err = run(capsys, argv, env)
    assert status == 0, err
    assert out.splitlines()[0].split() == ["ID", "NAME", "TYPE", "COLOUR", "REACHABLE", "ON", "EFFECT", "HUE_TARGET"]
    assert not [path for path in v2sim.paths() if path.startswith("/clip/")]


def test_groups_on_v2_list_rooms_zones_and_their_targets(v2sim: V2Sim, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, ["groups"], v2sim.env)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "MEMBERS", "HUE_TARGET"]
    assert lines[1].endswith("all")
    assert "Reading corner  Zone" in lines[3] and "Reading lamp, Ambiance lamp" in lines[3]
    assert lines[3].endswith("group:Reading corner")
    status, out, _ = run(capsys, ["groups", "--json"], v2sim.env)
    rows = json.loads(out)
    assert [(row["id"], row["type"], row["lights"], row["target"]) for row in rows] == [
        ("0", "", ["1", "2", "3", "4", "5", "6"], "all"),
        ("1", "Room", ["1", "2", "3", "4"], "group:Living room"),
        ("2", "Zone", ["2", "5"], "group:Reading corner"),
        ("3", "Room", ["6"], "group:Study"),
    ]
    living = v2_id(v2sim, "/groups/1")
    assert rows[1]["targets"] == ["group:Living room", "group:1", f"group:{living}"]
    resources = v2sim.resources()
    assert rows[0]["grouped_light"] == resources.bridge_home.grouped_light
    for row in rows[1:]:
        group = resources.groups[row["v2_id"]]
        assert row["grouped_light"] == group.grouped_light
        for target in row["targets"]:
            assert resolve_target(parse_target(target), resources).grouped_light == group.grouped_light, target
    assert commands_sent(v2sim) == 0


@pytest.mark.parametrize("v2sim", [AWKWARD], indirect=True)
def test_every_listed_target_selects_exactly_that_light_or_group_on_v2(
    v2sim: V2Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lights", "--json"], v2sim.env) == 0
    lights = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert main(["groups", "--json"], v2sim.env) == 0
    groups = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    # As on v1: a shared name, a comma, a name that is another light's id or means every light: the id.
    assert {lid: row["target"] for lid, row in lights.items()} == {
        "1": "lights:1",
        "2": "lights:2",
        "3": "lights:3",
        "4": "lights:4",
        "5": "lights:Porch",
    }
    assert {gid: row["target"] for gid, row in groups.items()} == {
        "0": "all",
        "1": "group:Office",
        "2": "group:2",
        "3": "group:Outside, front",
    }
    assert lights["4"]["targets"] == ["lights:4", f"lights:{lights['4']['v2_id']}"]  # "lights:1" is light 1
    assert groups["2"]["targets"] == ["group:2", f"group:{groups['2']['v2_id']}"]  # "group:0" is every light


def test_check_on_v2_reports_api_loop_reachability_and_powerup(
    v2sim: V2Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    v2sim.bridge.set_reachable("3", False)
    v2sim.bridge.set_light_state("2", on=False)
    env = {**v2sim.env, "HUE_TARGET": "group:Living room", "TRIGGER_TOKEN": "a-long-enough-trigger-token"}
    status, out, err = run(capsys, ["check"], env)
    assert status == 0, err
    assert err == ""
    assert "ok    speaking CLIP v2: HUE_API=auto and GET /clip/v2/resource/bridge answered" in out
    assert "ok    target group:Living room: room 'Living room', 4 light(s); off and on: one grouped_light PUT" in out
    assert "warn  light 3 'Bloom' is not reachable (Zigbee connectivity_issue)" in out
    assert "note  a power cut ends the loop" in out and "05:35 colorloop job re-applies it" in out
    assert "Sofa lamp, Reading lamp, Bloom: safety (on, full brightness, warm white)" in out
    table = out.split("ID  NAME")[1].splitlines()
    assert table[0].split() == ["COLOUR", "ZIGBEE", "ON", "EFFECT", "COLORLOOP", "GIVES", "POWERUP"]
    assert table[3].split()[:8] == ["3", "Bloom", "yes", "connectivity_issue", "yes", "-", "colorloop", "safety"]
    assert table[4].split()[-2:] == ["none", "safety"]
    grouped = v2sim.resources().groups[v2_id(v2sim, "/groups/1")].grouped_light
    assert f'lights_off: PUT grouped_light/{grouped} {{"on": {{"on": false}}}}' in out
    dry_run = out.split("dry run")[1].splitlines()
    lights_on = dry_run[dry_run.index(next(line for line in dry_run if "lights_on:" in line)) :]
    assert lights_on[1].endswith("already so") and lights_on[2].endswith("would change")  # light 2 is off
    assert "unreachable (Zigbee connectivity: connectivity_issue): sent anyway" in lights_on[3]
    colorloop = dry_run[dry_run.index(next(line for line in dry_run if "colorloop:" in line)) :]
    assert "Sofa lamp" in colorloop[1]
    assert colorloop[1].endswith(
        'prism {"on": {"on": true}, "effects_v2": {"action": {"effect": "prism"}}}: would change'
    )
    assert 'v1 colorloop: PUT lights/3/state {"on": true, "effect": "colorloop", "sat": 254}' in colorloop[3]
    assert 'no loop (white light: no colour to loop): gets {"on": {"on": true}}, counts as skipped' in colorloop[4]
    assert "No problems found (1 warning(s))." in out
    assert APP_KEY not in out
    assert commands_sent(v2sim) == 0
    assert {r["method"] for r in v2sim.bridge.requests()} == {"GET"}


def test_check_on_v2_names_the_powerfail_preset_and_a_looping_light(
    v2sim: V2Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--target", "group:Study"], v2sim.env) == 0
    out = capsys.readouterr().out
    assert "Desk strip: powerfail (on or off as before the cut, same brightness and colour)" in out
    # Desk strip has only the older `effects` form: prism goes out in that form.
    assert 'prism {"on": {"on": true}, "effects": {"effect": "prism"}}: would change' in out


def test_check_on_v2_warns_when_no_light_of_the_target_can_loop(
    v2sim: V2Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, ["check", "--target", "lights:Hallway bulb,Ambiance lamp"], v2sim.env)
    assert status == 0
    assert "off and on: one PUT per light" in out
    assert "warn  no light in the target can loop (prism or colorloop)" in out
    assert "power cut" not in out
    assert "No problems found (1 warning(s))." in out


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown group", "HUE_TARGET: no group (room or zone) with id or name 'Kitchen' (the bridge has: 1 'Living"),
        ("unknown light", "HUE_TARGET: no light with id or name 'Lava lamp'"),
        ("wrong key", "HTTP 403: unauthorized user (the application key HUE_APP_KEY was rejected"),
    ],
)
def test_check_problems_on_v2_exit_1_with_one_line(
    v2sim: V2Sim, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    env = dict(v2sim.env)
    if case == "unknown group":
        env["HUE_TARGET"] = "group:Kitchen"
    elif case == "unknown light":
        env["HUE_TARGET"] = "lights:Sofa lamp,Lava lamp"
    else:
        env["HUE_APP_KEY"] = WRONG_KEY
    status, out, err = run(capsys, ["check"], env)
    assert status == 1
    line = one_error_line(err)
    assert message in line
    assert env["HUE_APP_KEY"] not in out + err
    assert commands_sent(v2sim) == 0


def test_check_with_hue_api_v1_over_https_checks_through_v1(v2sim: V2Sim, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, ["check", "--api", "v1"], v2sim.env)
    assert status == 0, err
    assert "ok    speaking CLIP v1: HUE_API=v1" in out
    assert 'colorloop: PUT groups/0/action {"on": true, "effect": "colorloop", "sat": 254}' in out
    assert not [path for path in v2sim.paths() if path.startswith("/clip/")]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("wrong key", "HTTP 403: unauthorized user (the application key HUE_APP_KEY was rejected"),
        ("busy", "HTTP 503 from the bridge (gave up after 2 attempts)"),
    ],
)
@pytest.mark.parametrize("command", ["lights", "groups"])
def test_listing_errors_on_v2_are_one_line_without_the_key(
    v2sim: V2Sim, capsys: pytest.CaptureFixture[str], command: str, fault: str, message: str
) -> None:
    env = dict(v2sim.env)
    if fault == "wrong key":
        env["HUE_APP_KEY"] = WRONG_KEY
    else:
        v2sim.bridge.fail_next(2, "503")
    status, out, err = run(capsys, [command], env)
    assert status == 1
    assert out == ""
    line = one_error_line(err)
    assert message in line
    assert env["HUE_APP_KEY"] not in line
