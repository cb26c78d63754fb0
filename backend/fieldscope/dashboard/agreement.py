"""Inter-rater agreement between fieldworkers who observed the same meeting.

Pure functions, no database. Two observers' tags of one meeting are aligned when they name
the same participant within `window_seconds` of each other (inclusive), by greedy nearest
matching: every candidate pair is ranked by distance in time, ties broken by the first
observer's tag time, then the second's, then the tag ids, and taken if neither tag is
used yet. The ranking uses only the tags' own values, so the result does not depend on
input order. With more than two observers every pair of observers is aligned separately.

Agreement on the contribution code of matched pairs is reported as Cohen's kappa
(Cohen 1960): kappa = (p_o - p_e) / (1 - p_e), p_o the observed share of agreements,
p_e the agreement expected from each rater's marginal shares.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations


@dataclass(frozen=True)
class Tag:
    """One observer's tagged intervention, at its wall-clock time."""

    id: uuid.UUID
    observer_id: uuid.UUID
    participant_id: uuid.UUID
    code: str
    at: datetime


@dataclass(frozen=True)
class Match:
    a: Tag
    b: Tag

    @property
    def seconds_apart(self) -> float:
        return abs((self.a.at - self.b.at).total_seconds())

    @property
    def agrees(self) -> bool:
        return self.a.code == self.b.code


@dataclass(frozen=True)
class Stats:
    """Agreement over `n` matched pairs; None where undefined (no pairs, or p_e == 1)."""

    n: int
    agreements: int
    percent_agreement: float | None
    kappa: float | None
    # (code of rater a, code of rater b) -> count, the confusion table.
    table: Mapping[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class PairAlignment:
    observer_a: uuid.UUID
    observer_b: uuid.UUID
    matches: list[Match]
    unmatched_a: list[Tag]  # a's tags with no partner among b's
    unmatched_b: list[Tag]

    def stats(self) -> Stats:
        return cohen_kappa((m.a.code, m.b.code) for m in self.matches)


def align(
    a: Sequence[Tag], b: Sequence[Tag], window_seconds: float
) -> tuple[list[Match], list[Tag], list[Tag]]:
    """Greedy nearest matching of two observers' tags (see the module docstring).

    Returns the matches (in a's time order) and the unmatched tags of a and of b."""
    if window_seconds < 0:
        raise ValueError("window_seconds must be >= 0")
    by_participant: dict[uuid.UUID, list[Tag]] = defaultdict(list)
    for tag in b:
        by_participant[tag.participant_id].append(tag)
    candidates: list[tuple[float, datetime, datetime, str, str, Tag, Tag]] = []
    for ta in a:
        for tb in by_participant.get(ta.participant_id, ()):
            gap = abs((ta.at - tb.at).total_seconds())
            if gap <= window_seconds:
                candidates.append((gap, ta.at, tb.at, str(ta.id), str(tb.id), ta, tb))
    candidates.sort(key=lambda c: c[:5])
    used_a: set[uuid.UUID] = set()
    used_b: set[uuid.UUID] = set()
    matches: list[Match] = []
    for *_, ta, tb in candidates:
        if ta.id in used_a or tb.id in used_b:
            continue
        used_a.add(ta.id)
        used_b.add(tb.id)
        matches.append(Match(ta, tb))
    matches.sort(key=lambda m: (m.a.at, str(m.a.id)))
    unmatched_a = _ordered(t for t in a if t.id not in used_a)
    unmatched_b = _ordered(t for t in b if t.id not in used_b)
    return matches, unmatched_a, unmatched_b


def align_pairwise(
    tags: Iterable[Tag], window_seconds: float, observers: Iterable[uuid.UUID] = ()
) -> list[PairAlignment]:
    """Align every pair of observers of one meeting: those with tags among `tags`, and
    those in `observers` (who observed but tagged nothing: every tag is unmatched then).

    Observers are ordered by id, so the same observer is always rater `a` of a pair."""
    by_observer: dict[uuid.UUID, list[Tag]] = {o: [] for o in observers}
    for tag in tags:
        by_observer.setdefault(tag.observer_id, []).append(tag)
    out = []
    for oa, ob in combinations(sorted(by_observer, key=str), 2):
        matches, unmatched_a, unmatched_b = align(by_observer[oa], by_observer[ob], window_seconds)
        out.append(PairAlignment(oa, ob, matches, unmatched_a, unmatched_b))
    return out


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> Stats:
    """Cohen's kappa and percent agreement of (rater a, rater b) category pairs."""
    table: Counter[tuple[str, str]] = Counter(pairs)
    return kappa_from_table(table)


def kappa_from_table(table: Mapping[tuple[str, str], int]) -> Stats:
    n = sum(table.values())
    if n == 0:
        return Stats(0, 0, None, None, dict(table))
    agreements = sum(count for (x, y), count in table.items() if x == y)
    rows: Counter[str] = Counter()
    cols: Counter[str] = Counter()
    for (x, y), count in table.items():
        rows[x] += count
        cols[y] += count
    p_o = agreements / n
    p_e = sum(rows[c] * cols[c] for c in rows.keys() & cols.keys()) / (n * n)
    # Both raters used one and the same category throughout: chance explains everything
    # and kappa is 0/0. Percent agreement still says they agreed.
    kappa = None if p_e >= 1 else (p_o - p_e) / (1 - p_e)
    return Stats(n, agreements, 100.0 * p_o, kappa, dict(table))


def pooled(alignments: Iterable[PairAlignment]) -> Stats:
    """One confusion table over the matched pairs of several observer pairs."""
    return cohen_kappa((m.a.code, m.b.code) for al in alignments for m in al.matches)


def _ordered(tags: Iterable[Tag]) -> list[Tag]:
    return sorted(tags, key=lambda t: (t.at, str(t.id)))
