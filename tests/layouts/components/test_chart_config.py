"""A chart's toolbar in the viewer's language."""

from __future__ import annotations

from layouts.components.chart_config import TOOLBAR_WORDS, chart_config


def test_english_keeps_plotlys_own_words() -> None:
    config = chart_config("en")
    assert "locale" not in config and config["displaylogo"] is False
    assert config["showSendToCloud"] is False  # the city's data never goes to Plotly's cloud
    assert chart_config("en", displayModeBar=False)["displayModeBar"] is False


def test_german_carries_its_own_locale_for_the_toolbar_dates_and_numbers() -> None:
    config = chart_config("de", toImageButtonOptions={"filename": "x"})
    assert config["locale"] == "de" and config["toImageButtonOptions"] == {"filename": "x"}
    locale = config["locales"]["de"]
    # Every toolbar word is translated, none left as Plotly's English.
    assert set(locale["dictionary"]) == set(TOOLBAR_WORDS)
    assert locale["dictionary"]["Reset axes"] == "Achsen zurücksetzen"
    assert locale["dictionary"]["Zoom in"] == "Vergrößern"
    fmt = locale["format"]
    assert fmt["days"][0] == "Sonntag" and fmt["days"][1] == "Montag"  # Sunday first
    assert fmt["months"][2] == "März" and len(fmt["shortMonths"]) == 12
    assert (fmt["decimal"], fmt["thousands"]) == (",", ".")


def test_a_language_without_a_catalogue_still_gets_its_dates_from_babel() -> None:
    locale = chart_config("fr")["locales"]["fr"]
    assert locale["dictionary"] == {}  # no French catalogue: Plotly's English stays
    assert locale["format"]["months"][0] == "janvier"
