"""The demo study's fieldwork plan: synthetic meetings, people and texts.

The figures that matter are fixed here by hand so they add up exactly to the reference
study's (28 meetings; 49 h: A 22, B 22, C 5); the loader checks them against the packaged
CSV before writing anything. Titles, dates, attendees and texts are invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

SYNTHETIC = "[Synthetic demo]"

STUDY_SLUG = "demo"
STUDY_NAME = "Clinical leadership in ICS governance (synthetic demo)"
STUDY_DESCRIPTION = (
    "SYNTHETIC DEMONSTRATION DATA. A study shaped like Waring, Bishop, Black, Clarke and Roe, "
    '"What can clinical leaders contribute to the governance of integrated care systems?", '
    "BMJ Leader 2023;7:279-284 (CC BY 4.0): three sites, the 25 clinical leaders of its "
    "Table 1, 28 observed meetings and 49 observed hours (site A 22, B 22, C 5). The sites' "
    "meeting split, every meeting, intervention, quote, field note and journal entry here "
    "is invented for demonstration and describes no real person or meeting."
)
ETHICS_REFERENCE = "DEMO-0000 (synthetic)"
STARTS_ON = date(2018, 9, 1)
ENDS_ON = date(2020, 3, 31)

# code, name, target hours, target meetings, date consent was given
SITES: list[tuple[str, str, float, int, date]] = [
    ("A", "Site A (synthetic STP)", 24.0, 12, date(2018, 9, 20)),
    ("B", "Site B (synthetic STP)", 24.0, 12, date(2018, 9, 27)),
    ("C", "Site C (synthetic STP)", 12.0, 8, date(2019, 10, 24)),
]

# Non-clinical attendees: site -> level -> role titles (background non_clinical).
NON_CLINICAL: dict[str, dict[str, list[str]]] = {
    "A": {
        "executive": ["Independent Chair", "STP Managing Director", "Director of Finance"],
        "thematic": ["Programme Manager", "Workforce Lead"],
        "project": ["Project Manager", "Finance Manager"],
    },
    "B": {
        "executive": ["Independent Chair", "STP Managing Director", "Director of Finance"],
        "thematic": ["Programme Manager", "Workforce Lead"],
        "project": ["Project Manager", "Finance Manager"],
    },
    "C": {
        "executive": ["Independent Chair", "STP Managing Director"],
        "thematic": ["Programme Manager"],
        "project": ["Project Manager"],
    },
}

# Accounts: key, email, display name, role
ACCOUNTS: list[tuple[str, str, str, str]] = [
    ("pi", "demo-pi@example.org", "Demo PI", "pi"),
    ("fw1", "demo-fw1@example.org", "Demo Fieldworker 1", "fieldworker"),
    ("fw2", "demo-fw2@example.org", "Demo Fieldworker 2", "fieldworker"),
    ("analyst", "demo-analyst@example.org", "Demo Analyst", "analyst"),
]
DEFAULT_PASSWORD = "fieldscope-demo"


@dataclass(frozen=True)
class PlannedMeeting:
    site: str
    level: str
    title: str
    theme: str
    start: datetime
    minutes: int  # observed minutes (union of the sessions): the figure that counts
    leads: tuple[str, ...]  # role titles of the site's clinical leaders who attend
    observer: str  # "fw1" or "fw2": the main observer
    co: str | None = None  # how a second observer joined: "late", "relay" or "pause"
    pause: int = 0  # minutes paused (a confidential item, a break)
    stage: str = "delivery"
    location: str = ""
    retrospective: bool = False  # typed up afterwards from paper notes


def _at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=UTC)


_M = PlannedMeeting
# fmt: off
MEETINGS: list[PlannedMeeting] = [
    # Site A: 12 meetings, 22 h (executive 6 h, thematic 7 h, project 9 h)
    _M("A", "executive", "STP Partnership Board", "System strategy", _at("2018-10-04", "09:30"),
       150, ("STP Director", "Medical Director"), "fw1", co="late", stage="strategy",
       location="Civic Centre, Committee Room 2"),
    _M("A", "executive", "STP Partnership Board", "Operating plan", _at("2019-03-07", "09:30"),
       120, ("STP Director", "Medical Director"), "fw1", pause=15,
       location="Civic Centre, Committee Room 2"),
    _M("A", "executive", "System Leadership Executive", "Financial recovery",
       _at("2019-09-12", "14:00"), 90, ("STP Director", "Medical Director"), "fw1",
       location="Acute Trust HQ, Boardroom"),
    _M("A", "thematic", "Maternity Transformation Board", "Maternity", _at("2018-11-08", "10:00"),
       120, ("Medical Lead for Family Medicine", "Midwifery Lead", "Obstetrics Lead"), "fw1",
       co="relay", stage="strategy", location="Women's Unit, Seminar Room"),
    _M("A", "thematic", "Acute Medicine Programme Board", "Urgent and acute care",
       _at("2019-01-17", "10:00"), 105, ("Medical Lead for Acute Medicine", "Medical Director"),
       "fw1", stage="strategy", location="Acute Trust HQ, Room 4"),
    _M("A", "thematic", "Medicines Optimisation Programme Board", "Medicines",
       _at("2019-05-23", "13:30"), 90, ("Pharmacy Lead for Medicines", "Community Pharmacy Lead"),
       "fw1", pause=10, location="CCG Offices, Meeting Room 1"),
    _M("A", "thematic", "Family Medicine Programme Board", "Primary care",
       _at("2019-07-11", "09:00"), 105, ("Medical Lead for Family Medicine", "GP Representative"),
       "fw2", location="CCG Offices, Meeting Room 1"),
    _M("A", "project", "Continuity of Carer Implementation Group", "Maternity",
       _at("2019-02-14", "14:00"), 120, ("Midwifery Lead", "Obstetrics Lead"), "fw1",
       location="Women's Unit, Seminar Room"),
    _M("A", "project", "Community Pharmacy Referral Pilot", "Medicines",
       _at("2019-04-04", "10:00"), 105, ("Community Pharmacy Lead", "Pharmacy Practice Lead"),
       "fw1", location="Video call and CCG Offices"),
    _M("A", "project", "Clinical Pharmacists in General Practice", "Medicines",
       _at("2019-06-20", "13:00"), 105, ("Pharmacy Practice Lead", "GP Representative"), "fw1",
       co="pause", pause=10, location="Health Centre, Education Room"),
    _M("A", "project", "Maternity Digital Records Project", "Maternity",
       _at("2019-08-29", "11:00"), 90, ("Obstetrics Lead", "Midwifery Lead"), "fw2",
       location="Women's Unit, Seminar Room"),
    _M("A", "project", "Primary Care Home Project", "Primary care", _at("2019-11-07", "09:30"),
       120, ("GP Representative", "Community Pharmacy Lead"), "fw1",
       location="Health Centre, Education Room"),
    # Site B: 12 meetings, 22 h (executive 6.5 h, thematic 7 h, project 8.5 h)
    _M("B", "executive", "STP Board", "System strategy", _at("2018-10-18", "09:00"), 180,
       ("Medical Director",), "fw2", co="late", stage="strategy",
       location="Council House, Chamber"),
    _M("B", "executive", "STP Board", "Winter plan", _at("2019-02-21", "09:00"), 120,
       ("Medical Director",), "fw2", location="Council House, Chamber"),
    _M("B", "executive", "STP Executive Group", "Financial recovery", _at("2019-10-03", "14:00"),
       90, ("Medical Director",), "fw2", location="Mental Health Trust HQ, Room 2"),
    _M("B", "thematic", "Mental Health Programme Board", "Mental health",
       _at("2018-12-06", "10:00"), 120,
       ("Medical Lead for Mental Health", "Community Mental Health Lead (Medical)"), "fw2",
       co="relay", stage="strategy", location="Mental Health Trust HQ, Room 2"),
    _M("B", "thematic", "Urgent and Emergency Care Board", "Urgent care",
       _at("2019-01-24", "13:00"), 120, ("Medical Lead for Urgent Care", "Trauma Lead (Medical)"),
       "fw2", pause=10, stage="strategy", location="Ambulance Service HQ, Training Room"),
    _M("B", "thematic", "Primary Care Programme Board", "Primary care", _at("2019-05-09", "10:00"),
       90, ("GP Lead for Primary Care", "GP Network Representative"), "fw1",
       location="CCG Offices, Room 3"),
    _M("B", "thematic", "Mental Health Programme Board", "Mental health",
       _at("2019-09-19", "10:00"), 90, ("Medical Lead for Mental Health",), "fw2",
       location="Mental Health Trust HQ, Room 2"),
    _M("B", "project", "Major Trauma Pathway Project", "Urgent care", _at("2019-03-14", "14:00"),
       105, ("Trauma Lead (Medical)", "Rehabilitation Lead (Nursing)"), "fw2",
       location="Major Trauma Centre, Seminar Room"),
    _M("B", "project", "Rehabilitation Pathway Group", "Urgent care", _at("2019-04-25", "10:00"),
       105, ("Rehabilitation Lead (Nursing)",), "fw2", pause=10,
       location="Community Hospital, Day Room"),
    _M("B", "project", "Community Mental Health Integration Project", "Mental health",
       _at("2019-06-27", "13:30"), 90, ("Community Mental Health Lead (Medical)",), "fw2",
       location="Mental Health Trust HQ, Room 5"),
    _M("B", "project", "Primary Care Network Development Group", "Primary care",
       _at("2019-07-25", "12:30"), 105, ("GP Network Representative", "GP Lead for Primary Care"),
       "fw2", co="pause", pause=10, location="CCG Offices, Room 3"),
    _M("B", "project", "Primary Care Network Development Group", "Primary care",
       _at("2019-11-21", "12:30"), 105, ("GP Network Representative",), "fw1",
       location="CCG Offices, Room 3"),
    # Site C: 4 meetings, 5 h; fieldwork cut short by the pandemic in March 2020
    _M("C", "executive", "STP Partnership Board", "System strategy", _at("2019-11-14", "09:30"),
       120, ("Medical Director",), "fw1", stage="strategy", location="County Hall, Room 11"),
    _M("C", "thematic", "Community Services Programme Board", "Community services",
       _at("2020-01-16", "10:00"), 60,
       ("Medical Director for Community Services", "GP Lead for Primary Care"), "fw1",
       stage="strategy", location="Community Trust HQ"),
    _M("C", "project", "Community Nursing Integration Project", "Community services",
       _at("2020-02-06", "14:00"), 60, ("Community Nursing Lead",), "fw1",
       location="Community Trust HQ", retrospective=True),
    _M("C", "project", "Cancer Pathway Improvement Group", "Cancer", _at("2020-03-05", "10:00"),
       60, ("Cancer Services Lead (Nursing)",), "fw1", location="Cancer Centre, Room 1"),
]
# fmt: on

AGENDA: dict[str, list[str]] = {
    "executive": [
        "System operating plan",
        "Financial recovery and control totals",
        "Workforce strategy",
        "Clinical strategy refresh",
        "Estates and capital",
    ],
    "thematic": [
        "Programme highlight report",
        "Service model options",
        "Performance dashboard",
        "Engagement plan",
        "Risks and issues",
    ],
    "project": [
        "Pilot progress",
        "Pathway redesign",
        "Data collection and evaluation",
        "Staffing the pilot",
        "Next steps and sign-off",
    ],
}

# What a synthetic intervention describes, per contribution (DOMAIN.md's four).
SCENES: dict[str, list[str]] = {
    "analytical_insight": [
        "sets out recent activity figures and argues the proposed timeline is unrealistic",
        "recalls why a similar scheme stalled three years ago and what would differ now",
        "questions whether the target fits how local practices actually work",
        "points to audit data showing where the pathway loses patients",
    ],
    "representation": [
        "insists the views of frontline clinicians are taken before the paper is approved",
        "challenges the finance case, asking for patient-safety risks to be weighed equally",
        "offers to take the proposal to the clinical senate for wider buy-in",
        "reports concerns raised at the last clinical forum",
    ],
    "translation_communication": [
        "restates the policy ask in clinical terms for the GP representatives",
        "frames the change as freeing clinical time rather than cutting services",
        "reminds the group of the story so far and what was agreed last time",
        "explains to managers what the new clinical guideline means for the plan",
    ],
    "relational": [
        "suggests two organisations' leads meet outside the board to settle the issue",
        "connects the project manager with a consultant who ran a similar pilot",
        "hands the lead on the workstream to a nurse consultant and backs her publicly",
        "calms a tense exchange between two providers and proposes a joint review",
    ],
}

QUOTES: dict[str, list[str]] = {
    "analytical_insight": [
        "If we start in January we will be doing it in the worst weeks of winter.",
        "We tried this in 2015 and it fell over because nobody owned the referrals.",
    ],
    "representation": [
        "I need to be able to go back to my colleagues and say they were heard.",
        "I am not comfortable signing this off on the money alone.",
    ],
    "translation_communication": [
        "For the practices, what this really means is fewer unplanned home visits.",
        "Let me put that in the language the consultants will use.",
    ],
    "relational": [
        "Why don't the two of you sit down with me next week and sort the detail?",
        "She knows this better than I do; let her lead it.",
    ],
}

OBSERVATIONS = [
    "Room arranged boardroom-style; the clinical leads sat together near the chair.",
    "The agenda item on {theme} overran by about fifteen minutes; the chair cut the next short.",
    "Papers were tabled late; several members read them during the discussion.",
    "Most of the discussion on {theme} was between managers until {code} spoke.",
]
REFLECTIONS = [
    "The managerial framing dominated until a clinical example was used; worth watching for.",
    "I am unsure whether silence from the GP representatives meant agreement.",
    "The clinical voice seemed to carry more weight once figures were attached to it.",
]
INTERVIEWS = [
    "Brief conversation with {code} after the meeting: said the real decision was made at "
    "an earlier informal meeting.",
    "Asked {code} over coffee why they challenged the paper; they said colleagues had "
    "asked them to.",
]
METHODS = [
    "Sat at the side of the room; introduced as an observer at the start. No recording.",
    "Co-observed with the other fieldworker; we sat at opposite ends and compare notes after.",
    "Notes taken on paper because the tablet was not allowed in the room; typed up later.",
]
