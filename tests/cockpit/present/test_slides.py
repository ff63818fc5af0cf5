"""What a kiosk says, as pure functions of the public view, the notices and the time."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import time, timedelta

import pandas as pd
import pytest
from pydantic import ValidationError

from cockpit.city import CityView
from cockpit.config import CityConfig, KioskScreenConfig
from cockpit.model import empty_observations, empty_sites
from cockpit.present import slides as kiosk
from cockpit.present.demo import credit_text
from cockpit.present.i18n import format_number
from cockpit.present.kiosk_reports import kiosk_reports
from cockpit.reports import Report
from cockpit.state.journal import Notice
from layouts.components.kiosk_map import overview_svg
from tests.browser import T0, Clock, demo_runtime
from tests.layouts.pages.test_kiosk import INTERNAL_NAME, INTERNAL_SOURCE, kiosk_config
from wiring.runtime import Runtime

NOW = T0.to_pydatetime()
TZ = "Australia/Melbourne"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = demo_runtime(
        tmp_path_factory.mktemp("data"), Clock(T0), config=kiosk_config(), backfill=False
    )
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def config(runtime: Runtime) -> CityConfig:
    return runtime.config


@pytest.fixture(scope="module")
def view(runtime: Runtime) -> CityView:
    return runtime.city.view("public")


def slide(slides: list[kiosk.Slide], key: str, lang: str = "en") -> kiosk.Slide:
    return next(s for s in slides if s.key == key and s.language == lang)


def every_text(slides: list[kiosk.Slide]) -> str:
    parts: list[str] = []
    for s in slides:
        parts += [s.question, s.answer, s.figure, s.figure_label, s.stale_label, s.about]
        parts += list(s.lines) + list(s.credits)
        parts += [f"{i.label} {i.value}" for i in s.items]
        parts.append(s.age.text if s.age else "")
    return "\n".join(parts)


# -- screens, ids, rotation, night ------------------------------------------------------
def test_default_screen_shows_every_slide_in_every_kiosk_language(config: CityConfig) -> None:
    screen = kiosk.screen_for(config, None)
    assert screen.id == kiosk.DEFAULT_SCREEN and screen.title == config.city.name
    assert screen.slides == kiosk.SLIDES
    assert screen.languages == ("en", "de")
    assert screen.rotate_seconds == 3


def test_named_screen_and_unknown_screen(config: CityConfig) -> None:
    station = kiosk.screen_for(config, "station")
    assert station.id == "station" and station.slides == ("overview", "parking")
    assert station.title == "Flinders Street Station"
    # An unknown screen set shows the default screen, never an error page.
    assert kiosk.screen_for(config, "no-such-screen").id == kiosk.DEFAULT_SCREEN


def test_screen_languages_and_a_pinned_language(config: CityConfig) -> None:
    own = config.model_copy(deep=True)
    with pytest.raises(ValidationError, match="unknown slide 'bogus'"):
        KioskScreenConfig(slides=["air", "bogus"])
    # A screen made without the config's checks still shows only slides that exist.
    own.kiosk.screens["hall"] = KioskScreenConfig.model_construct(
        slides=["air", "bogus"], languages=["de"], position=[], place="", title=""
    )
    hall = kiosk.screen_for(own, "hall")
    assert hall.slides == ("air",) and hall.languages == ("de",)
    assert kiosk.screen_for(own, None, "de").languages == ("de",)
    assert kiosk.screen_for(own, None, "fr").languages == ("en", "de")  # not offered


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("station-3", "station-3"),
        ("hall_1.b", "hall_1.b"),
        ("<script>alert(1)</script>", "scriptalert1script"),
        ("", "default"),
        (None, "default"),
        (["a"], "default"),
        ("x" * 100, "x" * 64),
    ],
)
def test_kiosk_ids_are_plain_names(raw: object, expected: str) -> None:
    assert kiosk.kiosk_id(raw, "default") == expected


def test_rotation_goes_through_all_slides_in_one_language_then_the_next(
    config: CityConfig,
) -> None:
    screen = kiosk.screen_for(config, "station")
    plan = kiosk.rotation_plan(screen)
    assert plan == [("overview", "en"), ("parking", "en"), ("overview", "de"), ("parking", "de")]
    assert kiosk.slide_at(screen, 0) == ("overview", "en")
    assert kiosk.slide_at(screen, 3.5) == ("parking", "en")
    assert kiosk.slide_at(screen, 9) == ("parking", "de")
    assert kiosk.slide_at(screen, 12) == ("overview", "en")  # and round again


@pytest.mark.parametrize(
    ("now", "start", "end", "night"),
    [
        (time(23, 0), "22:00", "06:00", True),
        (time(2, 0), "22:00", "06:00", True),
        (time(6, 0), "22:00", "06:00", False),
        (time(12, 0), "22:00", "06:00", False),
        (time(22, 0), "22:00", "06:00", True),
        (time(1, 0), "00:30", "05:00", True),
        (time(5, 30), "00:30", "05:00", False),
        (time(23, 0), "", "06:00", False),
        (time(23, 0), "22:00", "", False),
        (time(23, 0), "late", "06:00", False),
        (time(23, 0), "22:00", "22:00", False),
    ],
)
def test_night_hours(now: time, start: str, end: str, night: bool) -> None:
    assert kiosk.is_night(now, start, end) is night


# -- ages ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minutes", "stale", "lang", "expected"),
    [
        (0, False, "en", "Updated 10:30, just now"),
        (30, False, "en", "Updated 10:00, 30 min ago"),
        (30, False, "de", "Aktualisiert 10:00, vor 30 Min."),
        (180, False, "en", "Updated 07:30, 3 h ago"),
        (90, True, "en", "Last updated 09:00"),
        (90, True, "de", "Zuletzt aktualisiert 09:00"),
        (60 * 26, True, "en", "Last updated Mon 08:30"),
    ],
)
def test_age_in_words(minutes: int, stale: bool, lang: str, expected: str) -> None:
    updated = NOW - timedelta(minutes=minutes)
    assert kiosk.age_text(updated, NOW, stale, lang, TZ) == expected


def test_no_data_yet_says_so() -> None:
    assert kiosk.age_text(None, NOW, True, "en", TZ) == "Waiting for the first data"


def test_freshness_marks_old_data_and_failed_refreshes(config: CityConfig, view: CityView) -> None:
    air = view.sources["air"]
    limit = config.sources["air"].stale_after_seconds
    fresh = kiosk.freshness(config, [air], NOW - timedelta(seconds=limit - 60), NOW, "en")
    assert not fresh.stale and fresh.text.startswith("Updated")
    old = kiosk.freshness(config, [air], NOW - timedelta(seconds=limit + 60), NOW, "en")
    assert old.stale and old.text.startswith("Last updated")
    failed = dataclasses.replace(air, status="stale", error="timeout")
    assert kiosk.freshness(config, [failed], NOW, NOW, "en").stale


# -- slides ------------------------------------------------------------------------------
def test_slides_cover_the_screen_in_rotation_order(config: CityConfig, view: CityView) -> None:
    screen = kiosk.screen_for(config, None)
    start, end = NOW - timedelta(minutes=5), NOW + timedelta(hours=1)
    info = Notice({"en": "Market today"}, "info", start, end, "sam")
    report = Report("AAAA-BBBB", "other", "Bench broken", NOW, -37.81, 144.96, status="published")
    slides = kiosk.build_slides(config, view, [info], screen, NOW, reports=[report])
    assert [(s.key, s.language) for s in slides] == kiosk.rotation_plan(screen)
    assert [s.index for s in slides[:7]] == list(range(7))
    assert {s.count for s in slides} == {7}


def test_an_empty_notices_slide_is_skipped(config: CityConfig, view: CityView) -> None:
    screen = kiosk.screen_for(config, None)
    slides = kiosk.build_slides(config, view, [], screen, NOW)
    assert "notices" not in {s.key for s in slides}
    assert [(s.key, s.language) for s in slides] == [
        p for p in kiosk.rotation_plan(screen) if p[0] not in ("notices", "reports")
    ]
    assert {s.count for s in slides} == {5}
    start, end = NOW - timedelta(minutes=5), NOW + timedelta(hours=1)
    emergency = Notice({"en": "Evacuate"}, "emergency", start, end, "sam")
    assert "notices" not in kiosk.shown_slides(screen, [emergency])


def test_every_overview_tile_says_its_unit(config: CityConfig, view: CityView) -> None:
    slides = kiosk.build_slides(config, view, [], kiosk.screen_for(config, None), NOW)
    tiles = {i.label: i for i in slide(slides, "overview").items}
    assert set(tiles) == {"Air", "Crowds", "Parking", "Traffic"}
    assert all(t.unit for t in tiles.values()), tiles
    bays = view.latest[view.latest["metric"] == "bay_occupied"]
    free = int((bays["value"] < 0.5).sum())
    assert (
        f"{tiles['Parking'].value} {tiles['Parking'].unit}"
        == f"{format_number(free, 'en')} free places"
    )
    assert tiles["Crowds"].unit.endswith("people per hour")
    german = {i.label: i for i in slide(slides, "overview", "de").items}
    assert german["Parken"].unit == "freie Plätze"


def test_demo_badge_and_credits_in_the_slide_language(config: CityConfig, view: CityView) -> None:
    slides = kiosk.build_slides(config, view, [], kiosk.screen_for(config, None), NOW)
    assert slide(slides, "air").demo == "Demo: replayed and simulated data"
    assert slide(slides, "overview", "de").demo == "Demo: wiedergegebene und simulierte Daten"
    german = " ".join(slide(slides, "air", "de").credits)
    assert "wiedergegeben; 10 Orte simuliert" in german
    assert "replayed" not in german and "simulated" not in german
    parking = " ".join(slide(slides, "parking", "de").credits)
    assert "simuliert (nach einer Momentaufnahme von 2025)" in parking
    assert "Mai 2025, wiedergegeben" in " ".join(slide(slides, "pedestrians", "de").credits)
    # A city measured live carries no badge.
    live = {k: dataclasses.replace(i, origin="measured") for k, i in view.sources.items()}
    sites = view.sites.assign(origin="measured")
    measured = dataclasses.replace(view, sources=live, sites=sites)
    live_slides = kiosk.build_slides(config, measured, [], kiosk.screen_for(config, None), NOW)
    assert {s.demo for s in live_slides} == {""}


def test_parking_answers_for_where_the_kiosk_stands(config: CityConfig, view: CityView) -> None:
    here = (-37.8179, 144.9670)
    config = config.model_copy(deep=True)
    config.kiosk.screens["station"] = KioskScreenConfig(
        title="Flinders Street Station", slides=["parking"], position=list(here)
    )
    screen = kiosk.screen_for(config, "station")
    assert screen.position == here and screen.place == "Flinders Street Station"
    parking = slide(kiosk.build_slides(config, view, [], screen, NOW), "parking")
    bays = view.latest[view.latest["metric"] == "bay_occupied"].merge(
        view.sites, left_on="site_id", right_on="id"
    )
    away = [kiosk.metres_between(here, (a, b)) for a, b in zip(bays.lat, bays.lon, strict=True)]
    near = sum(1 for d, v in zip(away, bays["value"], strict=True) if d <= 500 and v < 0.5)
    assert parking.answer == format_number(near, "en")
    assert parking.figure_label == "free parking spaces within 500 m of here"
    assert parking.nearby is not None and parking.nearby.here == "Flinders Street Station"
    assert len(parking.nearby.free) >= near
    metres = [int(i.unit.split()[0].replace(",", "")) for i in parking.items]
    assert metres == sorted(metres) and parking.items[0].unit.endswith("min walk")


@pytest.mark.parametrize("lang", ["en", "de"])
def test_air_names_the_nearest_station_where_the_screen_stands(
    config: CityConfig, view: CityView, lang: str
) -> None:
    """A citizen at a place gets the station nearest to them, its own index and how far
    it is; the city's worst reading still follows. Without a place: no such line."""
    air = view.sites[view.sites["domain"] == "air"].merge(
        view.latest, left_on="id", right_on="site_id"
    )
    station = air.sort_values("site_id").iloc[0]
    here = (float(station["lat"]) + 0.001, float(station["lon"]))  # about 110 m north
    config = config.model_copy(deep=True)
    config.kiosk.screens["corner"] = KioskScreenConfig(
        title="Corner", slides=["air"], position=list(here), languages=[lang]
    )
    screen = kiosk.screen_for(config, "corner")
    lines = slide(kiosk.build_slides(config, view, [], screen, NOW), "air", lang).lines
    nearest = [line for line in lines if str(station["name"]) in line]
    assert len(nearest) >= 1
    words = {"en": ("Nearest station", "110 m from here"), "de": ("Nächste", "110 m von hier")}
    assert all(w in nearest[0] for w in words[lang]), nearest[0]
    # Its own index, in the words the slide's language names the bands.
    bands = {
        "en": ("good", "fair", "moderate", "poor", "very poor", "extremely poor"),
        "de": ("gut", "ordentlich", "mäßig", "schlecht", "sehr schlecht", "äußerst schlecht"),
    }
    assert nearest[0].rsplit(": ", 1)[1] in bands[lang]
    whole_city = kiosk.screen_for(config, None)
    city_lines = slide(kiosk.build_slides(config, view, [], whole_city, NOW), "air").lines
    assert not any("Nearest station" in line for line in city_lines)


