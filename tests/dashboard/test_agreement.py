"""Cohen's kappa and tag alignment on hand-computed cases (pure functions, no database)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from fieldscope.dashboard.agreement import (
    Tag,
    align,
    align_pairwise,
    cohen_kappa,
    kappa_from_table,
    pooled,
)

T0 = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
OBS_A = uuid.UUID(int=1)
OBS_B = uuid.UUID(int=2)
OBS_C = uuid.UUID(int=3)
P1 = uuid.UUID(int=101)
P2 = uuid.UUID(int=102)


def tag(observer: uuid.UUID, seconds: float, code: str = "x", who: uuid.UUID = P1) -> Tag:
    return Tag(uuid.uuid4(), observer, who, code, T0 + timedelta(seconds=seconds))


# --- kappa ---------------------------------------------------------------------------


def test_perfect_agreement_is_kappa_one() -> None:
    codes = ["x", "y", "z", "x", "y"]
    stats = cohen_kappa(zip(codes, codes, strict=True))
    assert stats.n == 5
    assert stats.agreements == 5
    assert stats.percent_agreement == 100.0
    assert stats.kappa == 1.0


def test_chance_level_agreement_is_kappa_zero() -> None:
    # A: x x y y; B: x y x y. p_o = 2/4 = 0.5. Each rater says x half the time, so
    # p_e = 0.5*0.5 + 0.5*0.5 = 0.5 and kappa = (0.5 - 0.5) / (1 - 0.5) = 0.
    stats = cohen_kappa(zip("xxyy", "xyxy", strict=True))
    assert stats.percent_agreement == 50.0
    assert stats.kappa == 0.0


def test_complete_disagreement_is_kappa_minus_one() -> None:
    # p_o = 0, p_e = 0.5*0.5 + 0.5*0.5 = 0.5, kappa = (0 - 0.5) / 0.5 = -1.
    stats = cohen_kappa([("x", "y"), ("y", "x")])
    assert stats.kappa == -1.0


def test_wikipedia_grant_proposals_example() -> None:
    # Wikipedia, "Cohen's kappa", section "Simple example" (retrieved 2024): 50 grant
    # proposals, readers A and B say Yes or No. Both Yes 20, A Yes/B No 5, A No/B Yes 10,
    # both No 15. p_o = (20 + 15) / 50 = 0.70. A says Yes 25/50 = 0.5, B says Yes
    # 30/50 = 0.6, so p_e = 0.5*0.6 + 0.5*0.4 = 0.5 and kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    stats = kappa_from_table({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10,
                              ("no", "no"): 15})  # fmt: skip
    assert stats.n == 50
    assert stats.percent_agreement == pytest.approx(70.0)
    assert stats.kappa == pytest.approx(0.4)


def test_wikipedia_same_percentages_different_kappa() -> None:
    # Wikipedia, "Cohen's kappa", "Same percentages but different numbers": both tables have
    # p_o = 0.60. First: 45 yes/yes, 15 yes/no, 25 no/yes, 15 no/no (n = 100); A Yes 0.6,
    # B Yes 0.7: p_e = 0.6*0.7 + 0.4*0.3 = 0.54, kappa = 0.06 / 0.46 = 0.1304.
    first = kappa_from_table({("y", "y"): 45, ("y", "n"): 15, ("n", "y"): 25, ("n", "n"): 15})
    assert first.percent_agreement == pytest.approx(60.0)
    assert first.kappa == pytest.approx(0.06 / 0.46)
    assert round(first.kappa or 0, 4) == 0.1304
    # Second: 25, 35, 5, 35; A Yes 0.6, B Yes 0.3: p_e = 0.6*0.3 + 0.4*0.7 = 0.46,
    # kappa = 0.14 / 0.54 = 0.2593.
    second = kappa_from_table({("y", "y"): 25, ("y", "n"): 35, ("n", "y"): 5, ("n", "n"): 35})
    assert round(second.kappa or 0, 4) == 0.2593


def test_three_categories_by_hand() -> None:
    # Rows rater a, columns rater b, n = 40:
    #        x   y   z   | row
    #   x   10   2   3   | 15
    #   y    1   8   1   | 10
    #   z    4   0  11   | 15
    #  col  15  10  15
    # p_o = (10 + 8 + 11) / 40 = 29/40 = 0.725
    # p_e = (15*15 + 10*10 + 15*15) / 40^2 = 550/1600 = 0.34375
    # kappa = (0.725 - 0.34375) / (1 - 0.34375) = 0.38125 / 0.65625 = 61/105
    cells = {("x", "x"): 10, ("x", "y"): 2, ("x", "z"): 3, ("y", "x"): 1, ("y", "y"): 8,
             ("y", "z"): 1, ("z", "x"): 4, ("z", "z"): 11}  # fmt: skip
    stats = kappa_from_table(cells)
    assert stats.agreements == 29
    assert stats.kappa == pytest.approx(61 / 105)
    # The same table given as a list of pairs gives the same answer.
    pairs = [pair for pair, count in cells.items() for _ in range(count)]
    random.Random(1).shuffle(pairs)
    assert cohen_kappa(pairs).kappa == pytest.approx(61 / 105)


def test_kappa_undefined_when_both_raters_use_one_category() -> None:
    stats = cohen_kappa([("x", "x"), ("x", "x")])
    assert stats.percent_agreement == 100.0
    assert stats.kappa is None


def test_no_pairs_gives_no_numbers() -> None:
    stats = cohen_kappa([])
    assert (stats.n, stats.percent_agreement, stats.kappa) == (0, None, None)


# --- alignment -----------------------------------------------------------------------


def test_same_participant_within_window_matches() -> None:
    a = [tag(OBS_A, 10, "x"), tag(OBS_A, 100, "y")]
    b = [tag(OBS_B, 14, "x"), tag(OBS_B, 95, "z")]
    matches, un_a, un_b = align(a, b, window_seconds=10)
    assert [(m.a.id, m.b.id) for m in matches] == [(a[0].id, b[0].id), (a[1].id, b[1].id)]
    assert [m.agrees for m in matches] == [True, False]
    assert un_a == [] and un_b == []


def test_other_participant_never_matches() -> None:
    a = [tag(OBS_A, 10, who=P1)]
    b = [tag(OBS_B, 10, who=P2)]
    matches, un_a, un_b = align(a, b, window_seconds=60)
    assert matches == []
    assert un_a == a and un_b == b


def test_window_boundary_is_inclusive() -> None:
    a = [tag(OBS_A, 0)]
    assert len(align(a, [tag(OBS_B, 30)], 30)[0]) == 1
    assert len(align(a, [tag(OBS_B, -30)], 30)[0]) == 1
    # One microsecond beyond the window: unmatched on both sides.
    matches, un_a, un_b = align(a, [tag(OBS_B, 30.000001)], 30)
    assert matches == [] and len(un_a) == 1 and len(un_b) == 1
    # A zero window matches only the same instant.
    assert len(align(a, [tag(OBS_B, 0)], 0)[0]) == 1
    assert len(align(a, [tag(OBS_B, 0.5)], 0)[0]) == 0


def test_nearest_pair_wins_over_first_come() -> None:
    # a@0 and a@10 both reach b@6; the nearer one (a@10, 4 s) takes it, a@0 stays unmatched.
    a = [tag(OBS_A, 0), tag(OBS_A, 10)]
    b = [tag(OBS_B, 6)]
    matches, un_a, un_b = align(a, b, window_seconds=10)
    assert [(m.a.id, m.b.id) for m in matches] == [(a[1].id, b[0].id)]
    assert un_a == [a[0]] and un_b == []


def test_equal_distance_tie_goes_to_the_earlier_tag() -> None:
    # b@5 and b@15 are both 5 s from a@10: the earlier b tag is taken.
    a = [tag(OBS_A, 10)]
    b = [tag(OBS_B, 15), tag(OBS_B, 5)]
    matches, _, un_b = align(a, b, window_seconds=5)
    assert matches[0].b.at == T0 + timedelta(seconds=5)
    assert [t.at for t in un_b] == [T0 + timedelta(seconds=15)]
    # Mirror: a@5 and a@15 both 5 s from b@10: the earlier a tag is taken.
    a2 = [tag(OBS_A, 15), tag(OBS_A, 5)]
    matches2, un_a2, _ = align(a2, [tag(OBS_B, 10)], window_seconds=5)
    assert matches2[0].a.at == T0 + timedelta(seconds=5)
    assert [t.at for t in un_a2] == [T0 + timedelta(seconds=15)]


def test_same_instant_tie_broken_by_id_whatever_the_input_order() -> None:
    first = Tag(uuid.UUID(int=5), OBS_A, P1, "x", T0)
    second = Tag(uuid.UUID(int=6), OBS_A, P1, "y", T0)
    other = Tag(uuid.UUID(int=7), OBS_B, P1, "y", T0)
    for a in ([first, second], [second, first]):
        matches, un_a, _ = align(a, [other], window_seconds=0)
        assert matches[0].a.id == first.id
        assert un_a == [second]


def test_alignment_does_not_depend_on_input_order() -> None:
    rng = random.Random(42)
    codes = "wxyz"

    def some(observer: uuid.UUID) -> list[Tag]:
        return [
            tag(observer, rng.randint(0, 600), rng.choice(codes), rng.choice([P1, P2]))
            for _ in range(60)
        ]

    a, b = some(OBS_A), some(OBS_B)
    expected = align(a, b, 20)
    for _ in range(5):
        rng.shuffle(a)
        rng.shuffle(b)
        got = align(a, b, 20)
        assert [(m.a.id, m.b.id) for m in got[0]] == [(m.a.id, m.b.id) for m in expected[0]]
        assert got[1] == expected[1] and got[2] == expected[2]
    # Every tag ends up exactly once: matched or unmatched.
    matched_a = {m.a.id for m in expected[0]}
    assert len(matched_a) + len(expected[1]) == len(a)
    assert all(m.seconds_apart <= 20 for m in expected[0])


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError):
        align([], [], -1)


def test_three_observers_are_aligned_pairwise() -> None:
    # One intervention by P1 at ~t=100 seen by all three observers; B and C agree on "y",
    # A says "x". C also tagged P2 that nobody else saw.
    a = tag(OBS_A, 100, "x")
    b = tag(OBS_B, 103, "y")
    c = tag(OBS_C, 98, "y")
    c_extra = tag(OBS_C, 300, "z", who=P2)
    pairs = align_pairwise([c_extra, b, a, c], window_seconds=10)
    assert [(p.observer_a, p.observer_b) for p in pairs] == [
        (OBS_A, OBS_B),
        (OBS_A, OBS_C),
        (OBS_B, OBS_C),
    ]
    ab, ac, bc = pairs
    assert [(m.a.id, m.b.id, m.agrees) for m in ab.matches] == [(a.id, b.id, False)]
    assert [(m.a.id, m.b.id, m.agrees) for m in ac.matches] == [(a.id, c.id, False)]
    assert [(m.a.id, m.b.id, m.agrees) for m in bc.matches] == [(b.id, c.id, True)]
    assert ac.unmatched_b == [c_extra] and bc.unmatched_b == [c_extra]
    assert ab.unmatched_a == [] and ab.unmatched_b == []
    # Pooled over the three pairs: 3 matched pairs, 1 agreement.
    # Table (a-side, b-side): (x,y) 2, (y,y) 1. p_o = 1/3. Rows: x 2, y 1; cols: y 3.
    # p_e = (1*3) / 9 = 1/3, so kappa = 0.
    stats = pooled(pairs)
    assert (stats.n, stats.agreements) == (3, 1)
    assert stats.kappa == pytest.approx(0.0)


def test_single_observer_has_no_pairs() -> None:
    assert align_pairwise([tag(OBS_A, 1), tag(OBS_A, 2)], 10) == []
