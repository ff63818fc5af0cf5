"""The daily brief of the demo city at ``T0``'s day: its sections and figures are the
cockpit's for that moment, in English and German; the PDF's own text holds them, it
fits on at most two A4 pages, and a picture of its first page is kept to be looked at."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pypdf
import pypdfium2
import pytest
from PIL import Image

from cockpit.present.brief import (
    Brief,
    DayOutsideHistory,
    brief_days,
    brief_moment,
    build_brief,
    parse_day,
)
from cockpit.present.brief_render import brief_html, brief_mail, brief_pdf, brief_text
from cockpit.present.kpi_words import figure_words
from cockpit.storage import Decision
from tests.browser import T0, Clock
from tests.conftest import AppServers
from wiring.runtime import Runtime

DAY = T0.tz_convert("Australia/Melbourne").date()  # 24 November 2026, a Tuesday
ROLE = "executive"
DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    rt = app_server.city(clock)
    rt.journal.record_decision(
        Decision(
            what="Bus lane opened",
            place="Swanston St",
            effective=(T0 - pd.Timedelta(days=3)).to_pydatetime(),
            author="erin",
            kpis=["footfall", "traffic"],
        ),
        now=(T0 - pd.Timedelta(days=3)).to_pydatetime(),
    )
    return rt


@pytest.fixture(scope="module")
def brief(runtime: Runtime) -> Brief:
    return build_brief(runtime.city, runtime.journal, DAY, ROLE, "en", T0.to_pydatetime())


@pytest.fixture(scope="module")
def pdf(brief: Brief, runtime: Runtime) -> bytes:
    return brief_pdf(brief_html(brief, runtime.config))


def test_the_brief_stands_at_seven_on_its_day(brief: Brief, runtime: Runtime) -> None:
    local = pd.Timestamp(brief.moment).tz_convert("Australia/Melbourne")
    assert (local.date(), local.hour, local.minute) == (DAY, 7, 0)
    assert brief.title == "Daily brief for November 24, 2026"
    assert "Tuesday, November 24, 2026, 07:00" in brief.as_of


def test_a_day_still_to_come_stands_at_now(runtime: Runtime) -> None:
    early = (T0 - pd.Timedelta(hours=5)).to_pydatetime()  # 05:30 in Melbourne
    assert brief_moment(runtime.city, DAY, early) == early


def test_kpis_are_the_cockpits_at_that_moment(brief: Brief, runtime: Runtime) -> None:
    city = runtime.city
    shown = city.view_at(ROLE, brief.moment).kpis
    assert [k.key for k in brief.kpis] == [k.key for k in shown]
    for mine, theirs in zip(brief.kpis, shown, strict=True):
        assert mine.value == theirs.value
        assert mine.figure == f"{theirs.display} {figure_words(theirs)}".strip()
        assert mine.level == theirs.level
    comparisons = city.twin_at(brief.moment, ROLE).comparisons
    traffic = next(k for k in brief.kpis if k.key == "traffic")
    typical = comparisons["traffic"].typical
    assert traffic.typical.startswith(f"typical {typical:,.0f}")
    assert traffic.target.startswith("target ≤ 1,300 veh/h by 2030")


def test_sparklines_run_hourly_from_yesterdays_start(brief: Brief) -> None:
    footfall = next(k for k in brief.kpis if k.key == "footfall")
    assert len(footfall.spark) == 31  # yesterday's 24 hours and this morning's 7
    assert sum(v is not None for v in footfall.spark) >= 24


def test_needs_attention_is_the_cockpits_list(brief: Brief, runtime: Runtime) -> None:
    items = runtime.city.needs_attention(ROLE, brief.moment, runtime.config.brief.items)
    assert len(brief.attention) == len(items) >= 1
    for line, item in zip(brief.attention, items, strict=True):
        assert line.startswith(f"{item.name}:")


def test_alerts_raised_and_resolved_yesterday(brief: Brief, runtime: Runtime) -> None:
    start = pd.Timestamp(DAY - timedelta(days=1), tz="Australia/Melbourne")
    end = start + pd.Timedelta(days=1)
    alerts = runtime.city.alerts_at(ROLE, brief.moment)
    raised = {a.key for a in alerts if start <= a.opened < end}
    resolved = {a.key for a in alerts if a.closed is not None and start <= a.closed < end}
    assert raised and resolved  # the demo's Monday has both
    limit = runtime.config.brief.items
    assert {a.key for a in brief.raised} <= raised
    assert len(brief.raised) == min(limit, len(raised))
    assert {a.key for a in brief.resolved} <= resolved
    assert len(brief.resolved) == min(limit, len(resolved))


def test_yesterday_against_a_usual_monday(brief: Brief) -> None:
    assert any("t of CO₂ yesterday (an estimate)" in e for e in brief.events)
    footfall = [e for e in brief.events if e.startswith("Footfall yesterday")]
    assert len(footfall) == 1
    assert "for a Monday; highest at" in footfall[0]


def test_decisions_with_their_before_and_after(brief: Brief, runtime: Runtime) -> None:
    (decision,) = brief.decisions
    assert (decision.what, decision.place) == ("Bus lane opened", "Swanston St")
    effects = runtime.city.decision_effects(
        ROLE, runtime.journal.decisions()[0], until=brief.moment
    )
    assert len(decision.effects) == len(effects) == 2
    footfall = dict(effects)["footfall"]
    assert decision.effects[0].startswith("Footfall: ")
    assert f"{abs(footfall.after_vs_usual):.0%}" in decision.effects[0]


def test_the_map_holds_every_site_with_a_state(brief: Brief, runtime: Runtime) -> None:
    view = runtime.city.view_at(ROLE, brief.moment)
    assert len(brief.sites) == sum(len(f) for f in view.layers.values())
    assert {s.level for s in brief.sites} >= {"ok", "alert"}


def test_every_source_is_credited(brief: Brief, runtime: Runtime) -> None:
    for source in runtime.config.sources.values():
        assert any(
            line.startswith(source.name) and source.licence in line for line in brief.sources
        )


def test_the_german_brief(runtime: Runtime) -> None:
    german = build_brief(runtime.city, runtime.journal, DAY, ROLE, "de", T0.to_pydatetime())
    assert german.title == "Tagesbericht für den 24. November 2026"
    assert any(e.startswith("Passantenfrequenz gestern") for e in german.events)
    text = brief_text(german)
    for heading in ("Braucht Aufmerksamkeit", "Kennzahlen gegenüber üblich und Ziel", "Gestern"):
        assert heading in text
    assert "Fußgängerzählsystem" in text  # the city's own words in German too


def test_days_outside_the_history_are_refused(runtime: Runtime) -> None:
    city, now = runtime.city, T0.to_pydatetime()
    first, last = brief_days(city, now)
    assert last == DAY
    assert (last - first).days == runtime.config.storage.history_days - 1
    assert parse_day(first.isoformat(), city, now) == first
    for text in ((first - timedelta(days=1)).isoformat(), "2026-11-25", "24.11.2026", "x"):
        with pytest.raises(DayOutsideHistory):
            parse_day(text, city, now)
    with pytest.raises(DayOutsideHistory):
        build_brief(city, runtime.journal, date(2026, 11, 25), ROLE, "en", now)


def test_the_pdf_says_it_all_on_at_most_two_pages(
    pdf: bytes, brief: Brief, screenshots: Path
) -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert 1 <= len(reader.pages) <= 2
    assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    for heading in (
        brief.title,
        "Needs attention",
        "Key figures against typical and target",
        "The city's sites by state",
        "Yesterday",
        "Alerts raised yesterday",
        "Alerts resolved yesterday",
        "Decisions and their effect",
        "Sources and licences",
        "CC BY 4.0",
    ):
        assert heading in text, heading
    for item in brief.kpis:
        assert item.figure in text, item.figure
    assert brief.attention[0][:30] in text
    document = pypdfium2.PdfDocument(pdf)
    picture = document[0].render(scale=1.5).to_pil()
    assert picture.size == (893, 1263)
    picture.save(screenshots / "brief-en.png")
    picture.convert("RGB").resize((714, 1010)).save(DOCS / "brief.png", optimize=True)
    document.close()


def test_the_mail_carries_html_text_pictures_and_the_pdf(runtime: Runtime) -> None:
    mail = brief_mail(runtime.city, runtime.journal, DAY, "de", T0.to_pydatetime())
    assert mail.subject == "Tagesbericht für den 24. November 2026 · Melbourne (demo)"
    assert mail.html.startswith("<!doctype html>") and 'lang="de"' in mail.html
    # Mail readers show no inline SVG: the map and a sparkline per KPI come as PNG.
    assert "<svg" not in mail.html
    assert len(mail.images) == 1 + len(runtime.city.view_at(ROLE, T0).kpis)
    for cid, png in mail.images:
        assert f'src="cid:{cid}"' in mail.html
        picture = Image.open(io.BytesIO(png))
        assert picture.format == "PNG" and picture.width >= 300
    assert 'alt="Karte der Messorte, nach Zustand gefärbt"' in mail.html
    assert "Braucht Aufmerksamkeit" in mail.text
    assert mail.pdf.startswith(b"%PDF-")
    assert mail.filename == "brief-2026-11-24-de.pdf"
