"""The cockpit's daily-brief download in a real headless Chromium: an executive picks a
day of the history and the link gives that day's PDF; the public sees no link, and the
same address answers it 401."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dash.testing.composite import DashComposite

from cockpit.present.brief import brief_days
from layouts.components import brief_link
from tests.browser import T0, AppServers, Clock, own_errors
from tests.layouts.pages.test_notices import sign_in, sign_out, staff_config
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

# Fetches the link's address with the page's own session; answers status, type and the
# first bytes.
FETCH = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(async (r) => {
  const bytes = new Uint8Array(await r.arrayBuffer());
  done([r.status, r.headers.get('content-type'), bytes.length,
        String.fromCharCode(...bytes.slice(0, 5))]);
}).catch((e) => done(['error', String(e), 0, '']));
"""


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, staff_config())


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime, size=(1600, 1000))


def fetch(duo: DashComposite, href: str) -> list[Any]:
    duo.driver.set_script_timeout(120)
    found: list[Any] = duo.driver.execute_async_script(FETCH, href)
    return found


def test_an_executive_downloads_the_brief_of_a_chosen_day(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    sign_in(duo, "max", "/")
    link = duo.wait_for_element("#cc-brief-link", timeout=60)
    duo.wait_for_text_to_equal("#cc-brief-link", "Brief for 24 November (PDF)", timeout=30)
    days = brief_link.day_options(*brief_days(runtime.city, T0.to_pydatetime()), "en")
    assert (days[0]["label"], days[-1]["label"]) == ("Tue 24 Nov 2026", "Wed 21 Oct 2026")
    assert len(days) == runtime.config.storage.history_days
    duo.select_dcc_dropdown("#cc-brief-day", "Mon 23 Nov 2026")
    duo.wait_for_text_to_equal("#cc-brief-link", "Brief for 23 November (PDF)", timeout=30)
    href = link.get_attribute("href")
    assert href.endswith("/brief/2026-11-23.pdf?lang=en")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    duo.driver.save_screenshot(str(screenshots / "cockpit-brief-link.png"))

    status, kind, size, head = fetch(duo, href)
    assert (status, kind, head) == (200, "application/pdf", "%PDF-")
    assert size > 10_000
    assert own_errors(duo, runtime.config) == []

    sign_out(duo)
    duo.driver.get(f"{duo.server_url}/")
    duo.wait_for_element("#cc-attention", timeout=60)
    assert duo.driver.find_elements("css selector", "#cc-brief-link") == []
    assert fetch(duo, href)[0] == 401
