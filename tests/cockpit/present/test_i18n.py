"""Message catalogues and number and time formats per language.

The kiosk and the "how this data is collected" pages take every user-facing string from
their catalogues; these tests read the code's messages the way ``pybabel extract`` does
and check that German has each of them, with the same placeholders.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from cockpit.present.i18n import available_languages, format_number, format_time, translator

ROOT = Path(__file__).resolve().parents[3]
DOMAINS = {
    "kiosk": [
        "cockpit/present/slides.py",
        "cockpit/present/demo.py",
        "layouts/pages/citizen.py",
        "layouts/pages/kiosk.py",
    ],
    "about": ["layouts/routes/about.py"],
}


def messages(domain: str) -> set[str]:
    """The messages the code of ``domain`` marks with ``_()`` or translates with ``_t()``."""
    found: set[str] = set()
    for path in DOMAINS[domain]:
        for _line, text, _comments, _context in extract_from_file(
            "python", str(ROOT / path), keywords={"_": None, "_t": None}
        ):
            if isinstance(text, str):
                found.add(text)
    return found


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w*)\}", text))


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_german_has_every_message_with_its_placeholders(domain: str) -> None:
    german = translator("de", domain)
    found = messages(domain)
    assert len(found) > 20
    for message in sorted(found):
        translated = german(message)
        assert translated != message, f"no German for {message!r}"
        assert placeholders(translated) == placeholders(message), message


def test_english_is_the_code_itself_and_unknown_messages_stay_english() -> None:
    assert translator("en", "kiosk")("Is the air good today?") == "Is the air good today?"
    assert translator("de", "kiosk")("Is the air good today?") == "Ist die Luft heute gut?"
    assert translator("de", "kiosk")("A message nobody wrote") == "A message nobody wrote"
    assert translator("fr", "kiosk")("Where can I park?") == "Where can I park?"
    assert translator("de", "no-such-domain")("Where can I park?") == "Where can I park?"


def test_languages_with_catalogues() -> None:
    assert {"en", "de"} <= set(available_languages())


@pytest.mark.parametrize(
    ("value", "language", "decimals", "expected"),
    [
        (1240.5, "en", 1, "1,240.5"),
        (1240.5, "de", 1, "1.240,5"),
        (31483, "de", 0, "31.483"),
        (31483, "en", 0, "31,483"),
        (7, "xx-unknown", 0, "7"),
    ],
)
def test_numbers_follow_the_language(
    value: float, language: str, decimals: int, expected: str
) -> None:
    assert format_number(value, language, decimals) == expected


def test_times_follow_the_language_and_the_city_clock() -> None:
    when = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # Tue 10:30 in Melbourne
    assert format_time(when, "en", "Australia/Melbourne") == "10:30"
    assert format_time(when, "en", "Australia/Melbourne", "EEE HH:mm") == "Tue 10:30"
    assert format_time(when, "de", "Australia/Melbourne", "EEE HH:mm") == "Di. 10:30"
    assert format_time(when, "de", "Europe/Berlin") == "00:30"
    assert format_time(None, "de", "Europe/Berlin") == "–"
