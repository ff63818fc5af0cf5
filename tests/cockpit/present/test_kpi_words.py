"""A KPI worded for its viewer: English exactly as the twin wrote it, German with German
words, numbers, percentages and weekdays, the numbers taken from the language-free phrase."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cockpit.present.i18n import translator
from cockpit.present.kpi_words import figure_words, kpi_in, phrase_in
from cockpit.twin.kpi import Kpi, Percent, Phrase, Term, When

TZ = "Australia/Melbourne"
AT = datetime(2025, 5, 13, 10, 0, tzinfo=ZoneInfo(TZ))  # Tuesday 10:00 in Melbourne

PHRASE = Phrase(
    "{pct} below a typical {when}.",
    (("pct", Percent(0.06)), ("when", When(AT, "EEEE HH:00"))),
)
FOOTFALL = Kpi(
    "footfall",
    "Footfall",
    31_483.0,
    "persons/h",
    "31,483",
    "ok",
    "as usual",
    PHRASE.english(),
    AT,
    figure_label="persons/h at all counters together",
    phrase=PHRASE,
)


def test_a_phrase_in_english_is_what_the_twin_wrote() -> None:
    assert PHRASE.english() == "6% below a typical Tuesday 10:00."
    assert phrase_in(PHRASE, "en", TZ, translator("en", "cockpit")) == PHRASE.english()


def test_a_phrase_in_german_has_german_numbers_and_words() -> None:
    _ = translator("de", "cockpit")
    assert phrase_in(PHRASE, "de", TZ, _) == "6\u00a0% unter einem üblichen Dienstag 10:00."
    counted = Phrase(
        "{free} free places of {known} with a known state.", (("free", 1485), ("known", 3309))
    )
    assert phrase_in(counted, "de", TZ, _) == "1.485 freie Plätze von 3.309 mit bekanntem Zustand."
    index = Phrase(
        "{index}: worst is {pollutant} {value} {unit} at {station}.",
        (
            ("index", Term("European Air Quality Index (EEA)")),
            ("pollutant", Term("PM10")),
            ("value", "10"),
            ("unit", "µg/m³"),
            ("station", "Point Cook"),
        ),
    )
    assert phrase_in(index, "de", TZ, _) == (
        "Europäischer Luftqualitätsindex (EUA): am schlechtesten ist PM10 10 µg/m³ an Point Cook."
    )


def test_a_kpi_in_english_is_itself_and_in_german_every_word_is_german() -> None:
    assert kpi_in(FOOTFALL, "en", TZ) is FOOTFALL
    german = kpi_in(FOOTFALL, "de", TZ)
    assert (german.title, german.display, german.level_label) == (
        "Passantenfrequenz",
        "31.483",
        "wie üblich",
    )
    assert figure_words(german) == "Personen/h an allen Zählern zusammen"
    assert german.detail == "6\u00a0% unter einem üblichen Dienstag 10:00."
    assert german.phrase is None and german.value == FOOTFALL.value
