"""Settings from the environment: defaults, validation, and the one-line failure at start.

A function process that stops at start: tests/integration/test_functions_live.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from huelights.config import Target, load_settings, parse_bridge_url, parse_target
from huelights.errors import ConfigError

BASE = {"HUE_BRIDGE": "192.168.1.2", "HUE_APP_KEY": "abcdefghijklmnop"}


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        # A bare address is https: plain http only when written (the round bridge).
        ("192.168.1.2", "https://192.168.1.2"),
        ("hue.lan:8080", "https://hue.lan:8080"),
        ("http://192.168.1.2", "http://192.168.1.2"),
        ("https://192.168.1.2/", "https://192.168.1.2"),
        ("http://[fd00::2]:80", "http://[fd00::2]:80"),
    ],
)
def test_bridge_address_forms(raw: str, url: str) -> None:
    assert parse_bridge_url(raw) == url


@pytest.mark.parametrize(
    "raw",
    ["ftp://hue", "http://", "hue:notaport", "http://hue/api/key", "http://user@hue", "a b", "a_b", "a..b", "-hue"],
)
def test_bad_bridge_addresses_name_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^HUE_BRIDGE: "):
        parse_bridge_url(raw)


@pytest.mark.parametrize(
    ("raw", "target"),
    [
        ("all", Target("all")),
        ("ALL", Target("all")),
        ("group:Living room", Target("group", group="Living room")),
        ("group:3", Target("group", group="3")),
        ("lights:1, Desk lamp ,7", Target("lights", lights=("1", "Desk lamp", "7"))),
    ],
)
def test_target_forms(raw: str, target: Target) -> None:
    assert parse_target(raw) == target


@pytest.mark.parametrize("raw", ["room:1", "group:", "lights:", "lights:1,,2", "lights:1,1", "everything"])
def test_bad_targets_name_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^HUE_TARGET: "):
        parse_target(raw)


def test_defaults() -> None:
    settings = load_settings(BASE)
    assert settings.target == Target("all")
    assert settings.trigger_token is None
    assert 0 < settings.budget_seconds < 60, "the budget must fit inside Knative's request timeout"
    assert settings.connect_timeout > 0 and settings.read_timeout > 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUE_APP_KEY", ""),
        ("HUE_APP_KEY", "has a space"),
        ("HUE_APP_KEY", "key?x=1"),
        ("HUE_APP_KEY", "key#frag"),
        ("HUE_BUDGET_SECONDS", "soon"),
        ("HUE_BUDGET_SECONDS", "0"),
        ("HUE_READ_TIMEOUT", "-1"),
        ("HUE_MAX_ATTEMPTS", "2.5"),
        ("TRIGGER_TOKEN", "short"),
        ("HUE_CA_BUNDLE", "/nonexistent/ca.pem"),
        ("HUE_BRIDGE_ID", "not-an-id"),
        ("MAX_BODY_BYTES", "12"),
        ("HUE_API", "v3"),
        ("HUE_API", "clip"),
        ("HUE_COLORLOOP_SAT", "255"),
        ("HUE_COLORLOOP_SAT", "200.5"),
        ("HUE_COLORLOOP_SAT", "full"),
    ],
)
def test_each_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings({**BASE, "HUE_BRIDGE": "https://192.168.1.2", name: value})


def test_api_and_colorloop_saturation() -> None:
    https = {**BASE, "HUE_BRIDGE": "https://192.168.1.2"}
    assert (load_settings(https).api, load_settings(https).colorloop_saturation) == ("auto", 254)
    assert load_settings({**https, "HUE_API": " V2 "}).api == "v2"
    assert load_settings({**BASE, "HUE_API": "v1", "HUE_COLORLOOP_SAT": "0"}).colorloop_saturation == 0
    # The round bridge speaks plain HTTP, and CLIP v2 is HTTPS only: auto stays on v1 there (no error).
    plain = {**BASE, "HUE_BRIDGE": "http://192.168.1.2"}
    assert load_settings(plain).api == "auto"
    with pytest.raises(ConfigError, match=r"^HUE_API: v2 needs an https:// HUE_BRIDGE"):
        load_settings({**plain, "HUE_API": "v2"})
    assert load_settings({**BASE, "HUE_API": "v2"}).api == "v2", "a bare address means https"


def test_the_budget_must_fit_inside_the_frameworks_request_timeout() -> None:
    assert load_settings({**BASE, "CLOUD_RUN_TIMEOUT_SECONDS": "30"}).budget_seconds == 25
    with pytest.raises(ConfigError, match=r"^HUE_BUDGET_SECONDS: .*CLOUD_RUN_TIMEOUT_SECONDS \(30 s\)"):
        load_settings({**BASE, "CLOUD_RUN_TIMEOUT_SECONDS": "30", "HUE_BUDGET_SECONDS": "28"})


def test_secrets_are_not_in_the_settings_repr() -> None:
    settings = load_settings({**BASE, "TRIGGER_TOKEN": "token-token-token-token"})
    assert "abcdefghijklmnop" not in repr(settings)
    assert "token-token" not in repr(settings)


def test_a_ca_bundle_must_hold_a_pem_certificate(tmp_path: Path) -> None:
    der = tmp_path / "bridge.der"
    der.write_bytes(b"0\x82\x01\x0a not PEM")
    with pytest.raises(ConfigError, match=r"^HUE_CA_BUNDLE: .*holds no PEM certificate"):
        load_settings({**BASE, "HUE_CA_BUNDLE": str(der)})
    pem = tmp_path / "bridge.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    assert load_settings({**BASE, "HUE_CA_BUNDLE": str(pem)}).ca_bundle == str(pem)
