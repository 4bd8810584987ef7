"""`python -m huelights_setup`: every command against the simulated bridge on 127.0.0.1, in-process (CLIP v1).

Over HTTPS as the functions do it: tests/test_cli_tls.py; through CLIP v2: tests/test_cli_v2.py; the same
commands as a process: tests/integration/test_cli_process.py.

main() gets its environment as an argument, so no HUE_* variable of the machine running the tests leaks in.
"""

import json
import shlex
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.bridge import SimulatedBridge
from huelights.actions import Inventory
from huelights.bridge import Deadline, HueBridge
from huelights.config import load_settings, parse_target
from huelights_setup.cli import main
from tests.support.cli import AWKWARD, commands_sent, env_for, one_error_line, run
from tests.support.servers import APP_KEY, REPO, RunningBridge, free_port, press_link_button_after_polls

WRONG_KEY = "wrong-key-0123456789abcdef"
TLS_BRIDGE_ID = "001788fffe6a2b3c"


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
    assert "warn  this square bridge (BSB002) serves https" in out  # the simulator is one; details below
    assert "ok    application key accepted" in out
    assert "ok    target group:living ROOM: 4 light(s), commands go to group 1" in out
    assert 'colorloop: PUT groups/1/action {"on": true, "effect": "colorloop", "sat": 254}' in out
    dry_run = out.split("dry run")[1].splitlines()
    colorloop = dry_run[dry_run.index(next(line for line in dry_run if "colorloop:" in line)) :]
    assert "Sofa lamp" in colorloop[1] and colorloop[1].endswith("would change")
    assert "Hallway bulb" in colorloop[4] and 'no colour: gets {"on": true}, counts as skipped' in colorloop[4]
    lights_on = dry_run[dry_run.index(next(line for line in dry_run if "lights_on:" in line)) :]
    assert lights_on[1].endswith("already so") and lights_on[2].endswith("would change")  # light 2 is off
    assert "No problems found (1 warning(s))." in out
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
    assert "No problems found (2 warning(s))." in out  # unreachable Bloom, and http:// to a square bridge
    assert commands_sent(sim) == 0


@pytest.mark.parametrize(
    ("model", "warning"),
    [
        ("BSB002", "warn  this square bridge (BSB002) serves https: over http:// lamps get v1 colorloop instead"),
        ("BSB003", "warn  this Hue Bridge Pro (BSB003) serves https: over http:// lamps get v1 colorloop instead"),
        ("BSB001", None),  # the round bridge: plain http is all it has
    ],
)
def test_check_over_http_warns_when_the_bridge_serves_https(
    capsys: pytest.CaptureFixture[str], model: str, warning: str | None
) -> None:
    bridge = SimulatedBridge(config={"bridge": {"modelid": model}}, app_key=APP_KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        status, out, err = run(capsys, ["check"], {"HUE_BRIDGE": server.url, "HUE_APP_KEY": APP_KEY})
    assert status == 0, err
    assert out.startswith("Checking HUE_BRIDGE=http://")
    if warning is None:
        assert "serves https" not in out
        assert "No problems found (0 warning(s))." in out
    else:
        (line,) = [line for line in out.splitlines() if "serves https" in line]
        assert line.startswith(f"  {warning}")
        assert "lamps get v1 colorloop instead of prism (CLIP v2 is https only)" in line
        assert "write HUE_BRIDGE without http:// (a bare address means https)" in line
        assert "No problems found (1 warning(s))." in out


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
