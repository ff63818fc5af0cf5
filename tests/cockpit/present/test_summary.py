"""The plain-language summary in every supported language, from constructed figures."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.pofile import read_po

from cockpit.present.i18n import LOCALES
from cockpit.present.summary import attention_sentence, city_summary, summary_languages
from cockpit.twin.baseline import Anomaly, KpiComparison
from cockpit.twin.climate import Co2Estimate, Co2Factors
from cockpit.twin.kpi import Kpi
from cockpit.twin.targets import TargetProgress

TZ = "Australia/Melbourne"
NOW = pd.Timestamp("2026-11-24 10:20", tz=TZ).tz_convert("UTC").to_pydatetime()


def figures() -> dict[str, object]:
    comparison = KpiComparison("footfall", "Footfall", 164.0, 200.0, -0.18, "below", NOW, 1, 10, 2)
    traffic = KpiComparison("traffic", "Traffic flow", 2100.0, 2000.0, 0.05, "above", NOW, 1, 10, 9)
    kpis = [
        Kpi("air", "Air quality", 2.0, "EAQI band", "Fair", "warn", "fair", ""),
        Kpi("parking", "Parking occupancy", 72.4, "%", "72", "ok", "spaces free", ""),
        Kpi("footfall", "Footfall", 164.0, "persons/h", "164", "ok", "as usual", ""),
    ]
    anomaly = Anomaly(
        "pedestrians:1", "Swanston St", "pedestrians", "pedestrians", NOW, 2400.0, 800.0,
        100.0, 16.0, "above",
    )  # fmt: skip
    target = TargetProgress(
        "air", "Annual mean NO₂ below 20 µg/m³ by 2030", "no2", "µg/m³", "below", 20.0, 2030,
        23.46, 30.0, date(2026, 1, 1), 28.0, 0.65, "on track", 365, 365,
    )  # fmt: skip
    co2 = Co2Estimate(date(2026, 11, 23), 10_800.0, 16_200.0, 1234.56, 2, 36, Co2Factors(180, 1.5))
    return {
        "kpis": kpis,
        "comparisons": [comparison, traffic],
        "anomalies": [anomaly],
        "targets": [target],
        "co2": co2,
    }


def test_english_summary_says_what_is_unusual_in_numbers_and_words() -> None:
    text = city_summary(now=NOW, timezone=TZ, language="en", **figures())  # type: ignore[arg-type]
    assert text == [
        "The city at Tuesday 10:20.",
        "Footfall is 18% below a typical Tuesday at 10:00.",
        "Traffic flow is 5% above a typical Tuesday at 10:00.",
        "Air quality is fair.",
        "72% of parking places are occupied.",
        "One place is unusual today.",
        "Swanston St: Pedestrians 2,400, far above the usual 800.",
        # Above a "below" target: not met, whatever the way to it.
        "Annual mean NO₂ below 20 µg/m³ by 2030: not met yet, now 23.5 µg/m³; ahead of the "
        "path to 2030.",
        "Road traffic emitted an estimated 1,234.6 t of CO₂ on November 23, 2026.",
    ]


def test_german_summary_translates_words_and_formats_numbers() -> None:
    text = city_summary(now=NOW, timezone=TZ, language="de", **figures())  # type: ignore[arg-type]
    assert text[0] == "Die Stadt am Dienstag 10:20."
    assert text[1] == "Die Passantenfrequenz liegt 18\xa0% unter einem typischen Dienstag um 10:00."
    assert text[3] == "Die Luftqualität ist mittelmäßig."
    assert text[6] == "Swanston St: Fußgänger 2.400, weit über dem Üblichen von 800."
    assert text[7].endswith("jetzt 23,5 µg/m³; vor dem Pfad bis 2030.")
    assert text[8] == (
        "Der Straßenverkehr hat am 23. November 2026 schätzungsweise 1.234,6 t CO₂ ausgestoßen."
    )


@pytest.mark.parametrize("language", summary_languages())
def test_every_language_fills_every_placeholder(language: str) -> None:
    many = figures()
    anomaly = many["anomalies"][0]  # type: ignore[index]
    many["anomalies"] = [anomaly] * 4
    text = city_summary(now=NOW, timezone=TZ, language=language, **many)  # type: ignore[arg-type]
    quiet = city_summary([], [], [], NOW, TZ, language)
    assert len(text) == 11 and len(quiet) == 2
    for line in text + quiet:
        assert "{" not in line and "}" not in line
    assert "4" in text[5]


def test_every_summary_message_has_a_translation() -> None:
    source = (
        Path(__file__).resolve().parents[3] / "cockpit" / "present" / "summary.py"
    ).read_text()
    messages = set(re.findall(r'_\(\s*"([^"]+)"\s*\)', source))
    words = {"Footfall", "Traffic flow", "Parking occupancy", "Air quality", "Pedestrians"}
    for language in summary_languages():
        if language == "en":
            continue
        path = LOCALES / language / "LC_MESSAGES" / "summary.po"
        with path.open("rb") as handle:
            catalogue = {str(m.id): m.string for m in read_po(handle) if m.id}
        missing = sorted(m for m in messages | words if not catalogue.get(m))
        assert missing == [], f"{language}: {missing}"


def test_a_place_that_needs_attention_in_one_sentence() -> None:
    from cockpit.twin.attention import AttentionItem

    def item(value: float, typical: float) -> AttentionItem:
        direction = "above" if value > typical else "below"
        return AttentionItem(
            "pedestrians:1", "Swanston St", "pedestrians", "pedestrians", value, typical,
            value / typical - 1, direction, NOW, -37.81, 144.96, 1.0,
        )  # fmt: skip

    assert attention_sentence(item(2400, 1500), "en", TZ) == (
        "Swanston St: Pedestrians 2,400 persons/h at 10:20, 60% above the usual 1,500."
    )
    assert attention_sentence(item(300, 1500), "en", TZ) == (
        "Swanston St: Pedestrians 300 persons/h at 10:20, 80% below the usual 1,500."
    )
    assert attention_sentence(item(920, 40), "en", TZ) == (
        "Swanston St: Pedestrians 920 persons/h at 10:20, 23 times the usual 40."
    )
    german = attention_sentence(item(2400, 1500), "de", TZ)
    assert german.startswith("Swanston St: Fußgänger 2.400 Personen/h um 10:20") and "60" in german
