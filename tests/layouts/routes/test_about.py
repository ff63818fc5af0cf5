"""``/about/<domain>``: how each kind of data is collected, for passers-by who scan the
kiosk's code; public sources only, with publisher and licence, in the city's languages."""

from __future__ import annotations

import pytest
from dash import Dash

from cockpit.config import CityConfig
from cockpit.domains import domain_names
from layouts.routes.about import DOMAINS, about_text
from tests.browser import Clock
from tests.conftest import AppServers
from tests.layouts.pages.test_kiosk import INTERNAL_NAME, INTERNAL_SOURCE, kiosk_config
from wiring.runtime import Runtime


def test_every_built_in_domain_has_its_page() -> None:
    assert set(DOMAINS) == set(domain_names()[:4])
    for texts in DOMAINS.values():
        assert set(texts) == {"title", "what", "privacy"} and "{n}" in texts["what"]


def test_texts_in_german_with_the_number_of_places(demo_config: CityConfig) -> None:
    english = about_text(demo_config, "air", "en", 1_234)
    german = about_text(demo_config, "air", "de", 1_234)
    assert english["t"]["title"] == "How we measure the air"  # type: ignore[index]
    assert "1,234 monitoring stations" in english["t"]["what"]  # type: ignore[index]
    assert german["t"]["what_head"] == "Was gemessen wird"  # type: ignore[index]
    assert "1.234" in german["t"]["what"]  # type: ignore[index]
    assert german["t"]["title"] != english["t"]["title"]  # type: ignore[index]


def test_only_counts_of_people_promise_small_counts_are_masked(demo_config: CityConfig) -> None:
    k = demo_config.privacy.min_group_size
    people = about_text(demo_config, "pedestrians", "en", 10)["t"]["small"]  # type: ignore[index]
    assert people == f"Counts below {k} are shown as “< {k}”, so that no one can be singled out."
    assert about_text(demo_config, "parking", "en", 10)["t"]["small"] == ""  # type: ignore[index]
    demo_config.privacy.min_group_size = 0
    assert about_text(demo_config, "pedestrians", "en", 10)["t"]["small"] == ""  # type: ignore[index]


def test_sources_are_public_ones_and_only_web_links_become_links() -> None:
    config = kiosk_config()
    config.sources["pedestrians"].licence_url = "javascript:alert(1)"
    sources = about_text(config, "pedestrians", "en", 3)["sources"]
    assert [s["name"] for s in sources] == [config.sources["pedestrians"].name]  # type: ignore[index]
    assert INTERNAL_NAME not in str(sources)
    (only,) = sources  # type: ignore[misc]
    assert only["licence_url"] == "" and only["url"].startswith("https://")
    assert only["licence"] == "CC BY 4.0" and only["publisher"]
    assert "Read every" in only["refresh"]
    with pytest.raises(KeyError):
        about_text(config, "ferries", "en", 0)


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, kiosk_config(), backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


def test_a_public_html_page_with_publisher_and_licence(app: Dash, runtime: Runtime) -> None:
    answer = app.server.test_client().get("/about/pedestrians")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    source = runtime.config.sources["pedestrians"]
    assert '<html lang="en">' in page
    assert source.publisher in page
    assert f'<a href="{source.licence_url}">{source.licence}</a>' in page
    assert INTERNAL_NAME not in page and INTERNAL_SOURCE not in page
    public = runtime.city.view("public").sites
    assert f"Sensors at {int((public['source'] == 'pedestrians').sum()):,} places" in page


def test_the_language_comes_from_the_link_or_the_browser(app: Dash) -> None:
    client = app.server.test_client()
    assert '<html lang="de">' in client.get("/about/air?lang=de").get_data(as_text=True)
    asked = client.get("/about/air", headers={"Accept-Language": "de-AT,de;q=0.9"})
    assert '<html lang="de">' in asked.get_data(as_text=True)
    # A language the city does not speak falls back to the browser's, then the first.
    assert '<html lang="en">' in client.get("/about/air?lang=xx").get_data(as_text=True)


def test_an_unknown_domain_is_a_404_in_the_viewers_language(app: Dash) -> None:
    client = app.server.test_client()
    missing = client.get("/about/secrets")
    assert missing.status_code == 404
    assert missing.get_data(as_text=True) == "There is no such page."
    german = client.get("/about/secrets?lang=de")
    assert german.status_code == 404 and german.get_data(as_text=True) != "There is no such page."


def test_the_page_says_which_places_are_simulated(demo_config: CityConfig) -> None:
    air = about_text(demo_config, "air", "en", 11, simulated=10)["t"]
    assert air["simulated"] == (  # type: ignore[index]
        "In this demonstration 10 of these 11 places are simulated: their values are made "
        "by a program, shaped like a real recording, not measured."
    )
    german = about_text(demo_config, "air", "de", 11, simulated=10)["t"]
    assert "10 dieser 11 Orte simuliert" in german["simulated"]  # type: ignore[index]
    parking = about_text(demo_config, "parking", "en", 3309, simulated=3309)["t"]
    assert "all 3,309 places are simulated" in parking["simulated"]  # type: ignore[index]
    measured = about_text(demo_config, "pedestrians", "en", 66, simulated=0)["t"]
    assert measured["simulated"] == ""  # type: ignore[index]


def test_the_air_page_says_ten_of_its_stations_are_simulated(app: Dash, runtime: Runtime) -> None:
    client = app.server.test_client()
    sites = runtime.city.view("public").sites
    air = sites[sites["source"] == "air"]
    simulated = int((air["origin"] == "simulated").sum())
    assert (len(air), simulated) == (11, 10)
    page = client.get("/about/air").get_data(as_text=True)
    assert "11 monitoring stations measure" in page
    assert "In this demonstration 10 of these 11 places are simulated" in page
    german = client.get("/about/air?lang=de").get_data(as_text=True)
    assert "10 dieser 11 Orte simuliert" in german
    assert 'href="/c?lang=de"' in german  # the citizen page, in the same language
    assert "simulated" not in client.get("/about/pedestrians").get_data(as_text=True)
