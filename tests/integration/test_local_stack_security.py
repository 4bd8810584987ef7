"""The running local stack (python -m devstack) against what a foreign web page, another local user and a
hostile client send.

A browser lets any page send a no-cors POST (Content-Type text/plain, with an Origin header) or a form
to 127.0.0.1, and a page on a DNS name rebound to 127.0.0.1 sends its own Host; every user of the machine
can connect to 127.0.0.1. None of these may switch a light, a fault or a PingSource; curl-style requests
(no Origin) of the user who started the stack keep working, and the simulator's bridge API answers as a
bridge does. The guards and the gateway answer bytes outside ASCII with a JSON 400; the gateway refuses
ambiguous framing and oversized bodies without reading them, at bounded memory.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from devstack.processes import group_memory_kib
from devstack.stack.simulated import SIM_APP_KEY
from devstack.upstream import MAX_BODY_BYTES
from tests.support.hostile_client import send_request
from tests.support.local_stack import TIMEOUT, Stack, run_stack
from tests.support.servers import PYTHON, REPO

pytestmark = pytest.mark.integration

TOKEN = "security-test-token-0123456789"
EVIL = "https://evil.example"
TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}
HUGE = 300 * 1024 * 1024  # the body size of the attack in issue 12


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with run_stack(tmp_path_factory.mktemp("stack") / "stack.log", TOKEN) as running:
        yield running


def bridge_counts(stack: Stack) -> dict[str, Any]:
    counts: dict[str, Any] = requests.get(f"{stack.url('bridge')}/_sim/counts", timeout=TIMEOUT).json()
    return counts


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


# ----- function ports ---------------------------------------------------------------------------------------
def test_a_foreign_page_cannot_switch_the_lights_through_a_function_port(stack: Stack) -> None:
    before = bridge_counts(stack)
    url = stack.url("lights-off") + "/"
    no_cors = requests.post(url, headers={**TEXT, "Origin": EVIL}, data="{}", timeout=TIMEOUT)
    assert no_cors.status_code == 403 and "evil.example" in no_cors.json()["error"]
    # A page's form, or a fetch from a page that hides its origin ("null"), or one on another local port.
    for headers in ({"Origin": "null", **TEXT}, {"Origin": "http://localhost:3000", **JSON}):
        assert requests.post(url, headers=headers, data="{}", timeout=TIMEOUT).status_code == 403
    form = requests.post(url, data={"a": "b"}, timeout=TIMEOUT)  # no Origin (an old browser): its type
    assert form.status_code == 415
    rebound = requests.post(url, headers={**JSON, "Host": f"evil.example:{port_of(url)}"}, data="{}", timeout=TIMEOUT)
    assert rebound.status_code == 403
    assert bridge_counts(stack) == before  # the function was never reached
    lights = stack.lights().values()
    assert lights, "the simulator has no lights: the checks below would prove nothing"
    assert all(state["on"] for state in lights)

    # What a terminal sends still works: curl with JSON, func invoke's CloudEvent, the probes.
    assert requests.get(stack.url("lights-off") + "/health/readiness", timeout=TIMEOUT).status_code == 200
    answer = requests.post(url, headers=JSON, data="{}", timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    lights = stack.lights().values()
    assert lights and not any(state["on"] for state in lights)
    event = {**JSON, "Ce-Id": "guard-1", "Ce-Source": "/test", "Ce-Type": "boson.fn", "Ce-Specversion": "1.0"}
    assert requests.post(stack.url("lights-on") + "/", headers=event, data="{}", timeout=TIMEOUT).status_code == 200


def _listening_tcp_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pgid: int) -> set[str]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        found |= {m.group(1) for link in links if (m := re.fullmatch(r"socket:\[(\d+)\]", link))}
    return found


def test_the_functions_listen_on_no_tcp_port(stack: Stack) -> None:
    """Only the guards are on TCP: a page cannot find a function's own port by scanning."""
    listening = _listening_tcp_inodes()
    assert listening, "no TCP socket listens at all: the guards' ports are not in /proc/net/tcp"
    processes = stack.status()["processes"]
    assert processes, "the stack reports no function process"
    for service, process in processes.items():
        assert process["alive"], service
        sockets = _socket_inodes(process["pid"])
        assert sockets, f"no socket found for {service}'s process group: the check would pass unseen"
        assert not sockets & listening, f"{service} listens on TCP"


