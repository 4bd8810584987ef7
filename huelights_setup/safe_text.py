"""Text the setup tool writes for a shell or a terminal, built so that no value can become code.

Values come from the network (a bridge's name, id or key, a certificate's CN) or the command line; a
file written for `set -a; . ./hue.env; set +a` and a command printed to be copied quote every value,
so that a shell can only assign or pass it. Text shown on a terminal has its control characters
escaped, so that a bridge's name cannot move the cursor, rewrite the screen or retitle the window.
"""

from __future__ import annotations

import json
import shlex
import unicodedata
from collections.abc import Mapping

# Joiners build emoji and some scripts' letters: shown as they are. Every other format character (the
# bidirectional overrides among them) and every control character is escaped.
_SHOWN_FORMAT_CHARACTERS = frozenset("\u200c\u200d")


def shell_word(value: str) -> str:
    """`value` as one shell word that expands to exactly itself (the one place the tool quotes for a shell)."""
    return shlex.quote(value)


def shell_assignments(values: Mapping[str, str]) -> str:
    """`NAME=value NAME2=value2`, each value quoted: sourced or run, it only assigns."""
    return " ".join(f"{name}={shell_word(value)}" for name, value in values.items())


def export_command(values: Mapping[str, str]) -> str:
    return f"export {shell_assignments(values)}"


def _escaped(character: str) -> str:
    code = ord(character)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)  # a surrogate pair, as JSON writes it
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def _needs_escape(character: str) -> bool:
    category = unicodedata.category(character)
    return category in ("Cc", "Zl", "Zp") or (category == "Cf" and character not in _SHOWN_FORMAT_CHARACTERS)


def for_terminal(text: str) -> str:
    """`text` as one line with its control, format and line-separator characters written as `\\uXXXX`."""
    if text.isprintable():
        return text
    return "".join(_escaped(character) if _needs_escape(character) else character for character in text)


def lines_for_terminal(text: str) -> str:
    """`text` whose own line breaks stay and whose lines are each `for_terminal`."""
    return "\n".join(for_terminal(line) for line in text.split("\n"))


def json_for_terminal(data: object) -> str:
    """Indented JSON (non-ASCII text as it is) whose strings cannot reach the terminal as control codes.

    The document stays valid and its values the same: JSON writes the escaped characters the same way
    inside strings, and JSON's own text outside strings has none but the line breaks of the indentation."""
    return lines_for_terminal(json.dumps(data, indent=2, ensure_ascii=False))


def shows_as_written(text: str) -> bool:
    """Whether `text` reaches the terminal unchanged, so that a user can read it and type it back."""
    return for_terminal(text) == text
