"""CLIP v2 answers: `errors` read on every status, 207 as warnings, overload transient, key/id permanent."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from huelights.errors import BridgeBusy, BridgeRejected, ResourceNotFound, Unauthorized
from huelights.v2.envelope import read_answer

PUT = "PUT light/01b1da1b"
RID = {"rid": "01b1da1b-2cb1-eb71-5391-63b5ae1ceb6c", "rtype": "light"}
# The warning a real bridge sends with a 207 for a light without power (openhab-addons#15511).
NO_EFFECT = "device (light) /lights/128 has communication issues, command (.on.on) may not have effect"
HTML_PAGE = "<html><head><title>hue personal wireless lighting</title></head><body>no lighting found</body></html>"


def envelope(data: Sequence[object] = (), errors: Sequence[str] = ()) -> str:
    return json.dumps({"errors": [{"description": text} for text in errors], "data": list(data)})


def test_ok_answer_gives_its_data_without_warnings() -> None:
    answer = read_answer(200, envelope([RID]), PUT)
    assert answer.data == (RID,)
    assert answer.warnings == ()
    assert answer.status == 200


def test_the_body_is_read_as_utf8_bytes() -> None:
    named = {"id": "r1", "type": "room", "metadata": {"name": "Küche"}}
    answer = read_answer(200, json.dumps({"errors": [], "data": [named]}, ensure_ascii=False).encode(), "GET room")
    assert answer.data[0]["metadata"]["name"] == "Küche"


def test_207_is_accepted_with_its_errors_as_warnings_for_the_read_back() -> None:
    answer = read_answer(207, envelope([RID], [NO_EFFECT]), PUT)
    assert answer.data == (RID,)
    assert answer.warnings == (NO_EFFECT,)


def test_errors_on_a_200_are_warnings_too() -> None:
    assert read_answer(200, envelope([RID], ["soft off, command (.on) may not have effect"]), PUT).warnings


def test_a_success_without_the_errors_key_is_read() -> None:
    # An emulator (diyHue) leaves `errors` out of successful PUT answers; the data is still the answer.
    assert read_answer(200, json.dumps({"data": [RID]}), PUT).data == (RID,)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (HTML_PAGE, "not JSON"),
        ("", "empty"),
        ("[]", "not a JSON object"),
        (json.dumps({"errors": []}), "`data`"),
        (json.dumps({"errors": [], "data": {"rid": "x"}}), "`data`"),
        (json.dumps({"errors": [], "data": ["x"]}), "`data`"),
        (json.dumps({"errors": "oops", "data": []}), "`errors`"),
    ],
)
def test_a_2xx_with_an_unexpected_body_is_transient_and_says_what_was_wrong(body: str, named: str) -> None:
    with pytest.raises(BridgeBusy) as caught:
        read_answer(200, body, PUT)
    assert caught.value.transient
    assert named in str(caught.value)
    assert PUT in str(caught.value)


@pytest.mark.parametrize("status", [429, 500, 503])
@pytest.mark.parametrize("body", [HTML_PAGE, envelope(errors=["internal error"]), ""])
def test_overload_and_bridge_failures_are_transient(status: int, body: str) -> None:
    with pytest.raises(BridgeBusy) as caught:
        read_answer(status, body, PUT)
    assert caught.value.transient
    assert f"HTTP {status}" in str(caught.value)


def test_an_html_error_page_is_quoted_briefly() -> None:
    with pytest.raises(BridgeBusy, match="no lighting found"):
        read_answer(503, HTML_PAGE, PUT)


@pytest.mark.parametrize("status", [401, 403])
def test_a_rejected_key_is_permanent_and_says_to_pair_again(status: int) -> None:
    with pytest.raises(Unauthorized) as caught:
        read_answer(status, envelope(errors=["unauthorized user"]), "GET resource")
    assert not caught.value.transient
    assert "HUE_APP_KEY" in str(caught.value)
    assert "unauthorized user" in str(caught.value)


def test_an_unknown_id_is_permanent_and_names_the_request() -> None:
    with pytest.raises(ResourceNotFound) as caught:
        read_answer(404, envelope(errors=["Not Found"]), PUT)
    assert not caught.value.transient
    assert PUT in str(caught.value)
    assert "Not Found" in str(caught.value)


def test_a_refused_body_is_permanent_with_the_bridges_reason() -> None:
    reason = "invalid value, prism, for property effect"
    with pytest.raises(BridgeRejected, match=reason) as caught:
        read_answer(400, envelope(errors=[reason]), PUT)
    assert not caught.value.transient


def test_an_unexpected_status_is_transient() -> None:
    with pytest.raises(BridgeBusy, match="unexpected status"):
        read_answer(301, "", "GET resource")
