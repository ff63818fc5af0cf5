"""``/report``: a citizen's report over HTTP, without an account.

A report is a multipart form with the session's CSRF token; its place is rounded, its
text cleaned, its photo kept without any metadata (a JPEG carrying EXIF GPS is built here
with Pillow), and it answers with a code for the public status page. Malformed, oversize
and wrongly typed requests are refused with a 4xx and keep nothing; a flood from one
device or one address is stopped with 429 and Retry-After, over real HTTP. Staff
moderate; the public reads only published reports, as open data without photos, codes
or fine positions; reports are purged after ``keep_days``.
"""

from __future__ import annotations

import csv
import html
import io
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import pytest
import requests
from dash import Dash
from flask.testing import FlaskClient
from PIL import ExifTags, Image

from cockpit.config import CityConfig, default_config_path, load_config
from cockpit.reports import round_position
from layouts.routes.reports import FORM_OVERHEAD_BYTES, ReportRefused, parse_place
from tests.browser import Clock
from tests.conftest import AppServers
from tests.layouts.routes.conftest import STAFF_PASSWORD, with_staff
from tests.layouts.viewing import signed_in
from wiring.runtime import Runtime

# The demo city's centre (Melbourne's CBD), inside its box.
LAT, LON = -37.81362, 144.96305


def reports_config() -> CityConfig:
    config = with_staff(load_config(default_config_path()))
    config.security.trusted_proxies = 1  # each test sends from its own X-Forwarded-For
    config.reports.per_device_per_hour = 3
    config.reports.per_address_per_hour = 6
    config.reports.photo_max_kb = 256
    return config


@pytest.fixture(scope="module")
def runtime(app_server: AppServers, clock: Clock) -> Runtime:
    return app_server.city(clock, reports_config(), backfill=False)


@pytest.fixture(scope="module")
def app(app_server: AppServers, runtime: Runtime) -> Dash:
    return app_server.app(runtime)


@pytest.fixture(scope="module")
def base(app_server: AppServers, app: Dash) -> str:
    """The module's app over real HTTP on 127.0.0.1."""
    return app_server.url(app)


class Citizen:
    """One phone: a test client with its own session and network address."""

    def __init__(self, app: Dash, address: str) -> None:
        self.client: FlaskClient = app.server.test_client()
        self.headers = {"X-Forwarded-For": address}

    def token(self) -> str:
        page = self.client.get("/report?lang=en", headers=self.headers).get_data(as_text=True)
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, "the form carries a CSRF token"
        return found.group(1)

    def send(self, json: bool = True, **fields: Any) -> Any:
        data: dict[str, Any] = {
            "csrf": self.token(),
            "category": "parking_wrong",
            "text": "Car park full but shown free",
            "lat": str(LAT),
            "lon": str(LON),
            "lang": "en",
        }
        data.update({k: v for k, v in fields.items() if v is not None})
        for key in [k for k, v in fields.items() if v is None]:
            data.pop(key, None)
        headers = dict(self.headers)
        if json:
            headers["Accept"] = "application/json"
        return self.client.post(
            "/report", data=data, headers=headers, content_type="multipart/form-data"
        )


def gps_jpeg(size: tuple[int, int] = (120, 80)) -> bytes:
    """A JPEG as a phone writes one, with EXIF GPS, camera make and serial."""
    image = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.BodySerialNumber] = "SN-0042"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (37.0, 48.0, 49.03),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (144.0, 57.0, 46.98),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_the_form_says_what_is_stored_and_asks_no_name(app: Dash) -> None:
    page = Citizen(app, "10.1.0.1").client.get("/report?lang=en").get_data(as_text=True)
    assert "What is stored" in page and "rounded to about 100 m" in page
    assert "deleted 90 days after" in page and "never your photo" in page
    assert 'enctype="multipart/form-data"' in page
    assert not re.search(r'name="(name|email|address|phone)"', page)
    german = Citizen(app, "10.1.0.1").client.get("/report?lang=de").get_data(as_text=True)
    assert "Was gespeichert wird" in german and 'lang="de"' in german


