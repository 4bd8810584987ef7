"""RunLedger: read a function's runs with one GET; append a run and post its Event; never raise."""

from __future__ import annotations

import datetime
import json
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from huelights.ledger.api import KubeApi, LedgerProblem, LedgerSettings, read_line, refusal
from huelights.ledger.records import LedgerView, RunRecord, decode_runs, encode_runs, event_message, event_reason
from huelights.transport import Deadline, HttpAnswer

COMPONENT = "huelights"
# A write refused with 409 (someone wrote since the GET) is re-read and retried: from 10 ms, growing,
# jittered, like client-go's DefaultBackoff; five attempts and the caller's deadline bound it.
CONFLICT_ATTEMPTS = 5
CONFLICT_BACKOFF_SECONDS = 0.01
CONFLICT_BACKOFF_FACTOR = 4

log = logging.getLogger("huelights.ledger")


@dataclass
class WriteResult:
    stored: bool = False
    """The run is in the ConfigMap."""
    event_posted: bool = False
    problems: list[str] = field(default_factory=list)
    """One line per cause of failure, each also logged once as a WARNING."""


class RunLedger:
    """One function's runs in ConfigMap `huelights-runs` and its Events; answers within the caller's deadline."""

    def __init__(
        self,
        settings: LedgerSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        wall_clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.settings = settings
        self.api = KubeApi(settings, clock=clock, sleep=sleep, log=log)
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._wall_clock_ns = wall_clock_ns

    @property
    def requests_sent(self) -> int:
        """API requests sent so far: the ledger's cost."""
        return self.api.requests_sent

    def deadline(self, seconds: float) -> Deadline:
        return Deadline(seconds, self._clock)

    def read(self, deadline: Deadline) -> LedgerView | None:
        """This function's runs (duplicates: `view.succeeded(event_id)`) with one GET; None and one WARNING
        when they cannot be read."""
        try:
            return self._read(self.api.namespace(), deadline)
        except LedgerProblem as problem:
            log.warning("run ledger not read: %s", problem)
        except Exception as error:  # the contract: the ledger never changes a run's answer
            log.warning("run ledger not read: unexpected %s", type(error).__name__)
        return None

    def record(self, run: RunRecord, deadline: Deadline, basis: LedgerView | None = None) -> WriteResult:
        """Append `run` to the ConfigMap and post its Event; one WARNING per cause of failure.

        `basis`, the view read earlier in the same run (for duplicate detection), saves the first GET: the
        patch carries its resourceVersion and is re-read only if someone wrote since.
        """
        result = WriteResult()
        try:
            self._write(run, deadline, basis, result)
        except Exception as error:  # the contract: the ledger never changes a run's answer
            result.problems.append(f"unexpected {type(error).__name__} while writing")
        for message in result.problems:
            log.warning("run ledger: %s", message)
        return result

    def _write(self, run: RunRecord, deadline: Deadline, basis: LedgerView | None, result: WriteResult) -> None:
        try:
            namespace = self.api.namespace()
            self._append(run, namespace, deadline, basis)
            result.stored = True
        except LedgerProblem as problem:
            result.problems.append(f"run not stored: {problem}")
            if not problem.reaches_api:
                return  # the Event would fail for the same cause
        try:
            self._post_event(run, namespace, deadline, result)
        except LedgerProblem as problem:
            result.problems.append(f"Event not posted: {problem}")

    def _append(self, run: RunRecord, namespace: str, deadline: Deadline, basis: LedgerView | None) -> None:
        view = basis
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            if view is None:
                view = self._read(namespace, deadline)
            patch = {
                "metadata": {"resourceVersion": view.resource_version},  # the precondition: 409 if stale
                "data": {self.settings.service: encode_runs((*view.runs, run))},
            }
            answer = self.api.send(
                "PATCH",
                self._configmap_path(namespace),
                deadline,
                body=patch,
                content_type="application/merge-patch+json",
            )
            if answer.status == 200:
                return
            if answer.status != 409:
                raise self._refused(answer, namespace)
            view = None
            delay = CONFLICT_BACKOFF_SECONDS * CONFLICT_BACKOFF_FACTOR ** (attempt - 1) * (0.5 + self._jitter())
            if attempt == CONFLICT_ATTEMPTS or delay >= deadline.remaining():
                raise LedgerProblem(
                    f"ConfigMap {namespace}/{self.settings.configmap} kept changing under the write "
                    f"(409 Conflict, {attempt} attempt(s))"
                )
            self._sleep(delay)

    def _read(self, namespace: str, deadline: Deadline) -> LedgerView:
        answer = self.api.send("GET", self._configmap_path(namespace), deadline)
        if answer.status != 200:
            raise self._refused(answer, namespace)
        try:
            configmap = json.loads(answer.content)
            version = configmap["metadata"]["resourceVersion"]
            value = (configmap.get("data") or {}).get(self.settings.service, "")
            if not isinstance(version, str) or not isinstance(value, str):
                raise TypeError("not text")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise LedgerProblem("the API answered the ConfigMap GET with something that is not a ConfigMap") from None
        return LedgerView(decode_runs(value), version)

    def _post_event(self, run: RunRecord, namespace: str, deadline: Deadline, result: WriteResult) -> None:
        service = self.settings.service
        involved = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": service, "namespace": namespace}
        try:
            involved["uid"] = read_line(self.settings.service_uid_file, "the Knative Service's UID")
        except LedgerProblem as problem:
            result.problems.append(f"Event posted without the UID (kubectl describe ksvc will not show it): {problem}")
        when = run.ended.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            # client-go's naming: the object's name and the time in hex nanoseconds
            "metadata": {"name": f"{service}.{self._wall_clock_ns():x}", "namespace": namespace},
            "involvedObject": involved,
            "type": "Normal" if run.succeeded else "Warning",
            "reason": event_reason(run),
            "message": event_message(run),
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": socket.gethostname(),
            "firstTimestamp": when,
            "lastTimestamp": when,
            "count": 1,
        }
        answer = self.api.send("POST", f"/api/v1/namespaces/{namespace}/events", deadline, body=event)
        if answer.status in (200, 201):
            result.event_posted = True
        else:
            result.problems.append(f"Event not posted: {refusal(answer)}")

    def _refused(self, answer: HttpAnswer, namespace: str) -> LedgerProblem:
        name = f"ConfigMap {namespace}/{self.settings.configmap}"
        if answer.status == 404:
            return LedgerProblem(f"{name} does not exist (404); the manifests ship it empty: apply them")
        return LedgerProblem(f"{name}: {refusal(answer)}")

    def _configmap_path(self, namespace: str) -> str:
        return f"/api/v1/namespaces/{namespace}/configmaps/{self.settings.configmap}"
