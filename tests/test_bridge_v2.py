"""The simulated bridge speaks CLIP v2 like a real bridge, on the one state it shares with CLIP v1.

Through werkzeug's test client (the WSGI app, `https://` so the request counts as TLS), plus one loopback
server for the plain-HTTP option. Real-bridge facts: hue-api-v2 notes §2-§8; how the loop shows in each
API is the simulator's own decision (devstack/bridge/model.py).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohue.util import dataclass_from_dict
from aiohue.v2.models.resource import ResourceIdentifier
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.test import Client, TestResponse

from devstack.bridge import V2_SHOWCASE_CONFIG, SimulatedBridge

KEY = "testkey"
HTTPS = "https://127.0.0.1"
TIMEOUT = 5


class V2:
    """A client of one simulated bridge's WSGI app, over "TLS" by default."""

    def __init__(self, bridge: SimulatedBridge, base_url: str = HTTPS) -> None:
        self.bridge = bridge
        self.client = Client(bridge)
        self.base_url = base_url

    def get(self, path: str, key: str | None = KEY) -> TestResponse:
        headers = {"hue-application-key": key} if key is not None else {}
        return self.client.get(f"/clip/v2/{path}", headers=headers, base_url=self.base_url)

    def put(self, path: str, body: Any, key: str | None = KEY, raw: bytes | None = None) -> TestResponse:
        headers = {"hue-application-key": key} if key is not None else {}
        data = raw if raw is not None else None
        kwargs: dict[str, Any] = (
            {"data": data, "content_type": "application/json"} if raw is not None else {"json": body}
        )
        return self.client.put(f"/clip/v2/{path}", headers=headers, base_url=self.base_url, **kwargs)

    def data(self, path: str) -> list[dict[str, Any]]:
        answer = self.get(path)
        assert answer.status_code == 200, answer.text
        return envelope(answer)["data"]

    def light_id(self, v1_id: str) -> str:
        return str(self.bridge.snapshot()["lights"][v1_id]["v2_id"])

    def v2_light(self, v1_id: str) -> dict[str, Any]:
        return self.data(f"resource/light/{self.light_id(v1_id)}")[0]

    def grouped_light(self, id_v1: str) -> str:
        return next(g["id"] for g in self.data("resource/grouped_light") if g["id_v1"] == id_v1)


def envelope(answer: TestResponse) -> dict[str, Any]:
    """A v2 answer: exactly `errors` (objects with a description) and `data` (a list), whatever the status."""
    assert answer.content_type.startswith("application/json"), (answer.status_code, answer.text)
    body: dict[str, Any] = answer.get_json()
    assert set(body) == {"errors", "data"}, body
    assert isinstance(body["data"], list)
    assert all(set(error) == {"description"} and error["description"] for error in body["errors"]), body
    return body


def assert_put_answer(answer: TestResponse, status: int, rid: str, rtype: str) -> list[str]:
    """Schema of a PUT answer: data = [{rid, rtype}] (read with aiohue's ResourceIdentifier, strictly)."""
    assert answer.status_code == status, answer.text
    body = envelope(answer)
    identifiers = [dataclass_from_dict(ResourceIdentifier, item, strict=True) for item in body["data"]]
    assert [(i.rid, i.rtype.value) for i in identifiers] == [(rid, rtype)]
    return [error["description"] for error in body["errors"]]


