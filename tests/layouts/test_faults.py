"""Platforms failing under an open cockpit, end to end over real HTTP.

Three OpenDataSoft sources (parking bays, pedestrian counts, microclimate) each read
their own ``FaultServer`` on 127.0.0.1 that serves City of Melbourne's recorded answers.
With the cockpit open in headless Chromium, each source in turn times out, answers 500,
answers garbage, or disappears (connection refused). Each time the cockpit keeps the
last good figures and marks them stale (KPI card, sources table, map line), /health
gives staff the reason, the refresher's log names source and reason, and all returns to
ok once the platform answers again. No response of 500 or more ever reaches the browser.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
import requests
from dash.testing.composite import DashComposite
from selenium.webdriver.support.wait import WebDriverWait

from cockpit.auth import hash_password
from cockpit.config import load_config
from tests.browser import AppServers, own_errors
from tests.connectors.faults import TEST_OPTIONS
from tests.faultserver import (
    FAULTS,
    FaultServer,
    microclimate_routes,
    ods_city_toml,
    parking_routes,
    pedestrian_routes,
)
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

# source id -> the KPI card its figures feed
KPI_OF = {"parking": "parking", "pedestrians": "footfall", "air": "air"}
# fault -> what the reason says, in the log and on /health
REASON = {
    "slow": "timed out",
    "500": "HTTP 500",
    "garbage": "not valid JSON",
    "stopped": "could not connect",
}
STAFF_PASSWORD = "fault-drill-password"
# The recorded answers are months old: the drill is about failures, not about age.
STALE_AFTER_S = 10 * 365 * 86400
WAIT_S = 20


@pytest.fixture(scope="module")
def platforms() -> Iterator[dict[str, FaultServer]]:
    servers = {
        "parking": FaultServer(parking_routes()),
        "pedestrians": FaultServer(pedestrian_routes()),
        "air": FaultServer(microclimate_routes()),
    }
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def runtime(
    platforms: dict[str, FaultServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    folder = tmp_path_factory.mktemp("city")
    text = ods_city_toml(
        {source: server.url for source, server in platforms.items()},
        refresh_seconds=60,
        stale_after_seconds=STALE_AFTER_S,
        poll_seconds=1,
        http=TEST_OPTIONS,
    )
    text += (
        f'[access.users.duty]\nrole = "staff"\npassword_hash = "{hash_password(STAFF_PASSWORD)}"\n'
    )
    (folder / "city.toml").write_text(text, encoding="utf-8")
    rt = Runtime.open(load_config(folder / "city.toml"), folder / "data")
    rt.refresher.refresh_all()
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def statuses() -> list[tuple[str, int]]:
    """Every (path, status) the app server answered, as the server logged it."""
    return []


@pytest.fixture(scope="module")
def duo(runtime: Runtime, statuses: list[tuple[str, int]], app_server: AppServers) -> DashComposite:
    app = app_server.app(runtime)

    @app.server.after_request
    def _log(response: flask.Response) -> flask.Response:
        statuses.append((flask.request.path, response.status_code))
        return response

    dc = app_server.browser(app)
    dc.wait_for_page(dc.server_url + "/")
    dc.wait_for_element("#cc-kpis .cc-kpi", timeout=WAIT_S)
    # Chromium keeps every response's status (Resource Timing) for the whole drill.
    dc.driver.execute_script("performance.setResourceTimingBufferSize(100000);")
    return dc


@pytest.fixture(scope="module")
def staff(duo: DashComposite) -> Iterator[requests.Session]:
    """A staff member's signed-in HTTP session on the same app server."""
    session = requests.Session()
    form = session.get(f"{duo.server_url}/signin", timeout=10).text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token, "the sign-in form carries a CSRF token"
    answer = session.post(
        f"{duo.server_url}/signin",
        data={"csrf": token.group(1), "user": "duty", "password": STAFF_PASSWORD, "next": "/"},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code in (302, 303), answer.text[:300]
    yield session
    session.close()


def _text(duo: DashComposite, selector: str) -> str:
    """The element's text, read in one step (the cockpit re-renders every poll)."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;"
    return str(duo.driver.execute_script(script, selector))


def _source_row(duo: DashComposite, source_name: str) -> str:
    """The status cell of ``source_name``'s row in the sources table."""
    script = (
        "for (const tr of document.querySelectorAll('#cc-sources tbody tr')) {"
        "  if (tr.cells[0].textContent === arguments[0]) {"
        "    return tr.querySelector('.cc-status').textContent; } }"
        "return null;"
    )
    return str(duo.driver.execute_script(script, source_name))


def _wait(duo: DashComposite, check: Any, what: str) -> None:
    WebDriverWait(duo.driver, WAIT_S, poll_frequency=0.2).until(
        lambda _driver: check(), message=what
    )


def _network_statuses(duo: DashComposite) -> list[tuple[str, int]]:
    """(url, HTTP status) of every request the page made, as Chromium recorded them."""
    entries = duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.name, e.responseStatus]);"
    )
    return [(str(url), int(status)) for url, status in entries]