def test_a_report_with_a_gps_photo_is_kept_without_the_gps(app: Dash, runtime: Runtime) -> None:
    raw = gps_jpeg()
    assert b"PhoneMaker" in raw and b"SN-0042" in raw
    answer = Citizen(app, "10.1.0.2").send(
        text="Counter shows 0 all day, write to ana@example.org",
        category="sensor_wrong",
        photo=(io.BytesIO(raw), "IMG_0001.jpg", "image/jpeg"),
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    code = answer.get_json()["code"]
    kept = runtime.journal.report(code, photo=True)
    assert kept is not None and kept.status == "received"
    assert (kept.lat, kept.lon) == round_position(LAT, LON, 100) != (LAT, LON)
    assert "example.org" not in kept.text and kept.text.startswith("Counter shows 0 all day")
    assert kept.photo is not None and kept.photo[:2] == b"\xff\xd8"
    for secret in (b"Exif", b"GPS", b"PhoneMaker", b"SN-0042"):
        assert secret not in kept.photo
    with Image.open(io.BytesIO(kept.photo)) as image:
        assert len(image.getexif()) == 0 and image.size == (120, 80)
    (event,) = runtime.journal.audit_log(1, action="file report")
    assert code in event.detail and "with photo" in event.detail
    assert event.address == ""  # no network address of a citizen is kept
    staff = signed_in(app.server, "ana", STAFF_PASSWORD)
    shown = staff.get(f"/reports/{code}/photo")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert shown.data == kept.photo
    (looked,) = runtime.journal.audit_log(1, action="view report photo")
    assert looked.actor == "ana" and looked.detail == code


def test_the_status_page_follows_the_report_by_its_code(app: Dash) -> None:
    citizen = Citizen(app, "10.1.0.3")
    answer = citizen.send(json=False, text="Bad smell near the station", category="air_smell")
    assert answer.status_code == 303
    location = answer.headers["Location"]
    code = re.search(r"/report/([A-Z0-9-]+)", location).group(1)  # type: ignore[union-attr]
    page = citizen.client.get(location).get_data(as_text=True)
    assert code in page and "Thank you" in page and "Received, not reviewed yet" in page
    typed = citizen.client.get(f"/report/status?code={code.lower().replace('-', ' ')}")
    assert typed.status_code == 303 and typed.headers["Location"].endswith(
        f"/report/{code}?lang=en"
    )
    german = citizen.client.get(f"/report/{code}?lang=de").get_data(as_text=True)
    assert "Eingegangen, noch nicht geprüft" in german
    assert citizen.client.get("/report/AAAA-BBBB").status_code == 404
    assert citizen.client.get("/report/%3Cscript%3E").status_code == 404


@pytest.mark.parametrize(
    "fields, status, reason",
    [
        ({"csrf": "forged"}, 400, "expired"),
        ({"csrf": None}, 400, "expired"),
        ({"category": "ufo"}, 400, "choose what"),
        ({"category": None}, 400, "choose what"),
        ({"text": "   "}, 400, "few words"),
        ({"text": "x" * 1001}, 400, "too long"),
        ({"lat": "north", "lon": "east"}, 400, "not in the city"),
        ({"lat": "NaN", "lon": "144.9"}, 400, "not in the city"),
        ({"lat": "52.52", "lon": "13.40"}, 400, "not in the city"),  # Berlin
        ({"lat": "-37.81", "lon": ""}, 400, "not in the city"),  # half a position
        ({"lat": None, "lon": None}, 400, "say where"),
        ({"lat": None, "lon": None, "district": "Atlantis"}, 400, "no such district"),
        ({"lat": None, "lon": None, "site": "nope:1"}, 400, "not one of the city"),
    ],
)
def test_bad_reports_are_refused_and_keep_nothing(
    app: Dash, runtime: Runtime, fields: dict[str, Any], status: int, reason: str
) -> None:
    before = len(runtime.journal.reports(limit=-1))
    citizen = Citizen(app, f"10.2.{len(reason)}.{len(fields)}")
    answer = citizen.send(**fields)
    assert answer.status_code == status
    assert reason in answer.get_json()["error"]
    assert len(runtime.journal.reports(limit=-1)) == before


def test_a_refused_form_is_shown_again_with_what_was_typed(app: Dash) -> None:
    answer = Citizen(app, "10.1.0.4").send(json=False, category="ufo", text="Keep <b>me</b>")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'role="alert"' in page
    assert "Keep &lt;b&gt;me&lt;/b&gt;" in page  # escaped, never markup


@pytest.mark.parametrize(
    "upload, reason",
    [
        ((b"GIF89a" + b"\0" * 64, "x.gif", "image/gif"), "JPEG, PNG or WebP"),
        ((b"<svg onload='alert(1)'/>", "x.jpg", "image/jpeg"), "JPEG, PNG or WebP"),
        ((b"\xff\xd8\xff\xe0" + b"\0" * 100, "cut.jpg", "image/jpeg"), "JPEG, PNG or WebP"),
    ],
)
def test_files_that_are_not_photos_are_refused(
    app: Dash, runtime: Runtime, upload: tuple[bytes, str, str], reason: str
) -> None:
    before = len(runtime.journal.reports(limit=-1))
    data, name, kind = upload
    answer = Citizen(app, f"10.3.0.{len(data) % 250}").send(photo=(io.BytesIO(data), name, kind))
    assert answer.status_code == 400 and reason in answer.get_json()["error"]
    assert len(runtime.journal.reports(limit=-1)) == before


def test_an_oversize_photo_is_refused(app: Dash, runtime: Runtime) -> None:
    before = len(runtime.journal.reports(limit=-1))
    big = b"\xff\xd8" + b"\0" * (256 * 1024)  # one byte over photo_max_kb, within the body
    answer = Citizen(app, "10.1.0.5").send(photo=(io.BytesIO(big), "big.jpg", "image/jpeg"))
    assert answer.status_code == 413 and "at most 256 KiB" in answer.get_json()["error"]
    assert len(runtime.journal.reports(limit=-1)) == before


def test_an_oversize_body_is_refused_before_it_is_read(base: str) -> None:
    body = b"x" * (256 * 1024 + FORM_OVERHEAD_BYTES + 1)
    answer = requests.post(
        f"{base}/report",
        data=body,
        headers={"Content-Type": "multipart/form-data; boundary=xx"},
        timeout=30,
    )
    assert answer.status_code == 413
    # Other routes keep the small default limit.
    assert requests.post(f"{base}/kiosks", data=body, timeout=30).status_code == 413


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b'--xx\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nabc', "boundary=xx"),
        (b"not multipart at all", "boundary=xx"),
        (b"category=other&text=hi", ""),
        (b"\x00\xff" * 500, "boundary="),
    ],
)
def test_malformed_bodies_are_refused_without_a_server_error(
    app: Dash, body: bytes, content_type: str
) -> None:
    client = app.server.test_client()
    kind = "multipart/form-data; " + content_type if content_type else "text/plain"
    answer = client.post(
        "/report",
        data=body,
        headers={"Content-Type": kind, "X-Forwarded-For": "10.4.0.1"},
    )
    assert 400 <= answer.status_code < 500