def test_metres_between_known_places() -> None:
    # A degree of latitude is 111.2 km; a degree of longitude at 60° half that.
    assert kiosk.metres_between((-37.0, 145.0), (-38.0, 145.0)) == pytest.approx(111_195, 1)
    assert kiosk.metres_between((60.0, 10.0), (60.0, 11.0)) == pytest.approx(55_597, rel=1e-3)
    assert kiosk.metres_between((0.0, 0.0), (0.0, 0.0)) == 0


def test_domain_slides_answer_with_public_figures(config: CityConfig, view: CityView) -> None:
    slides = kiosk.build_slides(config, view, [], kiosk.screen_for(config, None), NOW)
    kpis = {k.key: k for k in view.kpis}
    assert slide(slides, "air").question == "Is the air good today?"
    assert slide(slides, "air", "de").question == "Ist die Luft heute gut?"
    assert slide(slides, "air").answer == kpis["air"].display  # "Good"
    footfall = kpis["footfall"].value or 0
    crowds = slide(slides, "pedestrians", "de")
    assert format_number(footfall, "de") in (crowds.answer, crowds.figure)
    traffic = slide(slides, "traffic")
    assert format_number(kpis["traffic"].value or 0, "en") in (traffic.answer, traffic.figure)
    for key in kiosk.DOMAIN_SLIDES:
        s = slide(slides, key)
        assert s.age is not None and s.age.text.startswith("Updated"), key
        assert s.credits == (credit_text(view.sources[key], "en"),)
        assert s.about_path == f"/about/{key}"


