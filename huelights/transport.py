"""HTTP to the bridge, bounded in bytes and in time: one request, or one call with retries and pacing.

Nothing here knows an API version: it sends a method, an absolute path, headers and a JSON body, and
returns the status, headers and the raw bytes (`HttpAnswer.json()` parses them defensively). The CLIP
v1 client (bridge.py) and a CLIP v2 client build on it and keep their body rules to themselves.

Why the bounds are here and not left to requests' timeouts:
- requests' `timeout` bounds each socket read, not the call. A bridge (or anything at its address)
  sending one byte a second, in the headers or in the body, never trips it. A watchdog timer therefore
  shuts the connection's socket down when the invocation's deadline passes; the blocked read returns
  at once and the call ends as BudgetExhausted (transient: 503 + Retry-After).
- requests reads a body whole, whatever it announces. Answers are read in blocks, undecoded, up to
  MAX_RESPONSE_BYTES; a longer one is refused as transient and its connection dropped.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from huelights.errors import (
    BridgeBusy,
    BridgeUnreachable,
    BudgetExhausted,
    PermanentBridgeError,
    TransientBridgeError,
)

if TYPE_CHECKING:
    import requests

Clock = Callable[[], float]
Sleep = Callable[[float], None]
T = TypeVar("T")

MAX_RESPONSE_BYTES = 1024 * 1024
"""1 MiB. A v1 `/lights` of a full bridge (50 lights) is about 60 KB and a v2 `/resource` of a large home
a few hundred KB; a longer answer is not a bridge's. Parsing 1 MiB of the most wasteful JSON (`[[],[],...]`)
costs about 25 MB, which keeps a function well inside its 192 Mi limit."""
READ_BLOCK_BYTES = 64 * 1024

# Backoff between attempts of one call: 0.25 s, 0.5 s, 1 s, ... capped, each scaled by a random factor
# in [0.5, 1) so that three functions retrying against one bridge do not stay in lockstep.
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 4.0


class Deadline:
    """The end of an invocation's time budget, on a monotonic clock."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._expires_at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._expires_at - self._clock())


class Pacer:
    """Keeps commands of one kind at least `interval` seconds apart, across threads.

    Each caller reserves the next free slot under the lock and sleeps outside it, so the spacing holds
    even when a retried PingSource tick and an external call overlap in one process.
    """

    def __init__(self, interval: float, clock: Clock, sleep: Sleep) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def wait_for_slot(self, deadline: Deadline) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            if slot - now >= deadline.remaining():
                raise BudgetExhausted("time budget spent waiting for the bridge's rate limit")
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


@dataclass(frozen=True)
class HttpAnswer:
    """One complete answer: status, headers (case-insensitive) and at most MAX_RESPONSE_BYTES of body."""

    what: str
    """`METHOD /path` without the key, for messages."""
    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """The body as JSON; BridgeBusy (transient) naming what is wrong with it otherwise."""
        if not self.content.strip():
            raise BridgeBusy(f"{self.what}: the bridge answered HTTP {self.status} with an empty body")
        try:
            return json.loads(self.content)
        except RecursionError:
            raise BridgeBusy(f"{self.what}: the bridge's answer is nested too deeply to be a bridge's") from None
        except ValueError:
            # Overloaded bridges answer with their web server's HTML error page, even at 200.
            raise BridgeBusy(f"{self.what}: the bridge answered with a body that is not JSON") from None


class _CallWatch:
    """Shuts the socket of one call's connection down when the call's deadline passes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: Any = None
        self.expired = False
        self.finished = False

    def attach(self, connection: Any) -> None:
        with self._lock:
            self._connection = connection
            if self.expired:
                self._shut()

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            if not self.finished and not self._shut():
                # Still connecting (bounded by the connect timeout): look again shortly.
                retry = threading.Timer(0.05, self.expire)
                retry.daemon = True
                retry.start()

    def finish(self) -> None:
        with self._lock:
            self.finished = True

    def _shut(self) -> bool:
        sock = getattr(self._connection, "sock", None)
        if sock is None:
            return False
        with contextlib.suppress(OSError):  # already closed: nothing left to interrupt
            sock.shutdown(socket.SHUT_RDWR)
        return True


_current = threading.local()


class _WatchedPoolMixin:
    """Hands the connection a call takes from the pool to that call's watch (same thread)."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        watch: _CallWatch | None = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(connection)
        return connection