@pytest.mark.parametrize("fault", FAULTS)
def test_each_source_failing_keeps_its_figures_marked_stale_and_recovers(
    fault: str,
    duo: DashComposite,
    runtime: Runtime,
    platforms: dict[str, FaultServer],
    staff: requests.Session,
    statuses: list[tuple[str, int]],
    caplog: pytest.LogCaptureFixture,
    screenshots: Path,
) -> None:
    names = {s: runtime.config.sources[s].name for s in platforms}
    for source, server in platforms.items():
        card = f"#kpi-{KPI_OF[source]}"
        _wait(
            duo,
            lambda card=card: duo.driver.execute_script(
                "return !!document.querySelector(arguments[0] + ':not(.cc-is-stale)');", card
            ),
            f"{source} fresh before the fault",
        )
        before = _text(duo, f"{card} .cc-kpi-value")
        others = {s: _text(duo, f"#kpi-{KPI_OF[s]} .cc-kpi-value") for s in platforms}

        server.set_fault(fault)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="cockpit.refresh"):
            runtime.refresher.refresh_all()

        # The refresher's log names the source and the reason.
        failures = [r.getMessage() for r in caplog.records if r.name == "cockpit.refresh"]
        assert len(failures) == 1, failures
        assert f"refresh of {source} failed" in failures[0]
        assert REASON[fault] in failures[0]

        # The browser keeps the last good figure and marks it stale, in three places.
        duo.wait_for_element(f"{card}.cc-is-stale", timeout=WAIT_S)
        duo.wait_for_contains_text(f"{card} .cc-stale-badge", "Stale", timeout=WAIT_S)
        _wait(duo, lambda: _source_row(duo, names[source]) == "stale", "stale in the table")  # noqa: B023
        duo.wait_for_contains_text("#cc-map-updated", "(stale)", timeout=WAIT_S)
        assert _text(duo, f"{card} .cc-kpi-value") == before
        for other in platforms:
            assert _text(duo, f"#kpi-{KPI_OF[other]} .cc-kpi-value") == others[other]
            if other != source:
                assert _source_row(duo, names[other]) == "ok"
        if source == "parking":
            duo.driver.save_screenshot(str(screenshots / f"faults-{fault}-parking-stale.png"))

        # Staff see the reason on /health; the public sees the state but not the reason.
        health = staff.get(f"{duo.server_url}/health", timeout=10).json()
        entry = health["sources"][source]
        assert health["status"] == entry["status"] == "stale"
        assert REASON[fault] in entry["last_error"] and entry["failures"] == 1
        public = requests.get(f"{duo.server_url}/health", timeout=10).json()
        assert public["sources"][source]["status"] == "stale"
        assert "last_error" not in public["sources"][source]

        # The platform answers again: the next refresh brings everything back to ok.
        server.heal()
        with caplog.at_level(logging.WARNING, logger="cockpit.refresh"):
            caplog.clear()
            runtime.refresher.refresh_all()
            assert not [r for r in caplog.records if r.name == "cockpit.refresh"]
        duo.wait_for_no_elements(".cc-is-stale", timeout=WAIT_S)
        _wait(duo, lambda: _source_row(duo, names[source]) == "ok", "ok in the table")  # noqa: B023
        _wait(duo, lambda: "(stale)" not in _text(duo, "#cc-map-updated"), "map line fresh")
        assert _text(duo, f"{card} .cc-kpi-value") == before
        health = staff.get(f"{duo.server_url}/health", timeout=10).json()
        assert health["status"] == "ok"
        assert health["sources"][source]["last_error"] == ""

    # Nothing the browser received, and nothing the server answered, was a 500.
    received = _network_statuses(duo)
    polls = [s for url, s in received if "/_dash-update-component" in url]
    assert len(polls) > 5 and set(polls) <= {200, 204}
    assert [(u, s) for u, s in received if s >= 500] == []
    assert [(p, s) for p, s in statuses if s >= 500] == []
    assert own_errors(duo, runtime.config) == []


def test_the_network_check_sees_error_statuses(duo: DashComposite) -> None:
    """The check above would notice an error answer: a 404 the page fetched is recorded."""
    duo.driver.execute_script("fetch('/assets/no-such-file-for-the-check.js');")
    _wait(
        duo,
        lambda: (
            ("/assets/no-such-file-for-the-check.js", 404)
            in [(u.removeprefix(duo.server_url), s) for u, s in _network_statuses(duo)]
        ),
        "the 404 in Chromium's record",
    )
