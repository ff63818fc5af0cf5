"""Sign-in, sessions, sign-out, CSRF, rate limits and the audit trail over real HTTP.

The cockpit here sits behind one trusted proxy (``[security] trusted_proxies = 1``), so
each test speaks from its own client address through ``X-Forwarded-For``.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests
from dash import Dash

from cockpit.auth import hash_password
from cockpit.config import CityConfig, UserConfig, default_config_path, load_config
from cockpit.state.journal import Journal
from layouts.routes import security
from layouts.routes.signin import safe_next
from tests.browser import AppServers
from wiring.runtime import Runtime

PASSWORDS = {
    "sam": "staff password 1234",
    "eve": "executive password 5678",
    "ana": "another staff password 9012",
}
COOKIE = "city_cockpit_session"


def signin_config() -> CityConfig:
    """The demo city with three users, behind one trusted proxy."""
    config = load_config(default_config_path())
    config.access.users = {
        "sam": UserConfig(role="staff", password_hash=hash_password(PASSWORDS["sam"])),
        "eve": UserConfig(role="executive", password_hash=hash_password(PASSWORDS["eve"])),
        "ana": UserConfig(role="staff", password_hash=hash_password(PASSWORDS["ana"])),
    }
    config.security.trusted_proxies = 1
    return config


@pytest.fixture(scope="module")
def runtime(proxied: Runtime) -> Runtime:
    return proxied


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


@pytest.fixture(scope="module")
def base(app_server: AppServers, app: Dash) -> str:
    return app_server.url(app)


class Client:
    """A browser-like client at one address (behind the trusted proxy)."""

    def __init__(self, base: str, address: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = address
        # No idle keep-alive connection (and its server thread) outlives a test.
        self.http.headers["Connection"] = "close"

    def token(self, path: str = "/signin") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert found, f"{path} carries a CSRF token"
        return found.group(1)

    def get(self, path: str, **kw: object) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=10, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=10)

    def sign_in(self, user: str, password: str, next_url: str = "/") -> requests.Response:
        data = {"user": user, "password": password, "csrf": self.token(), "next": next_url}
        return self.post("/signin", data)

    def role(self) -> str:
        """What the server thinks this client is: /audit answers 303, 403 or 200."""
        status = self.get("/audit").status_code
        return {303: "public", 403: "staff", 200: "executive"}[status]


def test_sign_in_sets_a_hardened_session_cookie(base: str) -> None:
    client = Client(base, "10.1.0.1")
    answer = client.sign_in("sam", PASSWORDS["sam"], "/methodology")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/methodology")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on 127.0.0.1
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))  # type: ignore[union-attr]
    lifetime = expires - datetime.now(UTC)
    assert timedelta(hours=7) < lifetime <= timedelta(hours=8, minutes=1)  # session_hours = 8
    assert client.role() == "staff"


def test_cookie_is_secure_over_https_and_when_configured(app: Dash, runtime: Runtime) -> None:
    assert app.server.config["SESSION_COOKIE_SECURE"] is False
    page = app.server.test_client().get("/signin", base_url="https://cockpit.example.org")
    assert "Secure" in page.headers["Set-Cookie"]
    # With [security] https = true the cookie is Secure even on a plain-HTTP hop.
    runtime.config.security.https = True
    try:
        other = Dash(__name__)
        security.register(other, runtime.city, runtime.journal)
    finally:
        runtime.config.security.https = False
    assert other.server.config["SESSION_COOKIE_SECURE"] is True
    assert other.server.config["SESSION_COOKIE_HTTPONLY"] is True
    assert other.server.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_sign_in_starts_a_new_session(base: str) -> None:
    """The cookie from before sign-in (what an attacker could have planted) is not the
    signed-in session, and its CSRF token is replaced."""
    client = Client(base, "10.1.0.2")
    before_token = client.token()
    planted = client.http.cookies.get(COOKIE)
    assert client.sign_in("eve", PASSWORDS["eve"]).status_code == 303
    assert client.http.cookies.get(COOKIE) != planted
    assert client.token("/signout") != before_token
    assert client.role() == "executive"
    stranger = Client(base, "10.1.0.3")
    stranger.http.cookies.set(COOKIE, planted)
    assert stranger.role() == "public"


def test_sign_in_without_csrf_token_is_refused(base: str, runtime: Runtime) -> None:
    client = Client(base, "10.1.0.4")
    client.get("/signin")
    answer = client.post("/signin", {"user": "sam", "password": PASSWORDS["sam"]})
    assert answer.status_code == 400
    assert client.role() == "public"
    entry = runtime.journal.audit_log(1)[0]
    assert (entry.actor, entry.action, entry.address) == ("sam", "sign-in refused", "10.1.0.4")


def test_a_wrong_password_is_refused_and_audited(base: str, runtime: Runtime) -> None:
    client = Client(base, "10.1.0.5")
    answer = client.sign_in("sam", "not the password")
    assert answer.status_code == 401
    assert "User name or password is wrong." in answer.text
    assert "not the password" not in answer.text
    entry = runtime.journal.audit_log(1)[0]
    assert (entry.actor, entry.action, entry.address) == ("sam", "sign-in failed", "10.1.0.5")


def test_the_sign_in_page_speaks_the_browsers_language(base: str) -> None:
    client = Client(base, "10.1.0.15")
    client.http.headers["Accept-Language"] = "de-AT,de;q=0.9,en;q=0.5"
    form = client.get("/signin").text
    assert '<html lang="de">' in form and "Benutzername" in form and "Passwort" in form
    answer = client.sign_in("sam", "not the password")
    assert answer.status_code == 401
    assert "Benutzername oder Passwort ist falsch." in answer.text
    assert '<html lang="en">' in client.get("/signin?lang=en").text  # asked for: English


def test_sign_out_needs_a_post_with_the_token_and_ends_the_session_on_the_server(
    base: str, runtime: Runtime
) -> None:
    client = Client(base, "10.1.0.6")
    client.sign_in("eve", PASSWORDS["eve"])
    signed_in_cookie = client.http.cookies.get(COOKIE)
    assert client.get("/signout").status_code == 200  # a GET only shows the button
    assert client.role() == "executive"
    assert client.post("/signout", {}).status_code == 400  # no token: nothing happens
    assert client.role() == "executive"
    answer = client.post("/signout", {"csrf": client.token("/signout")})
    assert answer.status_code == 303
    assert client.role() == "public"
    # The cookie as it was before sign-out, replayed, is no longer a session.
    replay = Client(base, "10.1.0.7")
    replay.http.cookies.set(COOKIE, signed_in_cookie)
    assert replay.role() == "public"
    entry = runtime.journal.audit_log(1)[0]
    assert (entry.actor, entry.action, entry.address) == ("eve", "sign-out", "10.1.0.6")


def test_a_role_change_in_the_config_ends_the_session(base: str, runtime: Runtime) -> None:
    client = Client(base, "10.1.0.8")
    client.sign_in("eve", PASSWORDS["eve"])
    assert client.role() == "executive"
    users = runtime.config.access.users
    runtime.config.access.users = {
        **users,
        "eve": users["eve"].model_copy(update={"role": "staff"}),
    }
    try:
        assert client.role() == "public"
    finally:
        runtime.config.access.users = users


def test_failures_for_a_user_at_one_address_are_limited(base: str, runtime: Runtime) -> None:
    for n in range(5):
        answer = Client(base, "10.2.0.1").sign_in("ana", f"guess {n}")
        assert answer.status_code == 401
    blocked = Client(base, "10.2.0.1").sign_in("ana", PASSWORDS["ana"])
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    entry = runtime.journal.audit_log(1)[0]
    assert (entry.actor, entry.action) == ("ana", "sign-in refused")
    assert entry.address == "10.2.0.1"
    # Another user elsewhere is not affected.
    assert Client(base, "10.2.0.98").sign_in("eve", PASSWORDS["eve"]).status_code == 303


def test_nobody_can_lock_a_user_out_from_other_addresses(base: str) -> None:
    for n in range(8):
        assert Client(base, f"10.2.1.{n}").sign_in("ana", f"guess {n}").status_code == 401
    assert Client(base, "10.2.1.99").sign_in("ana", PASSWORDS["ana"]).status_code == 303


def test_a_burst_of_guesses_gets_exactly_the_allowed_checks(
    base: str, app: Dash, runtime: Runtime
) -> None:
    """Forty wrong passwords for one user from one address, sent at once: five are
    checked, the rest refused before any check."""
    clients = [Client(base, "10.6.0.1") for _ in range(40)]
    tokens = [c.token() for c in clients]
    checks_before = security.guard(app, runtime.city).hash_slots.checks

    def attempt(i: int) -> int:
        data = {"user": "sam", "password": f"wrong {i}", "csrf": tokens[i]}
        return clients[i].post("/signin", data).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(attempt, range(40)))
    assert statuses.count(401) == 5
    assert statuses.count(429) == 35
    checks = security.guard(app, runtime.city).hash_slots.checks - checks_before
    assert checks == 5


def test_a_flood_from_many_addresses_checks_a_few_passwords_at_once(
    base: str, app: Dash, runtime: Runtime
) -> None:
    clients = [Client(base, f"10.7.{n // 200}.{n % 200}") for n in range(60)]
    tokens = [c.token() for c in clients]
    slots = security.guard(app, runtime.city).hash_slots

    def attempt(i: int) -> int:
        data = {"user": f"user{i}", "password": "wrong", "csrf": tokens[i]}
        return clients[i].post("/signin", data).status_code

    with ThreadPoolExecutor(max_workers=60) as pool:
        statuses = list(pool.map(attempt, range(60)))
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) >= 1
    assert slots.most_busy <= slots.slots


def test_an_over_long_password_is_wrong_without_a_check(
    base: str, app: Dash, runtime: Runtime
) -> None:
    slots = security.guard(app, runtime.city).hash_slots
    before = slots.checks
    client = Client(base, "10.8.0.1")
    answer = client.sign_in("sam", "x" * 100_000)
    assert answer.status_code == 401
    assert slots.checks == before


def test_failures_per_address_are_limited_for_any_user(base: str) -> None:
    client = Client(base, "10.3.0.1")
    for n in range(5):
        assert client.sign_in(f"nobody{n}", "guess").status_code == 401
    blocked = client.sign_in("eve", PASSWORDS["eve"])
    assert blocked.status_code == 429
    assert "Too many failed sign-ins from this address. Please wait" in blocked.text
    assert "minute" in blocked.text
    assert client.role() == "public"
    assert Client(base, "10.3.0.2").sign_in("eve", PASSWORDS["eve"]).status_code == 303


def test_a_refusal_and_the_sign_out_page_speak_the_browsers_language(base: str) -> None:
    client = Client(base, "10.3.0.7")
    client.http.headers["Accept-Language"] = "de-DE,de;q=0.9"
    for n in range(5):
        assert client.sign_in(f"niemand{n}", "geraten").status_code == 401
    blocked = client.sign_in("eve", PASSWORDS["eve"])
    assert blocked.status_code == 429
    minutes = max(1, -(-int(blocked.headers["Retry-After"]) // 60))
    wait = "1 Minute" if minutes == 1 else f"{minutes} Minuten"
    assert (
        "Zu viele fehlgeschlagene Anmeldungen von dieser Adresse. "
        f"Bitte warten Sie {wait} und versuchen Sie es dann erneut."
    ) in blocked.text
    assert "Too many" not in blocked.text
    signed_out = client.get("/signout").text
    assert '<html lang="de">' in signed_out and "Sie sind nicht angemeldet." in signed_out
    assert "Zurück zum Cockpit" in signed_out and "Sign out" not in signed_out
    staff = Client(base, "10.3.0.8")
    staff.http.headers["Accept-Language"] = "de"
    staff.sign_in("eve", PASSWORDS["eve"])
    page = staff.get("/signout").text
    assert "Angemeldet als eve." in page and "<h1>Abmelden</h1>" in page
    english = Client(base, "10.3.0.9").get("/signout?lang=en").text
    assert "You are not signed in." in english and "Back to the cockpit" in english


def test_the_audit_log_records_who_what_when_where_and_survives_a_restart(
    base: str, runtime: Runtime
) -> None:
    Client(base, "10.4.0.1").sign_in("eve", PASSWORDS["eve"])
    reopened = Journal(Path(runtime.store.directory))
    try:
        entries = reopened.audit_log(500)
    finally:
        reopened.close()
    signed = [e for e in entries if e.action == "sign-in" and e.address == "10.4.0.1"]
    assert len(signed) == 1
    assert signed[0].actor == "eve" and signed[0].detail == "executive"
    assert abs(signed[0].time - datetime.now(UTC)) < timedelta(minutes=5)
    actions = {e.action for e in entries}
    assert {"sign-in", "sign-in failed", "sign-in refused", "sign-out"} <= actions


def test_audit_page_lists_the_entries_as_text(base: str, runtime: Runtime) -> None:
    runtime.journal.audit("<b>mallory</b>", "sign-in failed", "", "10.9.9.9")
    client = Client(base, "10.4.0.2")
    client.sign_in("eve", PASSWORDS["eve"])
    page = client.get("/audit")
    assert page.status_code == 200
    assert "&lt;b&gt;mallory&lt;/b&gt;" in page.text and "<b>mallory" not in page.text
    assert "10.9.9.9" in page.text


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/audit", "/audit"),
        ("/data/parking?x=1", "/data/parking?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_sign_in_returns_only_to_local_pages(target: str, expected: str) -> None:
    assert safe_next(target) == expected


def test_signed_in_answers_are_kept_out_of_shared_caches(base: str) -> None:
    client = Client(base, "10.5.0.1")
    assert "no-store" not in client.get("/health").headers.get("Cache-Control", "")
    client.sign_in("sam", PASSWORDS["sam"])
    assert client.get("/health").headers["Cache-Control"] == "private, no-store"
    assert client.get("/").headers["Cache-Control"] == "private, no-store"
    # Scripts and styles are the same for everyone and stay cacheable.
    assert "no-store" not in client.get("/assets/cockpit.css").headers.get("Cache-Control", "")


def test_a_burst_of_guesses_on_two_gunicorn_workers_gets_the_allowed_checks(
    tmp_path: Path,
) -> None:
    """The same burst against two worker processes sharing the city's data folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.browser import free_port

    root = Path(__file__).resolve().parents[3]
    demo = (root / "cities" / "demo-melbourne.toml").read_text(encoding="utf-8")
    text = demo.replace('"demo-melbourne/', f'"{root / "cities" / "demo-melbourne"}/')
    digest = hash_password(PASSWORDS["sam"])
    text += f'\n[access.users.sam]\nrole = "staff"\npassword_hash = "{digest}"\n'
    text += "\n[security]\ntrusted_proxies = 1\n"
    config = tmp_path / "city.toml"
    config.write_text(text, encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "CITY_COCKPIT_CONFIG": str(config),
        "CITY_COCKPIT_DATA": str(tmp_path / "data"),
        "CITY_COCKPIT_SECRET_KEY": "test-secret-for-two-workers",
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--no-control-socket", "-w", "2",
         "--threads", "20", "-b", f"127.0.0.1:{port}", "app:server"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/signin", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        clients = [Client(base, "10.90.0.1") for _ in range(40)]
        tokens = [c.token() for c in clients]

        def attempt(i: int) -> int:
            data = {"user": "sam", "password": f"wrong {i}", "csrf": tokens[i]}
            return clients[i].post("/signin", data).status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(attempt, range(40)))

        # Sixty sign-ins from sixty addresses at once: each password check (argon2) takes
        # 64 MiB, and at most four run at once in a worker.
        workers = _children(server.pid)
        assert len(workers) == 2
        peak_before = {w: _peak_mib(w) for w in workers}
        flood = [Client(base, f"10.91.0.{n}") for n in range(60)]
        flood_tokens = [c.token() for c in flood]

        def guess(i: int) -> int:
            data = {"user": f"user{i}", "password": "wrong", "csrf": flood_tokens[i]}
            answer = flood[i].http.post(
                base + "/signin", data=data, allow_redirects=False, timeout=120
            )
            return answer.status_code

        with ThreadPoolExecutor(max_workers=60) as pool:
            flood_statuses = list(pool.map(guess, range(60)))
        growth = {w: _peak_mib(w) - peak_before[w] for w in workers}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 35
    assert set(flood_statuses) <= {401, 429} and flood_statuses.count(401) >= 4
    # Twenty threads a worker could otherwise check twenty passwords at once (1,280 MiB).
    assert max(growth.values()) <= 4 * 64 + 128, growth


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{pid}$", text, re.MULTILINE):
            found.append(int(status.parent.name))
    return found


def _peak_mib(pid: int) -> float:
    """The most memory process ``pid`` has held so far (VmHWM), in MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    assert found
    return int(found.group(1)) / 1024
