"""One exception tree for the whole library.

The split that matters is transient versus permanent: a transient failure is retried (within a bound)
and reported as 503 so Knative's senders try again; a permanent one is never retried and is reported
as 500 with a message that names the problem. Hue error types map onto these classes in
`error_for_hue_type`, the one place that knows the codes.
"""

from __future__ import annotations


class HueLightsError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigError(HueLightsError):
    """A setting is missing or invalid. The message starts with the variable's name."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class BridgeError(HueLightsError):
    """The bridge did not do what was asked."""

    transient = False


class TransientBridgeError(BridgeError):
    """Worth retrying: the bridge was busy, unreachable or answered garbage."""

    transient = True


class BridgeUnreachable(TransientBridgeError):
    """Connection refused or reset, DNS failure, or a timeout."""


class BridgeBusy(TransientBridgeError):
    """HTTP 429/503/5xx, an HTML error page, an unreadable body, or Hue error 901."""


class PermanentBridgeError(BridgeError):
    """Retrying cannot help: the configuration or the bridge's inventory must change."""


class Unauthorized(PermanentBridgeError):
    """Hue error 1: the application key was rejected (removed, or from another bridge)."""


class ResourceNotFound(PermanentBridgeError):
    """Hue error 3: a light or group id that the bridge does not have."""


class TargetNotFound(PermanentBridgeError):
    """A light or group named in HUE_TARGET does not exist on the bridge."""


class LinkButtonNotPressed(BridgeError):
    """Hue error 101: pairing needs the bridge's link button pressed within the last 30 seconds."""


class BridgeRejected(PermanentBridgeError):
    """Any other Hue error that is not about one attribute of one light (e.g. 2, 4, 5)."""


class BudgetExhausted(TransientBridgeError):
    """The invocation's time budget ran out before the bridge call could be made or finished."""


class InvalidRequest(HueLightsError):
    """A caller sent something malformed; the message says what (answered with a 4xx)."""

    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


# Per-attribute errors that leave the rest of a PUT applied (hb-hue-tools' "non-critical" list):
# they describe one light's attribute, so they become that light's outcome instead of an exception.
ATTRIBUTE_ERROR_TYPES = frozenset({6, 7, 8, 201})

HUE_INTERNAL_ERROR = 901


def error_for_hue_type(hue_type: int, description: str, address: str) -> BridgeError:
    """The exception for a Hue error item that concerns the whole request."""
    detail = f"Hue error {hue_type} at {address or '?'}: {description}"
    if hue_type == 1:
        return Unauthorized(f"{detail} (the application key HUE_APP_KEY was rejected; pair again)")
    if hue_type == 3:
        return ResourceNotFound(detail)
    if hue_type == 101:
        return LinkButtonNotPressed(f"{detail} (press the round link button on the bridge)")
    if hue_type == HUE_INTERNAL_ERROR:
        return BridgeBusy(detail)
    return BridgeRejected(detail)


def shorten(text: str, limit: int = 80) -> str:
    """Outside text (a caller's path, a bridge's id or body) quoted in a message or log line, cut so that it
    cannot flood either."""
    return text if len(text) <= limit else text[:limit] + "..."
