"""Hue light state -> the colour a person would see, for the dashboard.

Colours are computed in Python, not in the browser, so that they are unit-tested: xy with Hue's documented
conversion (closest point in the bulb's gamut, Wide RGB D65, reverse sRGB gamma), ct through the Planckian
locus (Kim et al. 2002) and then the same conversion, hue/sat as HSV; brightness scales linear light by
bri/254 (Hue's Y = brightness). A looping light gets a ring of frames around the hue circle, which the page
cycles through (the bridge's state does not change while a bulb loops): v1 colorloop at the light's own sat
(a bulb left in white loops in white), v2 prism at full saturation (a firmware effect that ignores the
light's colour, deconz-rest-plugin#7950), both at the light's bri.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping
from typing import Any

JsonDict = dict[str, Any]
RGB = tuple[float, float, float]  # sRGB-encoded, each 0..1
Point = tuple[float, float]  # CIE 1931 xy
Gamut = tuple[Point, Point, Point]  # red, green and blue corners
LOOP_FRAMES = 24

# Gamut corners as Hue publishes them: A = LivingColors/Bloom/LightStrips, B = first Hue bulbs, C = current.
GAMUTS: dict[str, Gamut] = {
    "A": ((0.704, 0.296), (0.2151, 0.7106), (0.138, 0.08)),
    "B": ((0.675, 0.322), (0.409, 0.518), (0.167, 0.04)),
    "C": ((0.6915, 0.3083), (0.17, 0.7), (0.1532, 0.0475)),
}
FULL_GAMUT: Gamut = ((1.0, 0.0), (0.0, 1.0), (0.0, 0.0))
WHITE_BULB_MIRED = 370  # Hue White (dimmable only) bulbs are 2700 K
OFF = "#000000"
LOOP_EFFECTS = ("colorloop", "prism")  # v1's colour loop and its v2 successor; other v2 effects are not drawn
FULL_SAT = 254


def _cross(a: Point, b: Point) -> float:
    return a[0] * b[1] - a[1] * b[0]


def in_gamut(xy: Point, gamut: Gamut) -> bool:
    red, green, blue = gamut
    v1 = (green[0] - red[0], green[1] - red[1])
    v2 = (blue[0] - red[0], blue[1] - red[1])
    q = (xy[0] - red[0], xy[1] - red[1])
    s = _cross(q, v2) / _cross(v1, v2)
    t = _cross(v1, q) / _cross(v1, v2)
    return s >= 0 and t >= 0 and s + t <= 1


def _closest_on_segment(a: Point, b: Point, p: Point) -> Point:
    ab = (b[0] - a[0], b[1] - a[1])
    t = ((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / (ab[0] ** 2 + ab[1] ** 2)
    t = min(1.0, max(0.0, t))
    return (a[0] + ab[0] * t, a[1] + ab[1] * t)


def clamp_to_gamut(xy: Point, gamut: Gamut) -> Point:
    """The point itself if the bulb can show it, else the closest point on the gamut triangle's edges."""
    if in_gamut(xy, gamut):
        return xy
    red, green, blue = gamut
    edges = [
        _closest_on_segment(red, green, xy),
        _closest_on_segment(blue, red, xy),
        _closest_on_segment(green, blue, xy),
    ]
    return min(edges, key=lambda point: math.dist(point, xy))


def _encode(linear: float) -> float:
    """Linear light -> sRGB gamma ("reverse gamma correction" in Hue's document)."""
    return 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055


