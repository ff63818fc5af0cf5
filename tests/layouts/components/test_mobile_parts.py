"""The phone view's pure parts: distances, nearest sites, sparklines, German text."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd

from cockpit.present.i18n import translator
from cockpit.twin.alerts import AIR_STANDARDS, Alert
from layouts.components import mobile_alerts, mobile_parts
from layouts.components.mobile_parts import alert_detail, alert_title, sparkline
from layouts.pages import mobile

T = pd.Timestamp("2026-11-24 00:00", tz="UTC")


def test_sparkline_is_an_svg_with_gaps_for_missing_values() -> None:
    times = pd.Series(pd.date_range(T, periods=5, freq="h"))
    values = pd.Series([1.0, 2.0, float("nan"), 3.0, 4.0])
    uri = sparkline(times, values, T.to_pydatetime(), (T + pd.Timedelta(hours=4)).to_pydatetime())
    assert uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 1
    # The newest value sits at the right edge, the highest at the top.
    assert 'cx="316.0" cy="4.0"' in svg
    assert "<script" not in svg


def test_alert_texts_in_german() -> None:
    de = translator("de", "mobile")
    limit = AIR_STANDARDS["who2021"]["pm25"]
    alert = Alert(
        "k",
        "air.pm25",
        "air:1",
        "Station",
        "air",
        "pm25",
        T.to_pydatetime(),
        None,
        18.25,
        15,
        "µg/m³",
        limit.basis,
    )
    assert alert_title(alert, de) == "PM2.5 über dem Grenzwert"
    detail = alert_detail(alert, de, "de")
    assert detail == "24-Stunden-Mittel, WHO-Leitlinie 2021: 18,2 µg/m³, Grenzwert 15,0 µg/m³"


def test_every_phone_text_has_a_german_translation() -> None:
    de = translator("de", "mobile")
    sources = [Path(mobile.__file__), Path(mobile_parts.__file__), Path(mobile_alerts.__file__)]
    found = {m for f in sources for m in re.findall(r'_\("([^"]+)"\)', f.read_text())}
    found |= set(mobile.DOMAIN_TITLES.values())
    found |= {a.basis for s in AIR_STANDARDS.values() for a in s.values()}
    missing = sorted(m for m in found if de(m) == m)
    assert len(found) > 50
    assert missing == []
