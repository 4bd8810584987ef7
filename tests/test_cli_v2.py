"""The setup tool through CLIP v2: the loop each light gets, every HUE_TARGET form, check's v2 report."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.bridge import V2_SHOWCASE_CONFIG, SimulatedBridge
from devstack.bridge.modes import bridge_id_of, serve_bridge
from huelights.config import parse_target
from huelights.v2.inventory import resolve_target
from huelights.v2.resources import parse_resources
from huelights_setup.cli import main
from tests.support.cli import AWKWARD, TERMINAL_CODES_CONFIG, commands_sent, one_error_line, run, terminal_codes
from tests.support.servers import APP_KEY, bridge_pki

WRONG_KEY = "wrong-key-0123456789abcdef"
TLS_BRIDGE_ID = "001788fffe6a2b3c"


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


@pytest.mark.parametrize("v2sim", [TERMINAL_CODES_CONFIG], indirect=True)
def test_names_with_terminal_codes_are_shown_escaped_on_v2(v2sim: V2Sim, capsys: pytest.CaptureFixture[str]) -> None:
    shown = {}
    for command in (["lights"], ["groups"], ["check"], ["lights", "--json"], ["groups", "--json"]):
        status, out, err = run(capsys, command, v2sim.env)
        assert status == 0, err
        assert "Room" in out or "Sofa" in out, command
        assert terminal_codes(out + err) == [], command
        shown[" ".join(command)] = out
    assert "\\u001b]0;owned\\u0007Sofa" in shown["check"], "escaped, not dropped"
    rows = json.loads(shown["lights --json"])
    assert {row["id"]: row["name"] for row in rows} == {
        light_id: light["name"] for light_id, light in TERMINAL_CODES_CONFIG["lights"].items()
    }
    assert all(":" in target and terminal_codes(target) == [] for row in rows for target in row["targets"])
    assert [row["target"] for row in rows] == ["lights:1", "lights:2", "lights:3", "lights:4"]


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