def refused(answer: TestResponse, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = envelope(answer)
    assert body["data"] == [] and len(body["errors"]) == 1
    return str(body["errors"][0]["description"])


@pytest.fixture
def v2() -> V2:
    return V2(SimulatedBridge(app_key=KEY))


@pytest.fixture
def showcase() -> V2:
    return V2(SimulatedBridge(config=V2_SHOWCASE_CONFIG, app_key=KEY))


PRISM = {"on": {"on": True}, "effects_v2": {"action": {"effect": "prism"}}}


# ----- resources and ids ------------------------------------------------------------------------------------


def test_full_resource_list_is_shaped_like_a_real_bridge(showcase: V2) -> None:
    items = showcase.data("resource")
    by_id = {item["id"]: item for item in items}
    assert all(uuid.UUID(item_id).version == 5 for item_id in by_id)
    lights = [item for item in items if item["type"] == "light"]
    assert sorted(light["id_v1"] for light in lights) == [f"/lights/{n}" for n in range(1, 7)]
    for light in lights:  # owned by a device with the same id_v1, which also owns a zigbee_connectivity
        device = by_id[light["owner"]["rid"]]
        assert device["id_v1"] == light["id_v1"]
        services = {service["rtype"]: by_id[service["rid"]] for service in device["services"]}
        assert services["light"] is light and services["zigbee_connectivity"]["status"] == "connected"
    room, study = (item for item in items if item["type"] == "room")
    assert {by_id[child["rid"]]["type"] for child in room["children"]} == {"device"}
    zone = next(item for item in items if item["type"] == "zone")
    assert [by_id[child["rid"]]["id_v1"] for child in zone["children"]] == ["/lights/2", "/lights/5"]
    home = next(item for item in items if item["type"] == "bridge_home")
    assert home["id_v1"] == "/groups/0" and {c["rid"] for c in home["children"]} >= {room["id"], study["id"]}
    for group in (room, study, zone, home):
        (grouped,) = group["services"]
        assert by_id[grouped["rid"]]["id_v1"] == group["id_v1"]
        assert by_id[grouped["rid"]]["owner"] == {"rid": group["id"], "rtype": group["type"]}
    (bridge,) = (item for item in items if item["type"] == "bridge")
    assert bridge["bridge_id"] == "001788fffe5a1b2c" and "id_v1" not in bridge


def test_light_kinds_effects_and_powerup(showcase: V2) -> None:
    colour, bloom, white, ambiance, strip = (showcase.v2_light(n) for n in ("1", "3", "4", "5", "6"))
    assert "prism" in colour["effects_v2"]["action"]["effect_values"] and colour["color"]["gamut_type"] == "C"
    assert colour["effects"]["status"] == colour["effects_v2"]["status"]["effect"] == "no_effect"
    assert "color" in bloom and "effects" not in bloom and "effects_v2" not in bloom  # colour, no effects
    assert {"color", "color_temperature", "effects", "effects_v2"}.isdisjoint(white) and "dimming" in white
    assert "color" not in ambiance and ambiance["effects"]["effect_values"] == [
        "no_effect",
        "candle",
        "sparkle",
        "glisten",
    ]
    assert "prism" in strip["effects"]["effect_values"] and "effects_v2" not in strip
    assert colour["powerup"]["preset"] == "safety" and strip["powerup"]["preset"] == "powerfail"
    assert {light["mode"] for light in (colour, bloom, white)} == {"normal"}
    assert colour["metadata"]["name"] == "Sofa lamp"


def test_ids_are_stable_across_instances_and_reset(v2: V2) -> None:
    before = [item["id"] for item in v2.data("resource")]
    v2.bridge.reset()
    assert [item["id"] for item in v2.data("resource")] == before
    assert [item["id"] for item in V2(SimulatedBridge(app_key=KEY)).data("resource")] == before


def test_per_type_and_per_id_documents_match_the_full_list(showcase: V2) -> None:
    items = showcase.data("resource")
    for rtype in {item["type"] for item in items}:
        typed = showcase.data(f"resource/{rtype}")
        assert typed == [item for item in items if item["type"] == rtype]
        for item in typed:
            assert showcase.data(f"resource/{rtype}/{item['id']}") == [item]


# ----- errors on every answer --------------------------------------------------------------------------------


def test_missing_or_wrong_key_is_403(v2: V2) -> None:
    assert refused(v2.get("resource", key=None), 403) == "unauthorized user"
    refused(v2.get("resource/light", key="wrong"), 403)
    refused(v2.put(f"resource/light/{v2.light_id('1')}", {"on": {"on": False}}, key="wrong"), 403)
    assert v2.bridge.light("1")["on"] is True


def test_unknown_type_or_id_is_404(v2: V2) -> None:
    refused(v2.get("resource/nonsense"), 404)
    refused(v2.get(f"resource/light/{uuid.uuid4()}"), 404)
    refused(v2.put(f"resource/light/{uuid.uuid4()}", {"on": {"on": False}}), 404)
    refused(v2.get(f"resource/room/{v2.light_id('1')}"), 404)  # a light's id is not a room's
    refused(v2.get("nonsense"), 404)


def test_put_on_a_read_only_resource_is_405(v2: V2) -> None:
    room = v2.data("resource/room")[0]
    refused(v2.put(f"resource/room/{room['id']}", {"on": {"on": False}}), 405)
    answer = v2.client.post("/clip/v2/resource/light", headers={"hue-application-key": KEY}, base_url=HTTPS, json={})
    refused(answer, 405)


@pytest.mark.parametrize(
    "body",
    [
        {"on": {"on": "yes"}},
        {"on": True},
        {"dimming": {"brightness": 101}},
        {"color": {"xy": {"x": 2, "y": 0.3}}},
        {"color_temperature": {"mirek": 50}},
        {"nonsense": {}},
        {"effects": {"effect": "colorloop"}},  # v2 has no colorloop
        {"effects_v2": {"action": {"effect": "bogus"}}},
        {"effects_v2": {"effect": "prism"}},
        {},
        [],
    ],
)
def test_bad_values_and_unknown_fields_are_400_and_change_nothing(v2: V2, body: Any) -> None:
    before = v2.bridge.light("1")
    refused(v2.put(f"resource/light/{v2.light_id('1')}", body), 400)
    assert v2.bridge.light("1") == before


def test_invalid_json_is_400(v2: V2) -> None:
    assert "JSON" in refused(v2.put(f"resource/light/{v2.light_id('1')}", None, raw=b'{"on": {"on": tr'), 400)


def test_an_effect_a_light_does_not_offer_is_400(showcase: V2) -> None:
    for light_id in ("3", "4", "5"):  # Bloom: no effects; white: none; white ambiance: no prism
        description = refused(showcase.put(f"resource/light/{showcase.light_id(light_id)}", PRISM), 400)
        assert "prism" in description
    ambiance = showcase.light_id("5")
    candle = {"on": {"on": True}, "effects_v2": {"action": {"effect": "candle"}}}
    assert assert_put_answer(showcase.put(f"resource/light/{ambiance}", candle), 200, ambiance, "light") == []
    assert showcase.v2_light("5")["effects_v2"]["status"]["effect"] == "candle"


@pytest.mark.parametrize("field", ["effects", "effects_v2"])
def test_any_effect_on_a_grouped_light_is_400(v2: V2, field: str) -> None:
    home = v2.grouped_light("/groups/0")
    effect = {"effect": "prism"} if field == "effects" else {"action": {"effect": "prism"}}
    refused(v2.put(f"resource/grouped_light/{home}", {"on": {"on": True}, field: effect}), 400)
    assert v2.bridge.light_effect("1") == "none"


# ----- commands --------------------------------------------------------------------------------------------


def test_grouped_light_switches_its_lights_and_answers_rid_rtype(v2: V2) -> None:
    room = v2.grouped_light("/groups/1")
    assert (
        assert_put_answer(v2.put(f"resource/grouped_light/{room}", {"on": {"on": False}}), 200, room, "grouped_light")
        == []
    )
    assert [v2.bridge.light(n)["on"] for n in "1234"] == [False] * 4
    assert v2.data(f"resource/grouped_light/{room}")[0]["on"] == {"on": False}
    assert v2.bridge.group_json("1")["action"]["on"] is False  # v1 shows the last action, whichever API
    assert v2.bridge.counts()["group_commands_by_id"] == {"1": 1}
    assert {v2.bridge.snapshot()["lights"][n]["api"] for n in "1234"} == {"v2"}


def test_prism_via_v2_is_the_loop_v1_shows_and_back(v2: V2) -> None:
    light = v2.light_id("1")
    v2.bridge.set_light_state("1", on=False)
    assert_put_answer(v2.put(f"resource/light/{light}", PRISM), 200, light, "light")
    assert v2.bridge.light("1")["on"] is True and v2.bridge.light("1")["effect"] == "colorloop"
    snapshot = v2.bridge.snapshot()["lights"]["1"]
    assert (snapshot["effect"], snapshot["api"]) == ("prism", "v2")
    # v1 colorloop on light 2 shows as prism in v2; v1 effect none stops it in both.
    v1 = Client(v2.bridge)
    v1.put(f"/api/{KEY}/lights/2/state", json={"on": True, "effect": "colorloop"})
    shown = v2.v2_light("2")
    assert shown["effects_v2"]["status"]["effect"] == shown["effects"]["status"] == "prism"
    assert (v2.bridge.snapshot()["lights"]["2"]["effect"], v2.bridge.snapshot()["lights"]["2"]["api"]) == (
        "colorloop",
        "v1",
    )
    v1.put(f"/api/{KEY}/lights/2/state", json={"effect": "none"})
    assert v2.v2_light("2")["effects_v2"]["status"]["effect"] == "no_effect"


def test_v1_colorloop_on_a_light_without_v2_effects_shows_in_v1_only(v2: V2) -> None:
    Client(v2.bridge).put(f"/api/{KEY}/lights/3/state", json={"on": True, "effect": "colorloop", "sat": 254})
    assert v2.bridge.light("3")["effect"] == "colorloop" and "effects" not in v2.v2_light("3")
    assert v2.bridge.snapshot()["lights"]["3"]["effect"] == "colorloop"


def test_other_v2_effects_are_none_in_v1(v2: V2) -> None:
    light = v2.light_id("1")
    v2.put(f"resource/light/{light}", {"on": {"on": True}, "effects": {"effect": "fire"}})
    assert v2.bridge.light("1")["effect"] == "none" and v2.v2_light("1")["effects"]["status"] == "fire"


def test_unreachable_light_answers_207_may_not_have_effect(v2: V2) -> None:
    v2.bridge.set_reachable("2", False)
    light = v2.light_id("2")
    device = v2.v2_light("2")["owner"]["rid"]
    link = next(z for z in v2.data("resource/zigbee_connectivity") if z["owner"]["rid"] == device)
    assert link["status"] == "connectivity_issue"
    (warning,) = assert_put_answer(v2.put(f"resource/light/{light}", PRISM), 207, light, "light")
    assert "may not have effect" in warning and "communication issues" in warning
    assert v2.bridge.light_effect("2") == "none"


def test_effect_on_an_off_light_without_on_is_207_soft_off(v2: V2) -> None:
    v2.bridge.set_light_state("1", on=False)
    light = v2.light_id("1")
    (warning,) = assert_put_answer(
        v2.put(f"resource/light/{light}", {"effects_v2": {"action": {"effect": "prism"}}}), 207, light, "light"
    )
    assert "soft off" in warning and "may not have effect" in warning
    assert v2.bridge.light("1")["on"] is False and v2.bridge.light_effect("1") == "none"


def test_brightness_colour_and_mirek_reach_the_v1_state(v2: V2) -> None:
    light = v2.light_id("1")
    body = {"dimming": {"brightness": 50.0}, "color": {"xy": {"x": 0.2, "y": 0.3}}, "dynamics": {"duration": 400}}
    assert_put_answer(v2.put(f"resource/light/{light}", body), 200, light, "light")
    state = v2.bridge.light("1")
    assert (state["bri"], state["xy"], state["colormode"]) == (127, [0.2, 0.3], "xy")
    assert v2.v2_light("1")["color"]["xy"] == {"x": 0.2, "y": 0.3}
    v2.put(f"resource/light/{light}", {"color_temperature": {"mirek": 250}})
    assert v2.v2_light("1")["color_temperature"]["mirek"] == 250 and v2.bridge.light("1")["ct"] == 250
    assert "does not support color" in refused(
        v2.put(f"resource/light/{v2.light_id('4')}", {"color": {"xy": {"x": 0.2, "y": 0.3}}}), 400
    )


# ----- power cycle and powerup --------------------------------------------------------------------------------


def test_power_cycle_loses_prism_and_applies_the_powerup_preset(showcase: V2) -> None:
    safety, powerfail = showcase.light_id("1"), showcase.light_id("6")
    for light in (safety, powerfail):
        assert showcase.put(f"resource/light/{light}", {**PRISM, "dimming": {"brightness": 20.0}}).status_code == 200
    showcase.bridge.power_cycle("1")
    showcase.bridge.power_cycle("6")
    back_safety, back_powerfail = showcase.v2_light("1"), showcase.v2_light("6")
    assert (
        back_safety["effects_v2"]["status"]["effect"] == "no_effect" and back_safety["dimming"]["brightness"] == 100.0
    )
    assert back_powerfail["effects"]["status"] == "no_effect" and back_powerfail["dimming"]["brightness"] == 20.08
    assert showcase.bridge.light("1")["effect"] == showcase.bridge.light("6")["effect"] == "none"


def test_powerup_preset_can_be_set_and_is_used(v2: V2) -> None:
    light = v2.light_id("2")
    refused(v2.put(f"resource/light/{light}", {"powerup": {"preset": "forever_prism"}}), 400)
    assert_put_answer(v2.put(f"resource/light/{light}", {"powerup": {"preset": "powerfail"}}), 200, light, "light")
    assert v2.v2_light("2")["powerup"]["preset"] == "powerfail"
    v2.put(f"resource/light/{light}", {"on": {"on": False}})
    v2.bridge.power_cycle("2")
    assert v2.bridge.light("2")["on"] is False  # powerfail: as before the cut


# ----- transport, limits, faults, log --------------------------------------------------------------------------


def test_v2_over_plain_http_is_redirected_unless_allowed() -> None:
    bridge = SimulatedBridge(app_key=KEY)
    plain = V2(bridge, base_url="http://127.0.0.1")
    answer = plain.get("resource/light")
    assert answer.status_code == 301 and answer.headers["Location"] == "https://127.0.0.1/clip/v2/resource/light"
    assert Client(bridge).get(f"/api/{KEY}/lights").status_code == 200  # v1 still over HTTP
    bridge.set_v2_over_http(True)
    assert plain.get("resource/light").status_code == 200
    bridge.reset()  # a server option, not state
    assert bridge.v2_over_http is True


def test_v2_over_http_option_on_a_loopback_server() -> None:
    bridge = SimulatedBridge(config={"v2_over_http": False}, app_key=KEY)
    with bridge.serve("127.0.0.1", 0) as server:
        url = f"{server.url}/clip/v2/resource/bridge"
        headers = {"hue-application-key": KEY}
        assert requests.get(url, headers=headers, timeout=TIMEOUT, allow_redirects=False).status_code == 301
        admin = requests.post(f"{server.url}/_sim/v2-over-http", json={"allowed": True}, timeout=TIMEOUT)
        assert admin.status_code == 200
        answer = requests.get(url, headers=headers, timeout=TIMEOUT)
        assert answer.status_code == 200 and answer.json()["data"][0]["bridge_id"] == "001788fffe5a1b2c"
        assert requests.get(f"{server.url}/_sim/state", timeout=TIMEOUT).json()["v2_over_http"] is True


def test_requests_are_logged_and_counted_per_api(v2: V2) -> None:
    v2.data("resource/light")
    v2.put(f"resource/light/{v2.light_id('1')}", {"on": {"on": False}})
    Client(v2.bridge).get(f"/api/{KEY}/lights")
    counts = v2.bridge.counts()
    assert (counts["requests"], counts["reads"], counts["light_commands"]) == (3, 2, 1)
    assert counts["requests_by_api"] == {"v1": 1, "v2": 2} and counts["light_commands_by_id"] == {"1": 1}
    log = v2.bridge.requests()
    assert [(e["api"], e["method"], e["status"]) for e in log] == [
        ("v2", "GET", 200),
        ("v2", "PUT", 200),
        ("v1", "GET", 200),
    ]
    assert log[1]["resource"] == f"/resource/light/{v2.light_id('1')}" and log[1]["body"] == {"on": {"on": False}}
    assert all(KEY not in e["path"] for e in log)


def test_rate_limits_are_shared_by_both_apis(v2: V2) -> None:
    home = v2.grouped_light("/groups/0")
    assert Client(v2.bridge).put(f"/api/{KEY}/groups/0/action", json={"on": True}).status_code == 200
    assert refused(v2.put(f"resource/grouped_light/{home}", {"on": {"on": False}}), 429) == "rate limit exceeded"
    light = v2.light_id("1")
    statuses = [v2.put(f"resource/light/{light}", {"on": {"on": True}}).status_code for _ in range(11)]
    assert statuses.count(200) == 10 and statuses[-1] == 429
    assert v2.bridge.counts()["rate_limited"] == 2


def test_fault_controls_hit_v2_too(v2: V2) -> None:
    v2.bridge.fail_next(1, "503")
    overloaded = v2.get("resource/light")
    assert overloaded.status_code == 503 and overloaded.content_type.startswith("text/html")
    v2.bridge.fail_next(1, "901")
    assert refused(v2.get("resource/light"), 500) == "internal error"
    v2.bridge.fail_next(1, "partial")
    assert refused(v2.put(f"resource/light/{v2.light_id('1')}", {"on": {"on": False}}), 500) == "internal error"
    for kind in ("html", "invalid_json"):
        v2.bridge.fail_next(1, kind)
        garbled = v2.get("resource/light")
        assert garbled.status_code == 200 and garbled.get_json(silent=True) is None
    v2.bridge.fail_next(1, "429", methods=["PUT"])
    assert v2.get("resource/light").status_code == 200
    assert v2.put(f"resource/light/{v2.light_id('1')}", {"on": {"on": False}}).status_code == 429
    assert v2.bridge.light("1")["on"] is True
    v2.bridge.start_outage("503")
    assert v2.get("resource/light").status_code == 503
    v2.bridge.end_outage()
    assert v2.get("resource/light").status_code == 200


@pytest.fixture
def tls_context(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A throw-away self-signed certificate for 127.0.0.1 (the bridge's own certificates: another module)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "001788fffe5a1b2c")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "bridge.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = tmp_path / "bridge.key"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem, key_file)
    return context, pem


def test_v2_is_served_over_tls_without_the_http_option(tls_context: tuple[ssl.SSLContext, Path]) -> None:
    context, pem = tls_context
    bridge = SimulatedBridge(app_key=KEY)
    assert bridge.v2_over_http is False
    with bridge.serve("127.0.0.1", 0, ssl_context=context) as server:
        assert server.url.startswith("https://")
        headers = {"hue-application-key": KEY}
        answer = requests.get(f"{server.url}/clip/v2/resource/light", headers=headers, verify=str(pem), timeout=TIMEOUT)
        assert answer.status_code == 200 and len(answer.json()["data"]) == 4
        light = answer.json()["data"][0]["id"]
        put = requests.put(
            f"{server.url}/clip/v2/resource/light/{light}",
            json=PRISM,
            headers=headers,
            verify=str(pem),
            timeout=TIMEOUT,
        )
        assert put.status_code == 200 and put.json() == {"errors": [], "data": [{"rid": light, "rtype": "light"}]}
        v1 = requests.get(f"{server.url}/api/{KEY}/lights/1", verify=str(pem), timeout=TIMEOUT).json()
        assert v1["state"]["effect"] == "colorloop"


def test_a_seed_sets_each_lights_v2_traits_and_bad_ones_fail_at_start() -> None:
    seed = {
        "lights": {
            "1": {"name": "Shelf", "type": "Extended color light", "effects": ["candle"], "effects_v2": False},
            "2": {"name": "Hall", "type": "Dimmable light", "powerup": "last_on_state"},
        },
        "groups": {"1": {"name": "Corner", "type": "Zone", "lights": ["1", "2"]}},
    }
    client = V2(SimulatedBridge(config=seed, app_key=KEY))
    shelf, hall = client.v2_light("1"), client.v2_light("2")
    assert shelf["effects"]["effect_values"] == ["no_effect", "candle"] and "effects_v2" not in shelf
    assert hall["powerup"]["preset"] == "last_on_state" and client.data("resource/room") == []
    client.put(f"resource/light/{client.light_id('2')}", {"on": {"on": False}})
    client.bridge.power_cycle("2")
    assert client.bridge.light("2")["on"] is True  # last_on_state: back on
    for light in ({"powerup": "sometimes"}, {"effects": "prism"}):
        with pytest.raises(ValueError, match="light 1"):
            SimulatedBridge(config={"lights": {"1": light}})
