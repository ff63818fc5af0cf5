"""The decision log in a real headless Chromium: an executive records an intervention and
sees its KPIs before and after against their usual; staff may read but not write (the
server refuses a crafted request)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from cockpit.present.i18n import format_time
from tests.browser import T0, AppServers, Clock, own_errors
from tests.layouts.pages.test_notices import dash_post, sign_in, sign_out, staff_config
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser

WHAT = "Bus lane opened on Hoddle St"


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, staff_config())


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime)


def _record_request(duo: DashComposite, cookies: dict[str, str]) -> object:
    return dash_post(
        duo,
        [("cc-decision-list", "children"), ("cc-decision-status", "children")],
        [{"id": "cc-decision-record", "property": "n_clicks", "value": 1}],
        [
            {"id": "cc-decision-what", "property": "value", "value": "Sneaked in by staff"},
            {"id": "cc-decision-place", "property": "value", "value": "CBD"},
            {"id": "cc-decision-when", "property": "value", "value": "2026-11-20 08:00"},
            {"id": "cc-decision-kpis", "property": "value", "value": ["traffic"]},
            {"id": "cc-decision-lang", "property": "data", "value": "en"},
        ],
        "cc-decision-record.n_clicks",
        cookies,
    )


def test_executive_records_and_sees_before_and_after(
    duo: DashComposite, runtime: Runtime, screenshots: Path
) -> None:
    sign_in(duo, "max", "/decisions")
    duo.wait_for_element("#cc-decision-record", timeout=20)
    duo.find_element("#cc-decision-what").send_keys(WHAT)
    duo.find_element("#cc-decision-place").send_keys("Hoddle St, Collingwood")
    when = T0 - pd.Timedelta(days=3)
    field = duo.find_element("#cc-decision-when")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(
        format_time(when.to_pydatetime(), "en", runtime.config.city.timezone, "yyyy-MM-dd HH:mm")
    )
    duo.find_element("#cc-decision-kpis input[value=traffic]").click()
    duo.find_element("#cc-decision-kpis input[value=footfall]").click()
    duo.find_element("#cc-decision-record").click()
    duo.wait_for_contains_text("#cc-decision-status", "recorded", timeout=30)
    duo.wait_for_contains_text("#cc-decision-list", WHAT, timeout=10)
    recorded = runtime.journal.decisions()
    assert [(d.what, d.author, d.kpis) for d in recorded] == [
        (WHAT, "max", ["traffic", "footfall"])
    ]
    assert recorded[0].effective == when.to_pydatetime()
    rows = duo.driver.find_elements("css selector", "#cc-decision-list .cc-effect-row")
    assert [r.get_attribute("data-kpi") for r in rows] == ["traffic", "footfall"]
    for row in rows:
        # Three days after and a week before, both with a usual to compare against.
        assert "percentage points" in row.find_element("css selector", ".cc-effect").text
    assert any(e.action == "record decision" for e in runtime.journal.audit_log())
    duo.driver.save_screenshot(str(screenshots / "decisions.png"))
    assert own_errors(duo, runtime.config) == []


def test_staff_reads_but_may_not_record(duo: DashComposite, runtime: Runtime) -> None:
    sign_out(duo)
    sign_in(duo, "ada", "/decisions")
    duo.wait_for_element("#cc-decision-readonly", timeout=20)
    duo.wait_for_contains_text("#cc-decision-list", WHAT, timeout=20)
    assert duo.driver.find_elements("css selector", "#cc-decision-record") == []
    cookies = {c["name"]: c["value"] for c in duo.driver.get_cookies()}
    answer = _record_request(duo, cookies)
    assert answer.status_code == 403  # type: ignore[attr-defined]
    assert [d.what for d in runtime.journal.decisions()] == [WHAT]
    assert any(
        e.action == "decision refused" and e.actor == "ada" for e in runtime.journal.audit_log()
    )
