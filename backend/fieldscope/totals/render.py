"""The totals as a plain-text table for the terminal."""

from __future__ import annotations

from fieldscope.totals.schemas import StudyTotals, Tally

_HEAD = (
    f"{'site':<6}{'meetings':>12}{'hours':>16}{'progress':>10}"
    f"{'executive':>14}{'thematic':>14}{'project':>14}"
    f"{'clinical leaders':>20}{'observer h':>12}{'open':>6}"
)


def _pct(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:.0%}"


def _row(label: str, t: Tally) -> str:
    lv = t.levels
    cl = t.clinical_leaders
    cells = [
        f"{label:<6}",
        f"{t.meetings:>5} of {t.target_meetings:<3}",
        f"{t.hours:>7.2f} of {t.target_hours:<5g}",
        f"{_pct(t.progress.hours):>10}",
        *(
            f"{f'{x.meetings} m {x.hours:.2f} h':>14}"
            for x in (lv.executive, lv.thematic, lv.project)
        ),
        f"{f'{cl.executive}/{cl.thematic}/{cl.project} = {cl.total}':>20}",
        f"{t.observer_hours:>12.2f}",
        f"{t.open_sessions:>6}",
    ]
    return "".join(cells)


def table(totals: StudyTotals) -> str:
    lines = [
        f"{totals.study}: {totals.name}",
        "",
        _HEAD,
        *(_row(site.code, site) for site in totals.sites),
        "-" * len(_HEAD),
        _row("all", totals.total),
        "",
        "Progress is observed hours against the target. A co-observed meeting counts once and",
        "its hours are the union of its sessions; observer hours add every session. Clinical",
        "leaders: executive/thematic/project = total. Open: sessions still running.",
    ]
    return "\n".join(lines)