def test_a_flood_from_one_device_and_one_address_is_stopped_over_http(
    base: str, runtime: Runtime
) -> None:
    before = len(runtime.journal.reports(limit=-1))

    def phone(address: str) -> tuple[requests.Session, str]:
        session = requests.Session()
        session.headers["X-Forwarded-For"] = address
        page = session.get(f"{base}/report", timeout=30).text
        return session, re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    def send(session: requests.Session, token: str) -> requests.Response:
        return session.post(
            f"{base}/report",
            data={"csrf": token, "category": "other", "text": "flood", "lat": LAT, "lon": LON},
            files={"photo": ("", b"")},
            headers={"Accept": "application/json"},
            timeout=30,
        )

    # One phone sends 12 at once: exactly per_device_per_hour (3) are kept.
    session, token = phone("10.9.0.1")
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: send(session, token), range(12)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 3 + [429] * 9
    refused = next(a for a in answers if a.status_code == 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    # New sessions from one address: the address's 6 an hour (3 used above) stop them.
    fresh = [send(*phone("10.9.0.1")).status_code for _ in range(5)]
    assert fresh == [201, 201, 201, 429, 429]
    # Another address is not hindered.
    assert send(*phone("10.9.0.2")).status_code == 201
    assert len(runtime.journal.reports(limit=-1)) == before + 7
    assert runtime.journal.refusals(runtime.city.clock())["file report refused"] >= 11


def test_staff_publish_answer_and_link_and_the_public_reads_only_published(
    app: Dash, runtime: Runtime
) -> None:
    citizen = Citizen(app, "10.1.0.6")
    shown = citizen.send(text="Counter at the corner shows nothing").get_json()["code"]
    hidden = citizen.send(text="Another one, same counter").get_json()["code"]
    public = app.server.test_client()
    assert public.get("/reports").status_code == 401
    assert public.get(f"/reports/{shown}/photo").status_code == 401
    refused = public.post(f"/reports/{shown}", data={"status": "published"})
    assert refused.status_code == 401 and runtime.journal.report(shown).status == "received"

    staff = signed_in(app.server, "ana", STAFF_PASSWORD)
    page = staff.get("/reports?lang=en").get_data(as_text=True)
    assert shown in page and hidden in page and "Counter at the corner" in page
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert staff.post(f"/reports/{shown}", data={"status": "published"}).status_code == 400
    done = staff.post(
        f"/reports/{shown}?lang=en",
        data={
            "csrf": token,
            "status": "published",
            "answer": "Thank you, a technician is on the way.",
            "link": "health:ped:1",
        },
    )
    assert done.status_code == 303
    merged = staff.post(
        f"/reports/{hidden}", data={"csrf": token, "status": "received", "merged_into": shown}
    )
    assert merged.status_code == 303
    assert runtime.journal.report(hidden).status == "merged"
    bad = staff.post(f"/reports/{hidden}", data={"csrf": token, "merged_into": "AAAA-BBBB"})
    assert bad.status_code == 400
    kept = runtime.journal.report(shown)
    assert kept.public and kept.link == "health:ped:1" and kept.answer.startswith("Thank you")
    assert staff.get(f"/reports/{shown}/photo").status_code == 404  # sent without one
    (event,) = runtime.journal.audit_log(1, action="moderate report")
    assert event.actor == "ana" and hidden in event.detail

    status = html.unescape(public.get(f"/report/{shown}?lang=en").get_data(as_text=True))
    assert "Published on the city's map" in status and "technician is on the way" in status

    geojson = public.get("/reports/published.geojson").get_json()
    rows = [f["properties"] for f in geojson["features"]]
    assert [r["text"] for r in rows if "corner" in r["text"]] == [
        "Counter at the corner shows nothing"
    ]
    assert all(r["status"] == "published" for r in rows)
    forbidden = {"code", "photo", "has_photo", "device", "address", "created", "language"}
    assert not forbidden & {k for r in rows for k in r}
    text = public.get("/reports/published.csv").get_data(as_text=True)
    table = list(csv.DictReader(io.StringIO(text)))
    assert any(r["text"] == "Counter at the corner shows nothing" for r in table)
    assert shown not in text and hidden not in text and "Another one" not in text


def test_reports_are_purged_after_their_retention(
    app: Dash, runtime: Runtime, clock: Clock
) -> None:
    code = Citizen(app, "10.1.0.7").send(text="Old report").get_json()["code"]
    start = clock.when
    try:
        clock.when = start + pd.Timedelta(days=91)
        staff = signed_in(app.server, "ana", STAFF_PASSWORD)
        assert staff.get("/reports").status_code == 200
        assert runtime.journal.report(code) is None
        assert runtime.journal.audit_log(1, action="purge reports")
        assert app.server.test_client().get(f"/report/{code}").status_code == 404
    finally:
        clock.when = start


def test_a_place_is_a_site_a_position_or_a_district() -> None:
    sites = pd.DataFrame(
        {
            "id": ["ped:1", "ped:2", "air:1"],
            "lat": [-37.80, -37.82, -37.90],
            "lon": [144.96, 144.97, 145.00],
            "district": ["Carlton", "Carlton", "Docklands"],
        }
    )
    bbox = (144.8, -38.0, 145.1, -37.7)
    assert parse_place({"site": "air:1"}, sites, bbox, 100).site_id == "air:1"
    assert (
        parse_place({"site": "air:1"}, sites, bbox, 100).lat
        == round_position(-37.90, 145.00, 100)[0]
    )
    place = parse_place({"district": "Carlton"}, sites, bbox, 100)
    assert (place.lat, place.lon) == round_position(-37.81, 144.965, 100)
    place = parse_place({"lat": "-37.8", "lon": "144.9", "district": "Carlton"}, sites, bbox, 100)
    assert (place.lat, place.lon) == round_position(-37.8, 144.9, 100)
    for bad in ({}, {"district": "x"}, {"site": "air:9"}, {"lat": "1e400", "lon": "0"}):
        with pytest.raises(ReportRefused):
            parse_place(bad, sites, bbox, 100)


def test_the_map_layer_shows_the_public_published_reports_and_staff_the_new_ones(
    app: Dash, runtime: Runtime
) -> None:
    citizen = Citizen(app, "10.1.0.8")
    new = citizen.send(text="Layer: a new one", category="air_smell").get_json()["code"]
    public = app.server.test_client()
    staff = signed_in(app.server, "ana", STAFF_PASSWORD)

    def texts(client: FlaskClient, lang: str = "en") -> dict[str, dict[str, Any]]:
        layer = client.get(f"/reports/layer.geojson?lang={lang}").get_json()
        return {f["properties"]["text"]: f for f in layer["features"]}

    assert "Layer: a new one" not in texts(public)
    feature = texts(staff)["Layer: a new one"]
    assert feature["properties"]["status"] == "received"
    assert feature["geometry"]["coordinates"] == list(reversed(round_position(LAT, LON, 100)))
    token = re.search(  # type: ignore[union-attr]
        r'name="csrf" value="([^"]+)"', staff.get("/reports").get_data(as_text=True)
    ).group(1)
    staff.post(f"/reports/{new}", data={"csrf": token, "status": "published"})
    german = texts(public, "de")["Layer: a new one"]["properties"]
    assert german["title"] == "Schlechte Luft oder ein Geruch hier"
    assert german["status_label"] == "Veröffentlicht"
    assert new not in str(german)