def test_parking_says_where_the_free_spaces_are(config: CityConfig, view: CityView) -> None:
    parking = slide(
        kiosk.build_slides(config, view, [], kiosk.screen_for(config, None), NOW), "parking"
    )
    bays = view.latest[view.latest["metric"] == "bay_occupied"]
    free = int((bays["value"] < 0.5).sum())
    assert parking.answer == format_number(free, "en")
    counts = [int(i.value.split(" of ")[0].replace(",", "")) for i in parking.items]
    assert all(i.unit == "free places" for i in parking.items)
    assert counts == sorted(counts, reverse=True) and 0 < sum(counts) <= free
    districts = set(view.sites["district"].dropna())
    assert {i.label for i in parking.items} <= districts


def test_public_slides_never_name_internal_data(runtime: Runtime, view: CityView) -> None:
    config = runtime.config
    internal = runtime.city.view("executive")
    assert INTERNAL_SOURCE in internal.sources and INTERNAL_SOURCE not in view.sources
    screen = kiosk.screen_for(config, None)
    public_text = every_text(kiosk.build_slides(config, view, [], screen, NOW))
    assert INTERNAL_NAME not in public_text
    # The same functions over the staff view would show it: the view is what protects.
    assert INTERNAL_NAME in every_text(kiosk.build_slides(config, internal, [], screen, NOW))
    assert overview_svg(config, view) != overview_svg(config, internal)


