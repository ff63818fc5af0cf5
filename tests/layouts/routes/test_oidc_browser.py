"""Single sign-on in headless Chromium: from the cockpit's sign-in page to the provider's
page and back with the mapped role, a staff-only page, and signing out at the provider."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

from tests.a11y import assert_accessible
from tests.browser import AppServers, own_errors
from tests.layouts.routes.test_oidc import SECRET, SECRET_ENV, USERS, sso_config
from tests.oidc_provider import Provider, running_provider
from wiring.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    os.environ[SECRET_ENV] = SECRET
    with running_provider(USERS) as running:
        yield running
    del os.environ[SECRET_ENV]


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, provider: Provider) -> Runtime:
    return app_server.city(config=sso_config(provider.issuer), backfill=False)


@pytest.fixture(scope="module")
def duo(app_server: AppServers, runtime: Runtime) -> DashComposite:
    return app_server.browser(runtime, size=(1200, 900))


@pytest.fixture
def shot(duo: DashComposite, screenshots: Path) -> Callable[[str], None]:
    def save(name: str) -> None:
        duo.driver.save_screenshot(str(screenshots / f"oidc-{name}.png"))

    return save


def wait_for_url(duo: DashComposite, start: str) -> None:
    WebDriverWait(duo.driver, 30).until(lambda d: d.current_url.startswith(start))


def test_a_staff_member_signs_in_with_the_provider_and_out_there(
    duo: DashComposite, provider: Provider, runtime: Runtime, shot: Callable[[str], None]
) -> None:
    duo.driver.get(f"{duo.server_url}/signin?lang=de")
    assert duo.wait_for_element("#cc-signin-sso", timeout=30).text == "Anmelden mit Melbourne ID"
    assert_accessible(duo.driver)
    shot("signin-de")
    duo.driver.get(f"{duo.server_url}/signin?next=/kiosks")
    button = duo.wait_for_element("#cc-signin-sso", timeout=30)
    assert button.text == "Sign in with Melbourne ID"
    assert_accessible(duo.driver)
    shot("signin")
    assert own_errors(duo, runtime.config) == []
    button.click()

    # The provider's page: pick the staff member.
    wait_for_url(duo, f"{provider.issuer}/oauth2/authorize")
    duo.wait_for_element("button[name=sub][value=ana-sub]", timeout=30).click()
    duo.get_logs()  # the provider's page asks a CDN for its style; not the cockpit's doing

    # Back at the cockpit with the mapped role: the staff-only kiosk list opens.
    wait_for_url(duo, f"{duo.server_url}/kiosks")
    duo.wait_for_element(".cc-kiosks-table", timeout=30)
    assert "ana.sso" in duo.find_element(".cc-muted").text
    shot("kiosks")
    duo.driver.get(f"{duo.server_url}/")
    duo.wait_for_text_to_equal(".cc-nav-user", "ana.sso", timeout=60)
    assert own_errors(duo, runtime.config) == []

    # Signing out ends the cockpit's session and continues at the provider.
    duo.driver.get(f"{duo.server_url}/signout")
    duo.wait_for_element("form button[type=submit]", timeout=30).click()
    wait_for_url(duo, f"{provider.issuer}/oauth2/end_session")
    shot("end-session")
    sent = provider.end_session_requests[-1]
    assert sent["post_logout_redirect_uri"] == f"{duo.server_url}/"
    assert sent["id_token_hint"].count(".") == 2
    duo.wait_for_element("form button[type=submit]", timeout=30).click()
    duo.get_logs()

    # The provider sends the browser home, where nobody is signed in any more.
    duo.wait_for_element("#cc-nav-signin", timeout=60)
    duo.driver.get(f"{duo.server_url}/kiosks")
    duo.wait_for_element(".cc-kiosks a[href^='/signin']", timeout=30)
    assert not duo.driver.find_elements("css selector", ".cc-kiosks-table")
    duo.get_logs()  # the kiosk list answers 401 to the public, which Chromium logs
