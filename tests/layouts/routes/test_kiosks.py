"""Only known kiosks report and are listed: a flood of made-up ids over real HTTP leaves
no trace, while configured and staff-registered kiosks do."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import requests

from cockpit.config import default_config_path, load_config
from cockpit.present.slides import kiosk_listed
from tests.layouts.routes.test_signin import PASSWORDS, Client, app, base, runtime  # noqa: F401
from wiring.runtime import Runtime

OUTPUT = "..cc-kiosk-body.children...cc-kiosk.className...cc-kiosk-state.data.."


def _ask(url: str, kiosk: str, n: int = 1) -> int:
    """A kiosk's refresh request, as its browser sends it, naming itself ``kiosk``."""
    body = {
        "output": OUTPUT,
        "outputs": [
            {"id": "cc-kiosk-body", "property": "children"},
            {"id": "cc-kiosk", "property": "className"},
            {"id": "cc-kiosk-state", "property": "data"},
        ],
        "inputs": [{"id": "cc-kiosk-ask", "property": "data", "value": n}],
        "state": [
            {
                "id": "cc-kiosk-params",
                "property": "data",
                "value": {"screen": "default", "id": kiosk, "lang": "en"},
            },
            {"id": "cc-kiosk-state", "property": "data", "value": {"key": "old"}},
        ],
        "changedPropIds": ["cc-kiosk-ask.data"],
    }
    answer = requests.post(
        url + "/_dash-update-component", json=body, headers={"Connection": "close"}, timeout=30
    )
    return answer.status_code


def _listed(page: str) -> set[str]:
    return set(re.findall(r'data-kiosk="([^"]+)"', page))


def test_made_up_kiosk_ids_are_served_but_not_recorded(base: str, runtime: Runtime) -> None:  # noqa: F811
    runtime.config.kiosk.ids = ["station-3"]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda n: _ask(base, f"fake-{n}", n + 1), range(300)))
    assert set(statuses) == {200}  # each was served a kiosk screen
    assert _ask(base, "station-3") == 200
    page = requests.get(base + "/kiosk?id=fake-unknown", timeout=30)
    assert page.status_code == 200
    beats = {b.kiosk_id for b in runtime.journal.heartbeats()}
    assert "station-3" in beats
    assert not any(k.startswith("fake-") for k in beats)
    staff = Client(base, "10.60.0.1")
    staff.sign_in("sam", PASSWORDS["sam"])
    listed = _listed(staff.get("/kiosks").text)
    assert "station-3" in listed and not any(k.startswith("fake-") for k in listed)


def test_staff_register_a_kiosk_which_then_reports(base: str, runtime: Runtime) -> None:  # noqa: F811
    assert _ask(base, "library-2") == 200
    assert "library-2" not in {b.kiosk_id for b in runtime.journal.heartbeats()}
    staff = Client(base, "10.60.0.2")
    staff.sign_in("sam", PASSWORDS["sam"])
    token = staff.token("/kiosks")
    refused = staff.post("/kiosks", {"id": "bad id <b>", "csrf": token})
    assert refused.status_code == 400 and "bad id" not in _listed(refused.text)
    assert staff.post("/kiosks", {"id": "library-2"}).status_code == 400  # no token
    done = staff.post("/kiosks", {"id": "library-2", "csrf": token})
    assert done.status_code == 200 and "library-2" in _listed(done.text)
    assert runtime.journal.audit_log(1)[0].action == "register kiosk"
    assert _ask(base, "library-2", 2) == 200
    beat = next(b for b in runtime.journal.heartbeats() if b.kiosk_id == "library-2")
    assert beat.info["screen"] == "default"  # the kiosk itself now reports
    # The public can neither see nor register kiosks.
    public = Client(base, "10.60.0.3")
    assert public.post("/kiosks", {"id": "x", "csrf": public.token()}).status_code == 401


def test_known_kiosks_are_configured_screens_or_registered() -> None:
    config = load_config(default_config_path())
    config.kiosk.ids = ["station-3"]
    assert kiosk_listed(config, "station-3", set())
    assert kiosk_listed(config, "default", set())
    assert kiosk_listed(config, "library-2", {"library-2"})
    assert not kiosk_listed(config, "fake-1", {"library-2"})
