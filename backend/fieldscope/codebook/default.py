"""The default codebook: the study's four contributions and their forms (DOMAIN.md),
plus optional groups for sources of influence and secondary effects."""

from __future__ import annotations

from fieldscope.codebook.models import CodeGroup

# (key, label, description, colour, [(form key, form label)])
CONTRIBUTIONS: list[tuple[str, str, str, str, list[tuple[str, str]]]] = [
    (
        "analytical_insight",
        "Analytical insight",
        "Makes plans relevant and realistic.",
        "#1f5fa8",
        [
            ("clinical_evidence", "Presenting clinical evidence or service data"),
            ("history_and_tensions", "Drawing on the history and tensions of past integration"),
            ("feasibility", "Judging which priorities are feasible given local cultures"),
        ],
    ),
    (
        "representation",
        "Representation",
        "Brings clinicians' voice into decisions, giving change legitimacy.",
        "#a8321f",
        [
            ("clinical_view_heard", "Making sure the clinical view is heard"),
            ("critical_challenge", "Critical challenge"),
            ("professional_engagement", "Securing wider professional engagement and buy-in"),
        ],
    ),
    (
        "translation_communication",
        "Translation and communication",
        "Carries plans across professional boundaries.",
        "#1f7a4a",
        [
            ("translating", "Translating evidence, policy or proposals between groups"),
            ("framing", "Framing change to fit what each audience cares about"),
            ("keeping_story_going", "Sustaining engagement over time"),
        ],
    ),
    (
        "relational",
        "Relational",
        "Creates and sustains collaboration.",
        "#6b3fa0",
        [
            ("brokering", "Brokering and building connections"),
            ("alliances", "Building self-sustaining alliances and networks"),
            ("empowering", "Empowering and delegating"),
            ("mediating", "Mediating conflict"),
        ],
    ),
]

OTHER_GROUPS: list[tuple[CodeGroup, list[tuple[str, str]]]] = [
    (
        CodeGroup.source_of_influence,
        [
            ("expertise", "Expertise"),
            ("networks", "Networks"),
            ("formal_authority", "Formal authority"),
            ("informal_influence", "Informal influence"),
        ],
    ),
    (
        CodeGroup.secondary_effect,
        [
            ("shared_vision", "Shared vision"),
            ("legitimacy", "Legitimacy"),
            ("engagement", "Engagement"),
            ("resource_sharing", "Resource sharing"),
        ],
    ),
]