# ----- simulated bridge ---------------------------------------------------------------------------------------
def test_the_simulator_admin_api_refuses_foreign_pages(stack: Stack) -> None:
    bridge = stack.url("bridge")
    outage = {"mode": "503", "seconds": 30}
    assert (
        requests.post(f"{bridge}/_sim/outage", headers={"Origin": EVIL}, json=outage, timeout=TIMEOUT).status_code
        == 403
    )
    rebound = {"Host": f"rebind.evil.example:{port_of(bridge)}"}
    assert requests.post(f"{bridge}/_sim/outage", headers=rebound, json=outage, timeout=TIMEOUT).status_code == 403
    assert requests.get(f"{bridge}/_sim/state", headers=rebound, timeout=TIMEOUT).status_code == 403
    as_text = requests.post(f"{bridge}/_sim/outage", headers=TEXT, data='{"mode": "503"}', timeout=TIMEOUT)
    assert as_text.status_code == 415
    # Nor may a page press the link button, so that it could pair.
    press = requests.post(f"{bridge}/_sim/linkbutton", headers={"Origin": EVIL}, json={}, timeout=TIMEOUT)
    assert press.status_code == 403
    assert stack.status()["bridge"]["faults"]["outage"] is None
    # From a terminal everything still works.
    stack.sim("linkbutton", {})
    created = requests.post(f"{bridge}/api", json={"devicetype": "cli#test"}, timeout=TIMEOUT).json()
    assert "username" in created[0]["success"]


def test_the_simulators_bridge_api_answers_curl_d_over_working_tls(stack: Stack) -> None:
    """`curl -k -X PUT -d ...` (a form's Content-Type, as Hue tutorials send it): a bridge takes it, and so
    does the simulator; what it does refuse over HTTPS (its admin API) goes out over working TLS too."""
    api = f"{stack.url('bridge-https')}/api/{SIM_APP_KEY}"
    off = _curl("-k", "-X", "PUT", "-d", '{"on":false}', f"{api}/groups/0/action")
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout) == [{"success": {"/groups/0/action/on": False}}]
    assert not any(state["on"] for state in stack.lights().values())
    refused = _curl("-k", "-X", "POST", "-d", '{"mode":"503"}', f"{stack.url('bridge-https')}/_sim/outage")
    assert refused.returncode == 0, refused.stderr  # not "SSL routines::wrong version number"
    assert "send JSON" in json.loads(refused.stdout)["error"]
    assert stack.status()["bridge"]["faults"]["outage"] is None
    stack.sim("reset", {})  # every light on again, for the tests after this one


def _curl(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    command = ["curl", "-sS", "--max-time", str(TIMEOUT), *args]
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT + 10, check=False)


# ----- control API and dashboard ------------------------------------------------------------------------------
def test_fire_and_the_dashboard_answer_only_the_dashboards_own_page(stack: Stack) -> None:
    control = stack.url("control")
    port = port_of(control)
    fired_before = len(stack.status()["deliveries"])
    for origin in (EVIL, "http://localhost:5173", f"http://127.0.0.1:{port + 1}", "null"):
        refused = requests.post(f"{control}/fire/colorloop", headers={"Origin": origin}, timeout=TIMEOUT)
        assert refused.status_code == 403, origin
    form = requests.post(f"{control}/fire/colorloop", data={"x": "y"}, timeout=TIMEOUT)
    assert form.status_code == 415
    rebound = {"Host": f"evil.example:{port}"}
    assert requests.post(f"{control}/fire/colorloop", headers=rebound, timeout=TIMEOUT).status_code == 403
    assert requests.get(f"{control}/", headers=rebound, timeout=TIMEOUT).status_code == 403
    assert requests.get(f"{control}/api/state", headers=rebound, timeout=TIMEOUT).status_code == 403
    sim = f"{control}/api/sim/outage"
    other_port = {"Origin": f"http://localhost:{port + 1}"}
    assert requests.post(sim, headers=other_port, json={"mode": "503"}, timeout=TIMEOUT).status_code == 403
    assert requests.post(sim, headers=TEXT, data='{"mode": "503"}', timeout=TIMEOUT).status_code == 415
    assert len(stack.status()["deliveries"]) == fired_before
    assert stack.status()["bridge"]["faults"]["outage"] is None

    # The dashboard's own page, under any loopback name, and the fire CLI.
    for name in ("127.0.0.1", "localhost", "[::1]"):
        own = {"Origin": f"http://{name}:{port}"}
        assert requests.post(sim, headers=own, json={"mode": "none"}, timeout=TIMEOUT).status_code == 200
    assert stack.fire("colorloop").returncode == 0