@functools.cache
def _watched_pool_classes() -> dict[str, type]:
    """urllib3's pools with the watch mixed in; built at the first session, as urllib3 is loaded then (see
    `Transport.session`), not when a function imports this module."""
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTPConnectionPool(_WatchedPoolMixin, HTTPConnectionPool):
        pass

    class WatchedHTTPSConnectionPool(_WatchedPoolMixin, HTTPSConnectionPool):
        pass

    return {"http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}


def watch_connections(session: requests.Session) -> None:
    """Make every adapter of the session build pools whose connections a deadline can interrupt."""
    from requests.adapters import HTTPAdapter

    for adapter in session.adapters.values():
        if isinstance(adapter, HTTPAdapter):
            adapter.poolmanager.pool_classes_by_scheme = dict(_watched_pool_classes())


class Transport:
    """HTTP to one bridge with a shared session; `send` is one attempt, `call` adds retries and pacing."""

    def __init__(
        self,
        base_url: str,
        session_factory: Callable[[], requests.Session],
        *,
        redact: Callable[[str], str],
        connect_timeout: float,
        read_timeout: float,
        max_attempts: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        jitter: Callable[[], float] = random.random,
        log: logging.Logger | None = None,
    ) -> None:
        self.base_url = base_url
        self._session_factory = session_factory
        self._session: requests.Session | None = None
        self.redact = redact
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self.log = log or logging.getLogger("huelights.transport")
        self._count_lock = threading.Lock()
        self.requests_sent = 0

    @property
    def session(self) -> requests.Session:
        """Created on first use, not at import: functions-framework imports the function before gunicorn
        forks, and requests (with urllib3) would then start, and sit in memory, in both processes."""
        if self._session is None:
            session = self._session_factory()
            watch_connections(session)
            self._session = session
        return self._session

    def call(self, attempt: Callable[[], T], deadline: Deadline, pacer: Pacer | None = None) -> T:
        """Run `attempt` (a `send` plus the caller's reading of the answer) with bounded retries.

        Transient errors are retried with jittered exponential backoff while attempts and budget last;
        permanent ones go straight through.
        """
        attempts = self.max_attempts
        last_error: TransientBridgeError | None = None
        for number in range(1, attempts + 1):
            try:
                if pacer is not None:
                    pacer.wait_for_slot(deadline)
                return attempt()
            except BudgetExhausted as error:
                if last_error is None:
                    raise
                # Report what kept failing, not merely that time ran out.
                raise type(last_error)(f"{last_error} ({error}, after {number - 1} attempt(s))") from None
            except TransientBridgeError as error:
                if number == attempts:
                    raise type(error)(f"{error} (gave up after {attempts} attempts)") from None
                last_error = error
                delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (number - 1))
                delay *= 0.5 + self._jitter() / 2
                if delay >= deadline.remaining():
                    raise type(error)(f"{error} (time budget spent after {number} attempts)") from None
                self.log.warning("%s; retry %d/%d in %.2fs", error, number, attempts, delay)
                self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def send(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        what: str | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> HttpAnswer:
        """One request to `base_url + path`, finished (headers and body) before the deadline.

        `what` names the request in messages (default `METHOD path`, redacted). Raises BridgeUnreachable
        (connection trouble), BridgeBusy (answer too long), BudgetExhausted (deadline) or
        PermanentBridgeError (TLS verification failed, unusable URL). Redirects are not followed.
        """
        import requests  # loaded by the first call (see `session`); a dictionary lookup after that
        import urllib3.exceptions

        what = what or self.redact(f"{method} {path}")
        remaining = deadline.remaining()
        if remaining <= 0:
            raise BudgetExhausted(f"time budget spent before {what}")
        timeout = (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))
        with self._count_lock:
            self.requests_sent += 1
        watch = _CallWatch()
        timer = threading.Timer(remaining, watch.expire)
        timer.daemon = True
        _current.watch = watch
        timer.start()
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                json=json_body,
                headers={"Accept-Encoding": "identity", **(headers or {})},
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            try:
                content = self._read(response, what, max_bytes, watch)
            except BaseException:
                response.close()  # drops the connection: the rest of the answer is never read
                raise
            response.raw.release_conn()  # read to the end: the connection can be reused
        except requests.exceptions.SSLError as error:
            if watch.expired:
                raise BudgetExhausted(f"{what}: no complete answer within the time budget") from None
            from huelights.tls import failure_message

            raise PermanentBridgeError(self.redact(failure_message(error))) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as error:
            raise PermanentBridgeError(f"HUE_BRIDGE does not make a valid URL ({type(error).__name__})") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
            # urllib3's own errors come from reading `response.raw`, which requests does not translate.
            if watch.expired:
                raise BudgetExhausted(f"{what}: no complete answer within the time budget ({remaining:.1f}s)") from None
            if isinstance(error, requests.Timeout | urllib3.exceptions.TimeoutError):
                raise BridgeUnreachable(f"{what}: no answer within {timeout[1]:.1f}s") from None
            if isinstance(error, requests.ConnectionError):
                reason = _reason(error)
                if reason == "connection refused" and self.base_url.startswith("https://"):
                    # Since https became the default, a round first-generation bridge (http only) lands here.
                    reason += "; a round first-generation bridge has no https: write HUE_BRIDGE=http://<address>"
                raise BridgeUnreachable(f"{what}: cannot reach the bridge ({reason})") from None
            # E.g. ChunkedEncodingError: the connection broke in the middle of the answer, as an overloaded
            # bridge's does; or an answer http.client could not parse. Worth another attempt.
            raise BridgeUnreachable(f"{what}: the answer broke off ({type(error).__name__})") from None
        finally:
            timer.cancel()
            watch.finish()
            _current.watch = None
        if watch.expired:
            raise BudgetExhausted(f"{what}: no complete answer within the time budget ({remaining:.1f}s)")
        return HttpAnswer(what, response.status_code, response.headers, content)

    @staticmethod
    def _read(response: requests.Response, what: str, max_bytes: int, watch: _CallWatch) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > max_bytes:
            raise BridgeBusy(f"{what}: the bridge announced {int(declared)} bytes, more than the {max_bytes} accepted")
        body = bytearray()
        while True:
            # Undecoded: the request asks for identity, and a compressed answer must not grow past the cap.
            block = response.raw.read(READ_BLOCK_BYTES, decode_content=False)
            if not block:
                return bytes(body)
            body += block
            if len(body) > max_bytes:
                raise BridgeBusy(f"{what}: the bridge's answer is longer than the {max_bytes} bytes accepted")
            if watch.expired:
                raise BudgetExhausted(f"{what}: no complete answer within the time budget")


def _reason(error: Exception) -> str:
    """A short cause for a connection error, without the URL (which carries the key)."""
    cause: BaseException | None = error
    while cause is not None and cause.__context__ is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, ConnectionResetError):
        return "connection reset"
    text = str(error)
    for marker in ("Connection refused", "Connection reset", "Name or service not known", "No route to host"):
        if marker in text:
            return marker.lower()
    return type(error).__name__