def test_failed_source_keeps_its_last_value_and_hides_the_error(
    config: CityConfig, view: CityView
) -> None:
    sources = dict(view.sources)
    sources["air"] = dataclasses.replace(
        sources["air"], status="stale", error="HTTP 503 from https://upstream.example"
    )
    failed = dataclasses.replace(view, sources=sources)
    screen = kiosk.screen_for(config, None)
    before = slide(kiosk.build_slides(config, view, [], screen, NOW), "air")
    after = kiosk.build_slides(config, failed, [], screen, NOW)
    air = slide(after, "air")
    assert air.answer == before.answer and air.answer != "–"
    assert air.stale_label == "Not current" and air.level == "none"
    updated = pd.Timestamp(view.sources["air"].updated).tz_convert(TZ)
    assert air.age is not None and air.age.text == f"Last updated {updated:%H:%M}"
    assert "503" not in every_text(after) and "upstream" not in every_text(after)
    assert slide(after, "overview").stale_label == "Not current"


def test_a_city_without_data_never_shows_an_empty_tile(config: CityConfig) -> None:
    empty = CityView(0, "public", NOW, empty_sites(), empty_observations(), {}, [], {})
    slides = kiosk.build_slides(config, empty, [], kiosk.screen_for(config, None), NOW)
    for key in kiosk.DOMAIN_SLIDES:
        s = slide(slides, key)
        assert s.answer == "–"
        assert s.lines == ("This figure will appear as soon as its sensors report.",)
        assert s.age is not None and s.age.text == "Waiting for the first data"
    assert slide(slides, "air", "de").lines == (
        "Diese Zahl erscheint, sobald ihre Sensoren melden.",
    )