# ----- gateway: framing and body size ---------------------------------------------------------------------------
class RawClient:
    """One raw HTTP/1.1 exchange; the answer is read while the body is still being sent, as a server
    that refuses early answers before the client has finished."""

    def __init__(self, url: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port_of(url)), timeout=TIMEOUT)
        self.answer = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while piece := self.sock.recv(65536):
                self.answer += piece
        except OSError:
            pass

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
        except OSError:  # the server closed the connection on us: what a refusal does
            return False
        return True

    def status(self) -> int:
        self._reader.join(TIMEOUT)
        self.sock.close()
        match = re.match(rb"HTTP/1\.[01] (\d{3})", self.answer)
        assert match, self.answer[:200]
        return int(match.group(1))


def request_head(stack: Stack, extra: str) -> bytes:
    return (
        f"POST /colorloop HTTP/1.1\r\nHost: colorloop.lab\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


def gateway_peak_mib(stack: Stack) -> float:
    # The gateway is a thread of the stack's process; the functions have process groups of their own.
    return group_memory_kib(stack.proc.pid)["peak_rss"] / 1024


def test_the_gateway_refuses_content_length_with_transfer_encoding(stack: Stack) -> None:
    before = bridge_counts(stack)
    client = RawClient(stack.url("gateway"))
    started = time.monotonic()
    client.send(request_head(stack, "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + b"0\r\n\r\n")
    assert client.status() == 400
    assert time.monotonic() - started < 10  # answered at once, not after the function's 70 s timeout
    assert bridge_counts(stack) == before


def test_a_huge_declared_body_is_refused_unread(stack: Stack) -> None:
    peak = gateway_peak_mib(stack)
    client = RawClient(stack.url("gateway"))
    client.send(request_head(stack, f"Content-Length: {HUGE}\r\n"))
    sent = 0
    block = b"x" * (1024 * 1024)
    while sent < HUGE and client.send(block):
        sent += len(block)
    assert client.status() == 413
    grown = gateway_peak_mib(stack) - peak
    print(f"declared {HUGE >> 20} MiB body: sent {sent >> 20} MiB before the close, gateway peak +{grown:.1f} MiB")
    assert grown < 8 * MAX_BODY_BYTES / 2**20


def test_a_huge_chunked_body_is_cut_at_the_cap(stack: Stack) -> None:
    peak = gateway_peak_mib(stack)
    client = RawClient(stack.url("gateway"))
    client.send(request_head(stack, "Transfer-Encoding: chunked\r\n"))
    block = b"x" * (1024 * 1024)
    chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
    sent = 0
    while sent < HUGE and client.send(chunk):
        sent += len(block)
    assert client.status() == 413
    grown = gateway_peak_mib(stack) - peak
    print(f"chunked {HUGE >> 20} MiB body: sent {sent >> 20} MiB before the close, gateway peak +{grown:.1f} MiB")
    assert sent < HUGE  # the gateway stopped reading, rather than swallowing it all
    assert grown < 8 * MAX_BODY_BYTES / 2**20
    # And the next ordinary request is served.
    normal = requests.post(
        stack.url("gateway") + "/colorloop",
        headers={"Host": "colorloop.lab", "Authorization": f"Bearer {TOKEN}"},
        timeout=TIMEOUT,
    )
    assert normal.status_code == 200, normal.text


# ----- other users of this machine -------------------------------------------------------------------------------
OTHER_USER = "nobody"


def _as_other_user_possible() -> str | None:
    if os.geteuid() != 0:
        return "switching to another user needs root (the tests run as root in CI)"
    if shutil.which("runuser") is None or shutil.which("curl") is None:
        return "needs runuser and curl"
    return None


@pytest.mark.skipif(_as_other_user_possible() is not None, reason=str(_as_other_user_possible()))
def test_another_local_user_can_neither_call_a_function_nor_fire(stack: Stack) -> None:
    before, fired_before = bridge_counts(stack), len(stack.status()["deliveries"])
    function = stack.url("lights-off")
    mapped = function.replace("127.0.0.1", "[::ffff:127.0.0.1]")  # 127.0.0.1 from an IPv6 socket
    for url in (f"{function}/", f"{mapped}/"):
        answer = _curl(
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            "{}",
            "-w",
            "\n%{http_code}",
            url,
            user=OTHER_USER,
        )
        body, _, status = answer.stdout.rpartition("\n")
        assert status == "403", answer
        assert f"not uid {pwd.getpwnam(OTHER_USER).pw_uid}" in json.loads(body)["error"]
    fire = _curl("-X", "POST", "-w", "\n%{http_code}", f"{stack.url('control')}/fire/lights-off", user=OTHER_USER)
    assert fire.stdout.rpartition("\n")[2] == "403", fire
    assert bridge_counts(stack) == before
    assert len(stack.status()["deliveries"]) == fired_before
    assert all(state["on"] for state in stack.lights().values())
    # This user still can (the tests' own requests above pass the same check).
    assert _curl("-X", "POST", "-H", "Content-Type: application/json", "-d", "{}", f"{function}/").returncode == 0
    assert not any(state["on"] for state in stack.lights().values())
    stack.sim("reset", {})


# ----- bytes outside ASCII, and one dashboard row per request ---------------------------------------------------
def test_bytes_outside_ascii_get_a_json_400_from_the_guard_and_the_gateway(stack: Stack) -> None:
    """A raw byte 0xff (send_request puts "\xff" on the wire as is) in the path, the query or a header."""
    guarded = "Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
    routed = f"Host: colorloop.lab\r\nAuthorization: Bearer {TOKEN}\r\n"
    heads = [
        (stack.url("lights-on"), f"POST /\xff HTTP/1.1\r\n{guarded}"),
        (stack.url("lights-on"), f"POST /?a=\xff HTTP/1.1\r\n{guarded}"),
        (stack.url("lights-on"), f"POST / HTTP/1.1\r\n{guarded}X-Note: \xff\r\n"),
        (stack.url("gateway"), f"POST /colorloop/\xff HTTP/1.1\r\n{routed}"),
        (stack.url("gateway"), f"POST /colorloop?a=\xff HTTP/1.1\r\n{routed}"),
        (stack.url("gateway"), f"POST /colorloop HTTP/1.1\r\n{routed}X-Note: \xff\r\n"),
    ]
    before = bridge_counts(stack)
    for url, head in heads:
        answer = send_request(url, head + "Content-Length: 0\r\n")
        assert answer.status == 400, (url, head, answer.body)
        assert "outside ASCII" in json.loads(answer.body)["error"]
    assert bridge_counts(stack) == before
    assert "Traceback" not in stack.log.read_text()


def test_what_the_guard_refuses_is_a_row_of_recent_invocations(stack: Stack) -> None:
    refused = requests.post(stack.url("colorloop") + "/", headers={**TEXT, "Origin": EVIL}, data="{}", timeout=TIMEOUT)
    assert refused.status_code == 403
    rows = requests.get(f"{stack.url('control')}/api/state", timeout=TIMEOUT).json()["invocations"]
    assert rows, "no invocation rows at all"
    newest = rows[0]
    assert (newest["service"], newest["trigger"], newest["status"]) == ("colorloop", "rejected", 403)
    assert "evil.example" in newest["message"] and newest["message"].endswith("(local stack guard)")


# ----- make fire --------------------------------------------------------------------------------------------------
def test_make_fire_follows_the_port_offset_and_names_the_stack(stack: Stack) -> None:
    env = {**os.environ, "DEVSTACK_PORT_OFFSET": str(stack.offset)}
    result = subprocess.run(
        [PYTHON, "-m", "devstack.stack.fire", "lights-on"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("lights-on: Ce-Id ") and " -> 200 after 1 attempt(s), " in first
    where = f"{stack.url('control')}, port offset {stack.offset}"
    assert first.endswith(f", at the local stack of {REPO} (pid {stack.proc.pid}, {where})")
