"""Message catalogues and number and time formats per language.

The kiosk and the "how this data is collected" pages take every user-facing string from
their catalogues; these tests read the code's messages the way ``pybabel extract`` does
and check that German has each of them, with the same placeholders.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from cockpit.domains import translation
from cockpit.present.i18n import (
    LOCALES,
    available_languages,
    format_number,
    format_time,
    translator,
    untranslated,
    use_city_texts,
)

ROOT = Path(__file__).resolve().parents[3]
DOMAINS = {
    "kiosk": [
        "cockpit/present/slides.py",
        "cockpit/present/demo.py",
        "layouts/pages/citizen.py",
        "layouts/pages/kiosk.py",
    ],
    "about": ["layouts/routes/about.py"],
    "reports": ["layouts/routes/reports.py", "cockpit/present/report_words.py"],
    "mobile": [
        "layouts/pages/mobile.py",
        "layouts/components/mobile_alerts.py",
        "layouts/components/mobile_data.py",
        "layouts/components/mobile_parts.py",
    ],
    "cockpit": [
        "layouts/pages/cockpit.py",
        "layouts/pages/rules.py",
        "cockpit/twin/rules.py",
        "layouts/pages/twin3d.py",
        "layouts/components/twin3d.py",
        "layouts/pages/twin3d_columns.py",
        "layouts/components/twin3d_columns.py",
        "layouts/pages/notices.py",
        "layouts/pages/decisions.py",
        "layouts/pages/data.py",
        "layouts/components/map.py",
        "layouts/components/trend.py",
        "layouts/components/timemachine.py",
        "layouts/components/health_panel.py",
        "layouts/components/kpi_card.py",
        "layouts/components/shell.py",
        "layouts/components/chart_config.py",
    ],
    "brief": [
        "cockpit/present/brief.py",
        "cockpit/present/brief_render.py",
        "layouts/components/brief_link.py",
        "cockpit/present/templates/brief.html",
    ],
}


def messages(domain: str) -> set[str]:
    """The messages the code of ``domain`` marks with ``_()`` or translates with ``_t()``."""
    found: set[str] = set()
    for path in DOMAINS[domain]:
        method = babel_extract if path.endswith(".html") else "python"
        for _line, text, _comments, _context in extract_from_file(
            method, str(ROOT / path), keywords={"_": None, "_t": None}
        ):
            if isinstance(text, str):
                found.add(text)
    return found


# Words German writes as English does.
SAME_IN_GERMAN = {
    "Cockpit",
    "Export",
    "Live",
    "Sensor {state}",
    "Name",
    "Status",
    "Text ({language})",
    "{rule} {state}.",
}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w*)\}", text))


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_german_has_every_message_with_its_placeholders(domain: str) -> None:
    german = translator("de", domain)
    found = messages(domain)
    assert len(found) > 20
    for message in sorted(found):
        translated = german(message)
        assert translated != message or message in SAME_IN_GERMAN, f"no German for {message!r}"
        assert placeholders(translated) == placeholders(message), message


# Catalogues that word a sentence around a label ("Die Luftqualität …") may differ from
# the label itself; every other catalogue calls a state or a measure what the map does.
SENTENCE_CATALOGUES = {"summary", "mobile"}


@pytest.mark.parametrize(
    "catalogue",
    sorted(
        p.stem
        for p in (LOCALES / "de" / "LC_MESSAGES").glob("*.po")
        if p.stem not in SENTENCE_CATALOGUES
    ),
)
def test_a_catalogue_names_a_label_as_the_domains_do(catalogue: str) -> None:
    """One word per state in a language: the map's legend, the rules page and the brief
    must not call "moderate" two different things."""
    with (LOCALES / "de" / "LC_MESSAGES" / f"{catalogue}.po").open("rb") as handle:
        entries = read_po(handle, locale="de")
    clashes = {
        str(m.id): (str(m.string), translation("de", str(m.id)))
        for m in entries
        if m.id and isinstance(m.id, str) and translation("de", m.id) not in (None, m.string)
    }
    assert clashes == {}


@pytest.mark.parametrize(
    "catalogue",
    sorted(LOCALES.glob("*/LC_MESSAGES/*.po")),
    ids=lambda p: f"{p.parent.parent.name}/{p.stem}",
)
def test_a_catalogue_says_each_message_once(catalogue: Path) -> None:
    """A message written twice keeps only its last translation, silently."""
    ids = re.findall(r'^msgid ((?:".*"\n)+)', catalogue.read_text(encoding="utf-8"), re.M)
    assert [i for i in set(ids) if ids.count(i) > 1] == []


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


def test_a_citys_own_words_come_first_and_a_name_may_stay_as_it_is() -> None:
    words = ["Bike traffic", "Parking", "Jungfernstieg", "Nowhere translated"]
    before = untranslated(words, "de")
    assert "Bike traffic" in before and "Parking" not in before  # the catalogue has Parking
    use_city_texts(
        {
            "de": {
                "Bike traffic": "Radverkehr",
                "Parking": "Parken",
                "Jungfernstieg": "Jungfernstieg",
            }
        }
    )
    try:
        _ = translator("de", "cockpit")
        assert (_("Bike traffic"), _("Parking")) == ("Radverkehr", "Parken")  # the city's wins
        assert untranslated(words, "de") == ["Nowhere translated"]
        assert untranslated(words, "en") == []
        assert translator("en", "cockpit")("Bike traffic") == "Bike traffic"
    finally:
        use_city_texts({})
    assert translator("de", "cockpit")("Bike traffic") == "Bike traffic"


def sign_in_messages() -> set[str]:
    """The sign-in page's words (``_("…")`` in its template and code, each fixed error
    the page shows: ``page("…", …)``) and the message of every single sign-on refusal
    (``SignInRefused(reason, message, …)``)."""
    page = (ROOT / "layouts/routes/signin.py").read_text(encoding="utf-8")
    found = set(re.findall(r'_\("([^"]+)"\)', page))
    for node in ast.walk(ast.parse(page)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "page" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_TOO_MANY":
            found.update(ast.literal_eval(node.value).values())
    tree = ast.parse((ROOT / "layouts/routes/oidc.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "SignInRefused":
            message = node.args[1]
            assert isinstance(message, ast.Constant), ast.dump(message)
            found.add(message.value)
    return found


def test_german_has_every_sign_in_message() -> None:
    german = translator("de", "signin")
    found = sign_in_messages()
    assert "Sign in with {label}" in found
    assert any(m.startswith("Your account has no role in City Cockpit.") for m in found)
    assert "User name or password is wrong." in found
    assert "You are not signed in." in found and "{n} minutes" in found
    assert any(m.startswith("Too many failed sign-ins from this address") for m in found)
    assert len(found) >= 10
    for message in sorted(found):
        translated = german(message)
        assert translated != message or message in SAME_IN_GERMAN, f"no German for {message!r}"
        assert placeholders(translated) == placeholders(message), message