def test_notices_slide_and_emergency(config: CityConfig, view: CityView) -> None:
    screen = kiosk.screen_for(config, None)
    start, end = NOW - timedelta(minutes=5), NOW + timedelta(hours=1)
    warning = Notice({"en": "Smog warning", "de": "Smogwarnung"}, "warning", start, end, "sam")
    emergency = Notice({"en": "Evacuate"}, "emergency", start, end, "sam")
    slides = kiosk.build_slides(config, view, [emergency, warning], screen, NOW)
    notices = slide(slides, "notices", "de")
    assert [i.label for i in notices.items] == ["Smogwarnung"]
    assert notices.items[0].value == "bis Di. 11:30" and notices.answer == ""
    assert kiosk.emergency_notice([warning]) is None
    assert kiosk.emergency_notice([emergency, warning]) is emergency


# -- citizens' reports -------------------------------------------------------------------
def citizen_report(code: str, status: str = "published", days: float = 1) -> Report:
    return Report(
        code,
        "parking_wrong",
        f"Car park shown free but full ({code})",
        NOW - timedelta(days=days),
        -37.8136,
        144.9631,
        status=status,
        answer="Sensor checked" if status == "published" else "",
    )


def test_the_reports_slide_lists_published_reports_in_each_language(
    config: CityConfig, view: CityView
) -> None:
    screen = kiosk.screen_for(config, None)
    reports = [citizen_report(f"AAAA-BBB{n}", days=n) for n in range(2, 7)]
    reports.append(citizen_report("CCCC-DDDD", "received", days=0.5))
    slides = kiosk.build_slides(config, view, [], screen, NOW, reports=reports)
    en, de = slide(slides, "reports", "en"), slide(slides, "reports", "de")
    assert (en.question, de.question) == (
        "What citizens reported",
        "Was Bürgerinnen und Bürger melden",
    )
    # The newest published few; the received one is nowhere, its code neither.
    assert [r.text for r in en.reports] == [
        f"Car park shown free but full (AAAA-BBB{n})" for n in (2, 3, 4)
    ]
    assert de.reports[0].title == "Parken falsch angezeigt (z. B. voll, aber als frei gezeigt)"
    assert de.reports[0].answer == "Antwort: Sensor checked"
    assert de.lines[0].startswith("Scannen Sie den QR-Code") and en.lines[0].startswith("Scan")
    assert "CCCC-DDDD" not in repr(slides)
    # The overview's map marks all five published ones (not only the slide's few).
    assert len(slide(slides, "overview", "de").reports) == 5


def test_the_reports_slide_is_skipped_without_a_report_to_show(
    config: CityConfig, view: CityView
) -> None:
    screen = kiosk.screen_for(config, None)
    assert "reports" in screen.slides
    unshown = [
        citizen_report("AAAA-BBBB", "received"),
        citizen_report("CCCC-DDDD", "closed"),
        citizen_report("EEEE-FFFF", "merged"),
        citizen_report("GGGG-HHHH", days=config.reports.keep_days + 1),
    ]
    slides = kiosk.build_slides(config, view, [], screen, NOW, reports=unshown)
    assert "reports" not in {s.key for s in slides}
    assert all(s.reports == () for s in slides)


def test_a_named_screen_may_show_reports_unless_the_city_takes_none(config: CityConfig) -> None:
    screens = {"hall": KioskScreenConfig(title="Town hall", slides=["reports", "air"])}
    named = config.model_copy(
        update={"kiosk": config.kiosk.model_copy(update={"screens": screens})}
    )
    assert kiosk.screen_for(named, "hall").slides == ("reports", "air")
    off = named.model_copy(update={"reports": named.reports.model_copy(update={"enabled": False})})
    assert kiosk.screen_for(off, "hall").slides == ("air",)
    assert "reports" not in kiosk.screen_for(off, None).slides


def test_the_overview_map_draws_published_reports_as_their_own_layer(
    config: CityConfig, view: CityView
) -> None:
    plain = overview_svg(config, view)
    assert "cc-k-reports-layer" not in plain
    shown = kiosk_reports(config, [citizen_report("AAAA-BBBB")], {}, "en", NOW)
    svg = overview_svg(config, view, reports=shown)
    layer = svg[svg.index('<g class="cc-k-reports-layer">') :]
    assert layer.count("<polygon") == 1 and svg.index("cc-k-reports-layer") > svg.index("<circle")
    assert "Car park" not in svg  # the map shows a place, not the words