def _decode(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def xy_to_rgb(x: float, y: float, gamut: Gamut = GAMUTS["C"]) -> RGB:
    """Hue's documented xy -> RGB at full brightness (Y = 1): the colour itself; brightness comes after."""
    x, y = clamp_to_gamut((x, y), gamut)
    y = max(y, 1e-6)  # only the full gamut's blue corner has y = 0
    big_y = 1.0
    big_x = big_y / y * x
    big_z = big_y / y * (1 - x - y)
    linear = (
        big_x * 1.656492 - big_y * 0.354851 - big_z * 0.255038,
        -big_x * 0.707196 + big_y * 1.655397 + big_z * 0.036152,
        big_x * 0.051713 - big_y * 0.121364 + big_z * 1.011530,
    )
    encoded = [max(0.0, _encode(c)) for c in linear]
    top = max(encoded)
    if top > 1:  # weight the components by the largest, as Hue's document says
        encoded = [c / top for c in encoded]
    return (encoded[0], encoded[1], encoded[2])


def ct_to_xy(mired: float) -> Point:
    """Chromaticity of a black body at 1e6/mired kelvin (Kim et al. 2002 cubic fit of the Planckian locus)."""
    kelvin = min(25000.0, max(1667.0, 1e6 / max(mired, 1.0)))
    t = kelvin
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return (x, y)


def ct_to_rgb(mired: float) -> RGB:
    """A white of colour temperature `mired` (153-500 on Hue bulbs), at full brightness."""
    return xy_to_rgb(*ct_to_xy(mired), gamut=FULL_GAMUT)


def hs_to_rgb(hue: float, sat: float) -> RGB:
    """Hue's hue (0-65535 around the circle, wrapping) and sat (0-254), at full brightness."""
    r, g, b = colorsys.hsv_to_rgb((hue % 65536) / 65535, min(1.0, max(0.0, sat / 254)), 1.0)
    return (r, g, b)


def at_brightness(rgb: RGB, bri: float) -> RGB:
    """Scale the light itself (linear), not the encoded value: bri 127 is half the light, not half the code."""
    factor = min(254.0, max(1.0, bri)) / 254
    r, g, b = (_encode(_decode(c) * factor) for c in rgb)
    return (r, g, b)


def to_hex(rgb: RGB) -> str:
    return "#" + "".join(f"{round(min(1.0, max(0.0, c)) * 255):02x}" for c in rgb)


def light_kind(light: Mapping[str, Any]) -> str:
    """`color`, `ambiance` (colour temperature only), `white` (dimmable only) or `plug` (on/off only)."""
    state = light.get("state") or {}
    if "xy" in state or "hue" in state:
        return "color"
    if "ct" in state:
        return "ambiance"
    return "white" if "bri" in state else "plug"


def gamut_of(light: Mapping[str, Any]) -> Gamut:
    control = (light.get("capabilities") or {}).get("control") or {}
    corners = control.get("colorgamut")
    if isinstance(corners, list) and len(corners) == 3 and all(isinstance(c, list) and len(c) == 2 for c in corners):
        return ((corners[0][0], corners[0][1]), (corners[1][0], corners[1][1]), (corners[2][0], corners[2][1]))
    return GAMUTS.get(str(control.get("colorgamuttype", "C")), GAMUTS["C"])


def full_colour(light: Mapping[str, Any]) -> tuple[RGB, str]:
    """The light's colour at full brightness, and a short description of where it came from."""
    state = light.get("state") or {}
    kind = light_kind(light)
    mode = state.get("colormode")
    if (kind == "color" and mode == "ct" and "ct" in state) or kind == "ambiance":
        ct = state.get("ct", WHITE_BULB_MIRED)
        return ct_to_rgb(ct), f"ct {ct} ({round(1e6 / ct)} K)"
    if kind == "color" and (mode == "hs" or "xy" not in state):
        return hs_to_rgb(
            state.get("hue", 0), state.get("sat", 0)
        ), f"hue {state.get('hue', 0)} sat {state.get('sat', 0)}"
    if kind == "color":
        x, y = state["xy"]
        return xy_to_rgb(x, y, gamut_of(light)), f"xy {x:.3f}, {y:.3f}"
    return ct_to_rgb(WHITE_BULB_MIRED), "white bulb" if kind == "white" else "on/off"


def running_effect(light: Mapping[str, Any]) -> str:
    """The effect the light is in: the simulator's snapshot names it (`prism`, `colorloop`, `candle`, ...);
    a real bridge read through v1 has only `state.effect`. "none" when there is none."""
    effect = light.get("effect") or (light.get("state") or {}).get("effect") or "none"
    return "none" if effect == "no_effect" else str(effect)


def light_view(light_id: str, light: Mapping[str, Any]) -> JsonDict:
    state = light.get("state") or {}
    on = bool(state.get("on"))
    bri = state.get("bri", 254)
    colour, described = full_colour(light)
    effect = running_effect(light)
    looping = on and effect in LOOP_EFFECTS and light_kind(light) == "color"
    loop = None
    if looping:
        # A looping bulb walks the hue circle starting where it is (module docstring for the saturation).
        start = state.get("hue", 0)
        sat = FULL_SAT if effect == "prism" else state.get("sat", FULL_SAT)
        loop = [to_hex(at_brightness(hs_to_rgb(start + i * 65536 / LOOP_FRAMES, sat), bri)) for i in range(LOOP_FRAMES)]
        described = "prism" if effect == "prism" else f"colorloop, sat {sat}"
    if "bri" in state:
        described += f" · bri {bri}"
    return {
        "id": light_id,
        "name": str(light.get("name", f"Light {light_id}")),
        "type": str(light.get("type", "")),
        "kind": light_kind(light),
        "on": on,
        "reachable": state.get("reachable", True) is not False,
        "bri": bri,
        "effect": effect,
        # The API ("v1" / "v2") of the last command that reached the bulb: the simulator knows it, a real
        # bridge does not say (None).
        "api": light.get("api"),
        "colormode": state.get("colormode"),
        "rgb": to_hex(at_brightness(colour, bri)) if on else OFF,
        "loop": loop,
        "summary": described if on else "off",
    }
