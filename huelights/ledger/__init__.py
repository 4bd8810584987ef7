"""The run ledger: every run of a function recorded in the cluster, where it outlives a scaled-down pod.

Two records per run, written through the Kubernetes API as the pod's own ServiceAccount:

- The ledger proper: ConfigMap `huelights-runs` in the pod's namespace (shipped empty by the manifests), one
  data key per function (its Knative Service name) with that function's last 20 runs (`records` describes
  the encoding). Duplicate detection, catch-up and `status` read it.
- One core/v1 Event per run on the function's Knative Service (kind Service, apiVersion
  serving.knative.dev/v1 and the ksvc's UID, which `kubectl describe ksvc` matches on), type Normal for a
  run that succeeded and Warning otherwise. The API server drops an Event an hour after its last write:
  Events are the recent view, the ConfigMap is the record.

Writes are safe with several pods at once: GET, then a JSON merge patch of this function's key carrying
the GET's `metadata.resourceVersion` (a stale one is refused with 409), re-read and retried a bounded number
of times, all within the caller's deadline. The Role needs only get and patch on this one ConfigMap
(`resourceNames`) and create on events.

Nothing here raises into the caller: a ledger that cannot be read or written is one WARNING line per cause
on logger `huelights.ledger`, with no token in it. requests is loaded by the first call, not at import.

    settings = ledger_settings(os.environ, service="colorloop")   # None outside a cluster
    ledger = RunLedger(settings)
    view = ledger.read(deadline)                  # one GET; None if unreadable
    if view is not None and view.succeeded(event_id): ...         # a duplicate
    ledger.record(run, deadline, basis=view)      # PATCH (+ GET on conflict) and POST the Event
"""

from huelights.ledger.api import LedgerSettings, ledger_settings
from huelights.ledger.records import (
    MAX_RUNS,
    TRIGGER_CATCH_UP,
    TRIGGER_GATEWAY,
    TRIGGER_INVOKE,
    LedgerView,
    LightRun,
    RunRecord,
    decode_runs,
    encode_runs,
    trigger_of,
)
from huelights.ledger.writer import RunLedger, WriteResult

__all__ = [
    "MAX_RUNS",
    "TRIGGER_CATCH_UP",
    "TRIGGER_GATEWAY",
    "TRIGGER_INVOKE",
    "LedgerSettings",
    "LedgerView",
    "LightRun",
    "RunLedger",
    "RunRecord",
    "WriteResult",
    "decode_runs",
    "encode_runs",
    "ledger_settings",
    "trigger_of",
]
