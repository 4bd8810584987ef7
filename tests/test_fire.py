"""`make fire` (python -m devstack.stack.fire) finds the stack where `make run` put it and names it, or fires
at nothing: the HTTP edge with `responses`; tests/integration/test_local_stack_security.py fires at a
running stack moved by DEVSTACK_PORT_OFFSET."""

from __future__ import annotations

import json

import pytest
import responses

from devstack.stack import fire

DELIVERY = {
    "source": "colorloop",
    "event_id": "0b7c1e4e-0000-4000-8000-000000000001",
    "status": 200,
    "error": None,
    "attempts": 1,
    "ok": True,
    "response": json.dumps({"result": "ok"}),
}
STATUS = {"clock": {}, "sources": {"colorloop": {}}, "stack": {"folder": "/home/me/huelights", "pid": 4242}}


@responses.activate
def test_it_follows_the_port_offset_and_names_the_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEVSTACK_PORT_OFFSET", "100")
    responses.get("http://127.0.0.1:8190/status", json=STATUS)
    fired = responses.post("http://127.0.0.1:8190/fire/colorloop", json=DELIVERY)
    assert fire.main(["colorloop"]) == 0
    assert fired.call_count == 1
    first, answer = capsys.readouterr().out.split("\n", 1)
    assert first == (
        "colorloop: Ce-Id 0b7c1e4e-0000-4000-8000-000000000001 -> 200 after 1 attempt(s), at the local stack of "
        "/home/me/huelights (pid 4242, http://127.0.0.1:8190, port offset 100)"
    )
    assert json.loads(answer) == {"result": "ok"}


@responses.activate
def test_it_fires_at_nothing_that_is_not_a_local_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DEVSTACK_PORT_OFFSET", raising=False)
    responses.get("http://127.0.0.1:8090/status", body="<html>a dev server</html>", content_type="text/html")
    fired = responses.post("http://127.0.0.1:8090/fire/colorloop", json=DELIVERY)
    assert fire.main(["colorloop"]) == 1
    assert fired.call_count == 0
    assert "http://127.0.0.1:8090 answers, but not as a local stack" in capsys.readouterr().err


@responses.activate
def test_no_stack_at_the_offset_says_where_it_looked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEVSTACK_PORT_OFFSET", "300")
    assert fire.main(["colorloop"]) == 1  # nothing registered: responses refuses the connection
    assert capsys.readouterr().err.strip() == (
        "no local stack answers at http://127.0.0.1:8390, port offset 300: start it with `make run`"
    )


def test_a_bad_offset_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEVSTACK_PORT_OFFSET", "ten")
    assert fire.main(["colorloop"]) == 2
    assert capsys.readouterr().err.strip() == "DEVSTACK_PORT_OFFSET must be a whole number of ports, not 'ten'"
