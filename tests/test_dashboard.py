"""The dashboard's server side: colour conversion against known values, invocation history, JSON endpoints.

The browser end to end run is tests/integration/test_dashboard_browser.py.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from werkzeug.test import Client

from devstack.bridge import SimulatedBridge
from devstack.bridge import colours as light_colours
from devstack.bridge.colours import GAMUTS, at_brightness, ct_to_rgb, ct_to_xy, hs_to_rgb, light_view, to_hex, xy_to_rgb
from devstack.bridge.faults import FAULT_KINDS, OUTAGE_MODES
from devstack.cluster.manifests import http_routes, ping_sources
from devstack.cluster.pingsource import DemoClock, PingScheduler
from devstack.stack import dashboard as dash
from devstack.stack.control import ControlApp
from devstack.stack.dashboard import Dashboard, ExternalTrigger, InvocationLog, RealBridgeView, external_route
from devstack.stack.functions import _pump
from huelights.config import load_settings
from tests.support.servers import REPO, CaptureServer

TORONTO = ZoneInfo("America/Toronto")
JSON = {"Content-Type": "application/json"}


def as_bytes(rgb: tuple[float, float, float]) -> tuple[int, ...]:
    return tuple(int(c * 255) for c in rgb)  # truncated, as Hue's note (and rgbxy) ends


# ----- colour -------------------------------------------------------------------------------------------
# Expected values: Hue's "RGB to xy and back" note (Wide RGB D65, reverse gamma, closest point in the
# gamut), cross-checked against rgbxy 0.5 (the Python port of that note) with the same gamut corners.
@pytest.mark.parametrize(
    ("gamut", "xy", "expected"),
    [
        ("C", (0.3127, 0.3290), (245, 254, 255)),  # D65 white
        ("C", (0.4573, 0.4100), (255, 207, 120)),  # the bulbs' power-on warm white
        ("C", (0.6915, 0.3083), (255, 43, 0)),  # gamut C's red corner
        ("C", (0.17, 0.7), (0, 255, 66)),  # gamut C's green corner
        ("C", (0.3, 0.6), (155, 255, 67)),
        ("C", (0.2, 0.1), (117, 80, 255)),
        ("C", (0.8, 0.2), (255, 43, 0)),  # outside: the closest edge point, here the red corner
        ("C", (0.0, 0.0), (64, 0, 255)),  # outside: the blue corner
        ("B", (0.6915, 0.3083), (255, 70, 0)),  # gamut B's red is less saturated
        ("B", (0.17, 0.7), (235, 255, 67)),  # gamut B cannot show this green: clamped to its green corner
        ("B", (0.0, 0.0), (83, 0, 255)),
        ("A", (0.8, 0.2), (255, 0, 3)),
        ("A", (0.17, 0.7), (82, 255, 40)),
        ("A", (0.0, 0.0), (9, 85, 255)),
    ],
)
def test_xy_to_rgb_follows_hues_documented_conversion(
    gamut: str, xy: tuple[float, float], expected: tuple[int, int, int]
) -> None:
    assert as_bytes(xy_to_rgb(*xy, GAMUTS[gamut])) == expected


@pytest.mark.parametrize(
    ("kelvin", "expected_xy"),
    [(2000, (0.5267, 0.4133)), (2700, (0.4599, 0.4106)), (4000, (0.3805, 0.3768)), (6500, (0.3135, 0.3237))],
)
def test_ct_follows_the_planckian_locus(kelvin: int, expected_xy: tuple[float, float]) -> None:
    x, y = ct_to_xy(1e6 / kelvin)
    assert x == pytest.approx(expected_xy[0], abs=0.002) and y == pytest.approx(expected_xy[1], abs=0.002)


def test_ct_mired_to_rgb_runs_from_candle_to_daylight() -> None:
    warmest, warm, cool = ct_to_rgb(500), ct_to_rgb(366), ct_to_rgb(153)  # Hue's ct range is 153-500 mired
    assert to_hex(warmest) == "#ffb243" and to_hex(warm) == "#ffcf79" and to_hex(cool) == "#f4f9ff"
    assert warmest[2] < warm[2] < cool[2] and warmest[0] == warm[0] == 1.0
    # A ct light and an xy light at the same white look the same (the power-on xy is 366 mired).
    assert to_hex(warm) == to_hex(xy_to_rgb(0.4573, 0.41))


@pytest.mark.parametrize(
    ("hue", "sat", "expected"),
    [
        (0, 254, "#ff0000"),
        (65535, 254, "#ff0000"),  # the circle wraps
        (21845, 254, "#00ff00"),
        (43690, 254, "#0000ff"),
        (10923, 254, "#ffff00"),
        (0, 0, "#ffffff"),
        (0, 127, "#ff8080"),
    ],
)
def test_hue_sat_to_rgb(hue: int, sat: int, expected: str) -> None:
    assert to_hex(hs_to_rgb(hue, sat)) == expected


def test_brightness_scales_the_light_not_the_code_value() -> None:
    white = (1.0, 1.0, 1.0)
    assert to_hex(at_brightness(white, 254)) == "#ffffff"
    assert to_hex(at_brightness(white, 127)) == "#bcbcbc"  # half the light is sRGB 188, not 128
    assert to_hex(at_brightness(white, 1)) == "#0d0d0d"
    assert to_hex(at_brightness((1.0, 0.0, 0.0), 127)) == "#bc0000"


def sim_lights(**changes: dict[str, Any]) -> dict[str, Any]:
    bridge = SimulatedBridge()
    for light_id, state in changes.items():
        bridge.set_light_state(light_id.removeprefix("l"), **state)
    lights: dict[str, Any] = bridge.snapshot()["lights"]
    return lights


def test_light_views_of_the_simulated_bridge() -> None:
    lights = sim_lights(l1={"on": False}, l2={"hue": 0, "sat": 254, "colormode": "hs", "bri": 127})
    lights["3"]["state"]["reachable"] = False
    views = {lid: light_view(lid, light) for lid, light in lights.items()}
    assert views["1"]["rgb"] == "#000000" and views["1"]["summary"] == "off" and not views["1"]["on"]
    assert views["2"]["rgb"] == "#bc0000" and views["2"]["summary"] == "hue 0 sat 254 · bri 127"
    assert views["3"]["reachable"] is False and views["3"]["rgb"] == "#ffcf79"  # last known colour, marked
    assert views["4"]["kind"] == "white" and views["4"]["rgb"] == to_hex(ct_to_rgb(370))  # 2700 K bulb
    assert all(view["loop"] is None for view in views.values())


def test_a_colorloop_light_gets_frames_around_the_hue_circle_and_a_white_bulb_none() -> None:
    lights = sim_lights(l1={"effect": "colorloop", "hue": 0, "sat": 254, "bri": 254}, l3={"effect": "colorloop"})
    lights["4"]["state"]["effect"] = "colorloop"  # even if a bridge said so, a white bulb cannot loop
    loop = light_view("1", lights["1"])["loop"]
    assert loop is not None and len(loop) == light_colours.LOOP_FRAMES and len(set(loop)) == light_colours.LOOP_FRAMES
    assert loop[0] == "#ff0000" and loop[light_colours.LOOP_FRAMES // 3] == "#00ff00"  # starts where the bulb is
    pale = light_view("3", lights["3"])  # the power-on sat 140: a pastel loop, as on a real bulb
    assert pale["loop"] is not None and pale["summary"].startswith("colorloop, sat 140")
    assert light_view("4", lights["4"])["loop"] is None


def test_each_light_shows_its_effect_and_the_api_of_its_last_command() -> None:
    bridge = SimulatedBridge(app_key="testkey")
    client = Client(bridge)
    v2_ids = {lid: light["v2_id"] for lid, light in bridge.snapshot()["lights"].items()}

    def v2_put(light_id: str, body: dict[str, Any]) -> None:
        url = f"/clip/v2/resource/light/{v2_ids[light_id]}"
        answer = client.put(url, json=body, headers={"hue-application-key": "testkey"}, base_url="https://127.0.0.1")
        assert answer.status_code == 200, answer.text

    v2_put("1", {"on": {"on": True}, "effects_v2": {"action": {"effect": "prism"}}})
    v2_put("2", {"on": {"on": True}, "effects": {"effect": "candle"}})
    client.put("/api/testkey/lights/3/state", json={"on": True, "effect": "colorloop", "sat": 254})
    views = {lid: light_view(lid, light) for lid, light in bridge.snapshot()["lights"].items()}
    shown = {lid: (view["effect"], view["api"]) for lid, view in views.items()}
    assert shown == {"1": ("prism", "v2"), "2": ("candle", "v2"), "3": ("colorloop", "v1"), "4": ("none", None)}
    # Prism loops like colorloop, at full saturation whatever the bulb's sat (140 at power-on).
    state = bridge.light("1")
    prism = views["1"]["loop"]
    assert state["sat"] == 140 and prism is not None and views["1"]["summary"] == "prism · bri 254"
    assert prism[0] == to_hex(at_brightness(hs_to_rgb(state["hue"], 254), state["bri"]))
    assert len(set(prism)) == light_colours.LOOP_FRAMES
    assert views["3"]["loop"] is not None and views["3"]["summary"].startswith("colorloop, sat 254")
    assert views["2"]["loop"] is None  # other v2 effects are named, not drawn
    # A power cycle ends prism: the light is back in its powerup preset, no effect, no loop.
    bridge.power_cycle("1")
    after = light_view("1", bridge.snapshot()["lights"]["1"])
    assert after["effect"] == "none" and after["loop"] is None


def test_a_real_bridge_read_through_v1_shows_its_v1_effect_and_no_api() -> None:
    light = {"name": "Go", "type": "Extended color light", "state": {"on": True, "bri": 254, "hue": 0, "sat": 254}}
    for v1_effect in ("prism", "colorloop"):  # an emulator (diyHue) shows v2 prism as "prism" in v1
        view = light_view("5", {**light, "state": {**light["state"], "effect": v1_effect}})
        assert view["effect"] == v1_effect and view["api"] is None and view["loop"] is not None
    assert light_view("5", light)["effect"] == "none"


def test_a_real_bridges_colour_gamut_is_used() -> None:
    light = {
        "type": "Color light",
        "state": {"on": True, "bri": 254, "xy": [0.8, 0.2], "colormode": "xy"},
        "capabilities": {
            "control": {"colorgamuttype": "A", "colorgamut": [[0.704, 0.296], [0.2151, 0.7106], [0.138, 0.08]]}
        },
    }
    assert light_view("7", light)["rgb"] == to_hex(xy_to_rgb(0.8, 0.2, GAMUTS["A"])) == "#ff0003"
    del light["capabilities"]
    assert light_view("7", light)["rgb"] == "#ff2c00"  # no capabilities: gamut C


# ----- invocation history ---------------------------------------------------------------------------------
RECORD = {
    "action": "colorloop",
    "trigger": "cloudevent-binary",
    "external": False,
    "event_id": "e-1",
    "event_source": "/apis/v1/namespaces/gohome/pingsources/colorloop",
    "event_type": "dev.knative.sources.ping",
    "target": "all",
    "result": "ok",
    "message": "4 light(s) in the desired state",
    "api": "v2",
    "lights": {"1": {"name": "Sofa lamp", "status": "ok", "effect": "prism", "detail": ""}},
    "bridge_requests": 2,
    "duration_ms": 31,
    "status": 200,
    "duplicate": False,
}


def test_invocation_log_keeps_records_only_and_is_bounded() -> None:
    log = InvocationLog(maxlen=3)
    log.feed("colorloop", "[2026-11-01 10:00:00 +0000] [1] [INFO] Booting worker with pid: 12")
    log.feed("colorloop", "INFO huelights.bridge.127.0.0.1:8000: retrying GET lights")
    log.feed("colorloop", '{"not": "an invocation"}')
    log.feed("colorloop", "{broken json")
    assert log.recent() == []
    for n in range(5):
        log.feed("colorloop", json.dumps({**RECORD, "event_id": f"e-{n}"}))
    recent = log.recent()
    assert [r["event_id"] for r in recent] == ["e-4", "e-3", "e-2"]  # newest first, three kept
    assert recent[0]["service"] == "colorloop" and recent[0]["lights"]["1"]["status"] == "ok"


def test_the_stacks_output_pump_feeds_the_log_and_survives_a_failing_observer(capsys: Any) -> None:
    read_end, write_end = os.pipe()
    seen: list[str] = []

    def observer(service: str, line: str) -> None:
        seen.append(line)
        raise RuntimeError("an observer bug")

    with os.fdopen(write_end, "wb") as writer:
        writer.write(b"first\n" + json.dumps(RECORD).encode() + b"\nlast\n")
    _pump(os.fdopen(read_end, "rb"), "colorloop", deque(maxlen=5), observer)
    assert seen == ["first", json.dumps(RECORD), "last"]
    assert "[colorloop] last" in capsys.readouterr().out


# ----- endpoints ---------------------------------------------------------------------------------------------
@pytest.fixture
def sink() -> Iterator[CaptureServer]:
    with CaptureServer([200]) as server:
        yield server


def make_client(bridge: SimulatedBridge | None, sink_port: int, **kwargs: Any) -> tuple[Client, Dashboard]:
    sources = ping_sources(REPO / "knative")
    targets = {spec.sink_service or "": ("127.0.0.1", sink_port) for spec in sources.values()}
    # A Saturday noon in Toronto; daylight saving time starts the next night (Sunday 8 March, 02:00).
    clock = DemoClock(datetime(2026, 3, 7, 12, 0, tzinfo=TORONTO))
    scheduler = PingScheduler(sources, targets, clock)
    board = Dashboard(scheduler, kwargs.pop("invocations", InvocationLog()), simulated=bridge, **kwargs)
    return Client(ControlApp(scheduler, lambda: {}, board)), board


def test_the_page_and_its_files_are_served(sink: CaptureServer) -> None:
    client, _ = make_client(SimulatedBridge(), sink.port)
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert '<script src="/static/app.js">' in page.text
    assert client.get("/static/app.js").mimetype == "text/javascript"
    assert client.get("/static/style.css").mimetype == "text/css"
    assert client.get("/static/../dashboard.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/status").status_code == 200  # the control endpoints are still there


def test_state_has_lights_schedules_in_their_zone_and_fault_status(sink: CaptureServer) -> None:
    bridge = SimulatedBridge()
    bridge.set_light_state("1", on=False)
    bridge.start_outage("503", seconds=30)
    client, _ = make_client(bridge, sink.port)
    state = client.get("/api/state").json
    assert [light["id"] for light in state["lights"]] == ["1", "2", "3", "4"]
    assert state["lights"][0]["rgb"] == "#000000" and state["lights"][1]["rgb"] == "#ffcf79"
    assert state["bridge"]["mode"] == "simulated" and state["bridge"]["faults"]["outage"] == "503"
    assert state["clock"] == {"now": "2026-03-07T12:00:00-05:00", "zone": "America/Toronto", "speed": 1.0}
    schedules = {row["name"]: row for row in state["schedules"]}
    assert schedules["lights-off"]["next"] == "2026-03-07T22:30:00-05:00"
    assert schedules["lights-off"]["in_seconds"] == pytest.approx(10.5 * 3600, abs=2)
    # Across the change to daylight saving time: 05:30 local is now UTC-4.
    assert schedules["lights-on"]["next"] == "2026-03-08T05:30:00-04:00"
    assert schedules["colorloop"]["next_local"] == "Sun 08 Mar 05:35 EDT"
    assert schedules["colorloop"]["schedule"] == "35 5 * * *"  # read from knative/, not from code
    bridge.end_outage()


def test_fire_and_invocation_records_meet_by_event_id(sink: CaptureServer) -> None:
    invocations = InvocationLog()
    client, _ = make_client(SimulatedBridge(), sink.port, invocations=invocations)
    delivery = client.post("/api/fire/colorloop", headers=JSON, data="{}").json
    assert delivery["status"] == 200 and delivery["manual"] is True
    assert b"Ce-Type: dev.knative.sources.ping" in sink.raw[0]
    invocations.feed("colorloop", json.dumps({**RECORD, "event_id": delivery["event_id"]}))
    (row,) = client.get("/api/state").json["invocations"]
    assert row["source"] == "colorloop" and row["manual"] is True and row["status"] == 200
    assert row["api"] == "v2" and row["lights"]["1"]["effect"] == "prism"  # the functions' API and each effect
    assert row["time"].endswith(("-05:00", "-04:00"))  # shown in the schedules' zone
    assert client.post("/api/fire/nope", headers=JSON, data="{}").status_code == 404


def test_fault_controls_drive_the_simulator(sink: CaptureServer) -> None:
    bridge = SimulatedBridge()
    client, _ = make_client(bridge, sink.port)
    assert client.post("/api/sim/latency", headers=JSON, json={"seconds": 1.5}).status_code == 200
    assert client.post("/api/sim/fail", headers=JSON, json={"kind": "503", "count": 2}).status_code == 200
    assert client.post("/api/sim/outage", headers=JSON, json={"mode": "503", "seconds": 30}).status_code == 200
    faults = bridge.snapshot()["faults"]
    assert faults["latency"] == 1.5 and faults["pending_failures"] == ["503", "503"] and faults["outage"] == "503"
    bridge.set_light_state("2", effect="colorloop")
    assert client.post("/api/sim/lights/2/power-cycle", headers=JSON, json={}).status_code == 200
    assert bridge.light("2")["effect"] == "none"
    assert client.post("/api/sim/lights/3/reachable", headers=JSON, json={"reachable": False}).status_code == 200
    assert bridge.light("3")["reachable"] is False
    assert client.post("/api/sim/fail", headers=JSON, json={"kind": "boom"}).status_code == 400
    assert client.post("/api/sim/lights/9/power-cycle", headers=JSON, json={}).status_code == 404
    assert client.post("/api/sim/linkbutton", headers=JSON, json={}).status_code == 404  # not a fault control
    assert client.post("/api/sim/reset", headers=JSON, json={}).status_code == 200
    assert bridge.snapshot()["faults"]["outage"] is None and bridge.light("3")["reachable"] is True


def test_the_fault_menus_are_faults_py_lists_and_the_page_has_no_copy(sink: CaptureServer) -> None:
    bridge = SimulatedBridge()
    client, _ = make_client(bridge, sink.port)
    menu = client.get("/api/sim/faults").json
    listed = {key: {entry["name"]: entry["does"] for entry in menu[key]} for key in menu}
    assert listed == {"outage_modes": OUTAGE_MODES, "fault_kinds": FAULT_KINDS}
    assert [entry["name"] for entry in menu["fault_kinds"]] == list(FAULT_KINDS)  # in faults.py's order
    assert "partial" in listed["fault_kinds"]  # the kind the hand-written menu had lost
    assert Client(bridge).get("/_sim/faults").json == menu  # the simulator's admin API serves the same lists
    assert client.post("/api/sim/faults", headers=JSON, json={}).status_code == 404  # not a fault control
    for kind in FAULT_KINDS:  # every kind the menu offers is one the simulator accepts
        assert client.post("/api/sim/fail", headers=JSON, json={"kind": kind, "count": 1}).status_code == 200
    assert bridge.snapshot()["faults"]["pending_failures"] == list(FAULT_KINDS)
    page = (Path(dash.__file__).with_name("static") / "index.html").read_text()
    assert "<option" not in page
    guide = (REPO / "docs" / "local-stack.md").read_text()
    assert "invalid_json" not in guide and "../devstack/bridge/faults.py" in guide  # linked, not copied


def test_posts_from_another_site_are_refused(sink: CaptureServer) -> None:
    bridge = SimulatedBridge()
    client, _ = make_client(bridge, sink.port)
    # A form post (no preflight) from any page: refused for its content type.
    form = client.post("/api/sim/outage", data={"mode": "503"})
    assert form.status_code == 415
    # A DNS name rebound to 127.0.0.1: refused for its Host.
    rebound = client.post("/api/sim/outage", headers={**JSON, "Host": "evil.example:8090"}, json={"mode": "503"})
    assert rebound.status_code == 403
    assert client.post("/api/fire/colorloop", data="x").status_code == 415
    assert bridge.snapshot()["faults"]["outage"] is None and sink.raw == []
    assert client.post("/api/sim/reset", headers={**JSON, "Host": "localhost:8090"}, json={}).status_code == 200


def test_external_trigger_goes_through_the_gateway_with_and_without_the_token() -> None:
    assert external_route(http_routes(REPO / "gateway" / "route")) == ("colorloop.lab", "/colorloop")
    token = "dashboard-test-token-0123456789"
    with CaptureServer([401, 200]) as gateway, CaptureServer([200]) as sink:
        trigger = ExternalTrigger(f"http://127.0.0.1:{gateway.port}", "colorloop.lab", "/colorloop", token)
        client, _ = make_client(SimulatedBridge(), sink.port, external=trigger)
        refused = client.post("/api/external", headers=JSON, json={"token": False}).json
        accepted = client.post("/api/external", headers=JSON, json={"token": True}).json
        assert client.get("/api/state").json["external"] == {"host": "colorloop.lab", "path": "/colorloop"}
    assert refused["status"] == 401 and accepted["status"] == 200
    without, with_token = (raw.decode() for raw in gateway.raw)
    assert without.startswith("POST /colorloop HTTP/1.1") and "Host: colorloop.lab" in without
    assert "Authorization" not in without
    assert f"Authorization: Bearer {token}" in with_token
    assert token not in json.dumps([refused, accepted]) and token not in repr(trigger)


def test_real_bridge_mode_only_reads_and_has_no_fault_controls(sink: CaptureServer) -> None:
    bridge = SimulatedBridge(app_key="real-bridge-key-0123456789abcdef")
    with bridge.serve("127.0.0.1", 0) as server:
        settings = load_settings({"HUE_BRIDGE": server.url, "HUE_APP_KEY": "real-bridge-key-0123456789abcdef"})
        client, _ = make_client(None, sink.port, real=RealBridgeView(settings, max_age=0.0))
        state = client.get("/api/state").json
        assert state["bridge"] == {"mode": "real", "url": server.url, "error": None}
        assert [light["rgb"] for light in state["lights"]] == ["#ffcf79", "#ffcf79", "#ffcf79", "#ffcf77"]
        assert client.post("/api/sim/outage", headers=JSON, json={"mode": "503"}).status_code == 404
        assert client.post("/api/sim/reset", headers=JSON, json={}).status_code == 404
        assert client.get("/api/sim/faults").status_code == 404
        assert {light["api"] for light in state["lights"]} == {None}  # a real bridge does not say
        bridge.start_outage("503", seconds=30)
        failing = client.get("/api/state").json
        bridge.end_outage()
    assert failing["bridge"]["error"] and "real-bridge-key" not in failing["bridge"]["error"]
    assert [light["id"] for light in failing["lights"]] == ["1", "2", "3", "4"]  # last known, with the reason
    assert {entry["method"] for entry in bridge.requests()} == {"GET"}


def test_real_bridge_reads_are_shared_between_polling_pages() -> None:
    bridge = SimulatedBridge()
    with bridge.serve("127.0.0.1", 0) as server:
        view = RealBridgeView(load_settings({"HUE_BRIDGE": server.url, "HUE_APP_KEY": "testkey"}), max_age=60)
        threads = [threading.Thread(target=view.snapshot) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(view.snapshot()["lights"]) == 4
    assert len(bridge.requests()) == 1


def test_static_files_are_plain_and_need_no_build() -> None:
    static = Path(dash.__file__).with_name("static")
    assert sorted(p.name for p in static.iterdir()) == ["app.js", "index.html", "style.css"]
    script = (static / "app.js").read_text()
    assert "innerHTML" not in script  # names from a real bridge are shown as text, never parsed as HTML
    assert "import " not in script and "require(" not in script


def test_posts_with_a_foreign_origin_are_refused_and_the_fire_cli_still_works(sink: CaptureServer) -> None:
    bridge = SimulatedBridge()
    client, _ = make_client(bridge, sink.port)
    foreign = {**JSON, "Origin": "https://evil.example"}
    assert client.post("/api/sim/outage", headers=foreign, json={"mode": "503"}).status_code == 403
    assert client.post("/fire/colorloop", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/fire/colorloop", headers={"Host": "evil.example"}).status_code == 403
    assert sink.raw == [] and bridge.snapshot()["faults"]["outage"] is None
    own_page = {**JSON, "Origin": "http://127.0.0.1:8090"}
    assert client.post("/api/sim/latency", headers=own_page, json={"seconds": 0}).status_code == 200
    assert client.post("/fire/colorloop").json["status"] == 200  # what python -m devstack.stack.fire sends
