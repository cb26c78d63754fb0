"""Text helpers: redaction, cleaning, times (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fieldscope.exports.text import WITHHELD, Redactor, clean, clock, hours, iso_utc


def test_redactor_replaces_whole_words_case_insensitively() -> None:
    r = Redactor({"A-EX-01": WITHHELD, "Jane Smith": "A-EX-02", "Jane Smith-Jones": "A-EX-03"})
    assert r("A-EX-01 spoke; A-EX-011 did not") == f"{WITHHELD} spoke; A-EX-011 did not"
    assert r("(a-ex-01)'s point") == f"({WITHHELD})'s point"
    assert r("jane smith agreed with Jane Smith-Jones") == "A-EX-02 agreed with A-EX-03"
    assert r("Janet Smithers") == "Janet Smithers"
    assert r("") == ""


def test_redactor_replacement_is_literal() -> None:
    r = Redactor({"Bob": r"\1 \g<0>"})
    assert r("Bob said") == r"\1 \g<0> said"
    assert not Redactor({})
    assert Redactor({}).__call__("as is") == "as is"


def test_redactor_handles_accents_and_many_names_quickly() -> None:
    names = {f"Person{n} Surname{n}": f"X-{n:04d}" for n in range(2000)}
    names["Zoë Ümlaut"] = "A-TH-07"
    r = Redactor(names)
    assert r("zoë ümlaut and Person1999 Surname1999") == "A-TH-07 and X-1999"
    assert r("nothing to see") == "nothing to see"


def test_clean_normalises_line_ends_and_drops_what_xml_cannot_carry() -> None:
    assert clean("a\r\nb\rc\n") == "a\nb\nc\n"
    assert clean("bell\x07 tab\t ok 😀") == "bell tab\t ok 😀"
    assert clean(None) == ""


def test_times() -> None:
    tz = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2024, 3, 1, 11, 0, 0, 123456, tzinfo=tz)) == "2024-03-01T10:00:00.123Z"
    assert iso_utc(datetime(2024, 3, 1, 10, tzinfo=UTC)) == "2024-03-01T10:00:00.000Z"
    assert iso_utc(None) is None
    assert clock(3725.9) == "01:02:05" and clock(None) == "--:--:--"
    assert hours(5400) == 1.5 and hours(None) is None
