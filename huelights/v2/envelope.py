"""CLIP v2 answers: status code + `{"errors": [...], "data": [...]}` -> data, warnings, or an exception.

A v2 bridge puts `errors` next to `data` on every answer, 2xx included. Error texts on a 2xx (207 is
"accepted, but the light has communication issues ... may not have effect") do not say the command
failed, only that it may not show: they are returned as warnings and the read-back decides. Overload
(429, 503, 500, an HTML page instead of JSON) is transient; a bad key (401/403), an unknown id (404)
and a refused body (400) are permanent. The mapping onto huelights.errors lives here and nowhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from huelights.errors import BridgeBusy, BridgeError, BridgeRejected, ResourceNotFound, Unauthorized, shorten

# Overload and the bridge's own failures: seen under load on real bridges (429 beyond 3 concurrent
# requests, 503 when busy, 500 on light PUTs), worth a retry within the budget.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# Longest body excerpt quoted in an error message: enough to recognise an HTML error page.
EXCERPT_CHARS = 120


@dataclass(frozen=True)
class V2Answer:
    """A 2xx answer: the `data` items, and the `errors` texts it carried (warnings, settled by read-back)."""

    status: int
    data: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...] = ()


def read_answer(status: int, raw_body: bytes | str, request: str) -> V2Answer:
    """Check one v2 answer. `request` names it for messages, e.g. `PUT light/<id>` (never the key).

    Give the body as bytes (`response.content`): JSON is UTF-8, and a guessed text encoding would garble
    names. Raises a BridgeError subclass; `.transient` says whether a retry may help.
    """
    body = raw_body.decode("utf-8", errors="replace") if isinstance(raw_body, bytes) else raw_body
    document, problem = _decode(body)
    descriptions = _error_texts(document)
    if 200 <= status < 300:
        if problem:
            raise BridgeBusy(f"{request}: HTTP {status} but the body {problem}")
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise BridgeBusy(f"{request}: HTTP {status} but the body has no `data` list of objects: {_excerpt(body)}")
        return V2Answer(status, tuple(data), tuple(descriptions))
    raise error_for_status(status, descriptions or [problem or _excerpt(body)], request)


def error_for_status(status: int, descriptions: list[str], request: str) -> BridgeError:
    """The exception for a non-2xx v2 answer."""
    detail = f"{request}: HTTP {status}: {'; '.join(descriptions) or 'no error text'}"
    if status in TRANSIENT_STATUSES:
        return BridgeBusy(detail)
    if status in (401, 403):
        return Unauthorized(f"{detail} (the application key HUE_APP_KEY was rejected; pair again)")
    if status == 404:
        return ResourceNotFound(f"{detail} (the bridge has no such resource; it was removed or re-paired)")
    if 400 <= status < 500:
        return BridgeRejected(detail)
    # 1xx, 3xx (an HTTP bridge redirecting to HTTPS is settled at start-up, not here), other 5xx.
    return BridgeBusy(f"{detail} (unexpected status)")


def _decode(body: str) -> tuple[Any, str]:
    """(document, "") or (None, what is wrong with the body)."""
    if not body.strip():
        return None, "is empty"
    try:
        document = json.loads(body)
    except ValueError:
        return None, f"is not JSON: {_excerpt(body)}"
    if not isinstance(document, dict):
        return None, f"is not a JSON object: {_excerpt(body)}"
    errors = document.get("errors", [])
    if not isinstance(errors, list):
        return None, f"has an `errors` that is not a list: {_excerpt(body)}"
    return document, ""


def _error_texts(document: Any) -> list[str]:
    if not isinstance(document, dict):
        return []
    texts = []
    for item in document.get("errors") or []:
        description = item.get("description") if isinstance(item, dict) else item
        text = str(description).strip() if description is not None else ""
        if text:
            texts.append(text)
    return texts


def _excerpt(body: str) -> str:
    return repr(shorten(" ".join(body.split()), EXCERPT_CHARS))
