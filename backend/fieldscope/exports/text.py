"""Text helpers shared by every export format: clean text, times, and redaction."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

# Characters XML 1.0 forbids, and lone surrogates; they also have no place in a journal.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_CRLF = re.compile("\r\n?")
_WORD = re.compile(r"\w+")

WITHHELD = "[participant withheld]"


def clean(text: str | None) -> str:
    """LF line endings only, no characters XML cannot carry (REFI-QDA positions rely on it)."""
    if not text:
        return ""
    return _INVALID.sub("", _CRLF.sub("\n", text))


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as R's readr and pandas read it."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    # One fixed shape per column (milliseconds, as the sync protocol sends them).
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 4)


def clock(offset_seconds: float | None) -> str:
    """Offset from the session's start as HH:MM:SS."""
    if offset_seconds is None:
        return "--:--:--"
    total = int(offset_seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "not ended"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min ({seconds / 3600:.2f} h)"


class Redactor:
    """Replaces whole-word phrases (pseudonym codes, real names) in free text.

    Consent: codes and names of withdrawn or declined participants become WITHHELD.
    Pseudonymisation: real names of everyone else become their codes, unless a PI asked
    for real names. A token index keeps this cheap on a million rows: a phrase's pattern
    runs only when every word of it occurs in the text.
    """

    def __init__(self, replacements: dict[str, str]) -> None:
        self._index: dict[str, list[tuple[frozenset[str], re.Pattern[str], str]]] = defaultdict(
            list
        )
        # Longest phrases first, so "Jane Smith-Jones" wins over "Jane Smith".
        for phrase in sorted(replacements, key=len, reverse=True):
            words = frozenset(w.lower() for w in _WORD.findall(phrase))
            if not words:
                continue
            pattern = re.compile(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", re.IGNORECASE)
            key = max(words, key=len)
            self._index[key].append((words, pattern, replacements[phrase]))

    def __bool__(self) -> bool:
        return bool(self._index)

    def __call__(self, text: str) -> str:
        if not self._index or not text:
            return text
        words = {w.lower() for w in _WORD.findall(text)}
        hits = [
            (pattern, repl)
            for word in words & self._index.keys()
            for need, pattern, repl in self._index[word]
            if need <= words
        ]
        if not hits:
            return text
        hits.sort(key=lambda h: len(h[0].pattern), reverse=True)
        for pattern, repl in hits:
            text = pattern.sub(_literal(repl), text)
        return text


def _literal(replacement: str) -> Callable[[re.Match[str]], str]:
    # A function, not a template: a backslash in a code must not act as an escape.
    return lambda _match: replacement
