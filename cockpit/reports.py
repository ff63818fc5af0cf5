"""Citizen reports pinned to a place: what a person tells the city from the citizen page
("this counter looks wrong", "car park full but shown free", "bad air smell here"), and
the privacy rules every report passes before it is kept.

A report carries a category, a short text, a place rounded to a grid of about
``position_m`` metres (or a sensor it is about), an optional photo (cleaned by
``cockpit.report_photos``) and the language it was written in. It names no person: no
name, no address, no account, no device or network address is asked or kept. The
citizen gets a short ``code`` to follow the report on the public status page; staff
publish, answer, merge or close it and may link it to a sensor-health issue or an
alert. Reports are kept ``[reports] keep_days`` days, then purged with their photos.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

__all__ = [
    "CATEGORIES",
    "CODE_ALPHABET",
    "LINK_KINDS",
    "REDACTED",
    "REPORT_ANSWER_MAX",
    "REPORT_TEXT_MAX",
    "STATUSES",
    "Report",
    "ReportChange",
    "changed",
    "check_link",
    "check_report",
    "clean_text",
    "new_code",
    "normal_code",
    "open_data_row",
    "round_position",
]

# What a report is about; the words people read are in the ``reports`` catalogue.
CATEGORIES: Final = ("sensor_wrong", "parking_wrong", "air_smell", "other")
# A report's life: received (only staff see it), published (on the public layer),
# merged (into another report about the same thing), closed (dealt with or not public).
STATUSES: Final = ("received", "published", "merged", "closed")
# What a report may be linked to: a sensor-health issue of a site, or an alert.
LINK_KINDS: Final = ("health", "alert")

REPORT_TEXT_MAX: Final = 1_000
REPORT_ANSWER_MAX: Final = 1_000
_SITE_MAX: Final = 200
_LINK_MAX: Final = 300
# No 0/O, 1/I/L: a code read aloud or typed from a phone's screen comes out right.
CODE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH: Final = 8
_EARTH_M_PER_DEGREE: Final = 111_320.0

# Contact details a person may type into the text without thinking: kept out of the
# store, since nobody asked for them and the text may be published.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ()/.-]{6,}\d(?!\w)")
REDACTED: Final = "[…]"


@dataclass(frozen=True)
class Report:
    """One citizen report as the journal keeps it (after ``check_report``)."""

    code: str
    category: str
    text: str
    created: datetime
    lat: float | None = None
    lon: float | None = None
    site_id: str = ""
    language: str = "en"
    status: str = "received"
    answer: str = ""
    merged_into: str = ""
    link: str = ""  # "health:<site id>" or "alert:<alert key>"
    photo: bytes | None = None  # a cleaned JPEG; not read by listings (``has_photo``)
    has_photo: bool = False
    updated: datetime | None = None
    id: int = 0

    @property
    def public(self) -> bool:
        """True when the report shows on the public layer and its text may be read."""
        return self.status == "published"


@dataclass(frozen=True)
class ReportChange:
    """What staff change on a report; None leaves a field as it is."""

    status: str | None = None
    answer: str | None = None
    merged_into: str | None = None
    link: str | None = None


def new_code() -> str:
    """A fresh reference for a citizen, e.g. ``"K7QM-4T2P"``: 40 random bits, so a code
    cannot be guessed to read someone else's unpublished report."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normal_code(text: object) -> str | None:
    """A code as typed by a person ("k7qm 4t2p", "K7QM4T2P") in its stored form, or None
    when it cannot be one."""
    if not isinstance(text, str) or len(text) > 32:
        return None
    raw = re.sub(r"[\s-]", "", text).upper()
    if len(raw) != _CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        return None
    return f"{raw[:4]}-{raw[4:]}"


def round_position(lat: float, lon: float, metres: float) -> tuple[float, float]:
    """The centre of the grid cell of about ``metres`` x ``metres`` that holds
    (``lat``, ``lon``), so a stored report says the block, not the doorstep. Cells are
    fixed (not centred on the report), so two reports from one spot land in one cell.
    Raises ValueError for a position that is not a finite WGS84 one or a cell under 1 m."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        raise ValueError("a position is a latitude within ±90° and a longitude within ±180°")
    if not metres >= 1:
        raise ValueError("positions are rounded to cells of at least 1 m")
    lat_step = metres / _EARTH_M_PER_DEGREE
    row = math.floor(lat / lat_step)
    centre_lat = (row + 0.5) * lat_step
    # The longitude step of the cell's row, so a cell is about as wide as it is high.
    lon_step = lat_step / max(math.cos(math.radians(centre_lat)), 0.01)
    centre_lon = (math.floor(lon / lon_step) + 0.5) * lon_step
    return round(min(90.0, centre_lat), 6), round(max(-180.0, min(180.0, centre_lon)), 6)


def clean_text(text: str, limit: int = REPORT_TEXT_MAX) -> str:
    """``text`` as a report keeps it: control characters removed, runs of blank space
    made one, e-mail addresses and phone numbers replaced by ``REDACTED``. Raises
    ValueError for a text longer than ``limit`` characters (before cleaning, so a person
    learns it before writing more)."""
    if len(text) > limit:
        raise ValueError(f"the text may be at most {limit} characters long, not {len(text)}")
    kept = "".join(
        c if unicodedata.category(c)[0] != "C" else " " for c in unicodedata.normalize("NFC", text)
    )
    kept = _EMAIL.sub(REDACTED, kept)
    kept = _PHONE.sub(REDACTED, kept)
    return " ".join(kept.split())


def check_report(report: Report) -> None:
    """Raises ValueError for a report the journal must not keep: an unknown category or
    status, no text, a text or answer over its limit, a place neither given nor a site,
    half a position, or a link that is not ``health:`` or ``alert:``."""
    if report.category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, not {report.category!r}")
    if report.status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {report.status!r}")
    if normal_code(report.code) != report.code:
        raise ValueError(f"{report.code!r} is not a report code")
    if not report.text.strip():
        raise ValueError("a report needs a few words saying what is wrong")
    if len(report.text) > REPORT_TEXT_MAX:
        raise ValueError(f"the text may be at most {REPORT_TEXT_MAX} characters long")
    if len(report.answer) > REPORT_ANSWER_MAX:
        raise ValueError(f"the answer may be at most {REPORT_ANSWER_MAX} characters long")
    if (report.lat is None) != (report.lon is None):
        raise ValueError("a position needs both a latitude and a longitude")
    if report.lat is None and not report.site_id:
        raise ValueError("a report needs a place: a position on the map or a sensor")
    if len(report.site_id) > _SITE_MAX or len(report.language) > 16:
        raise ValueError("the sensor id or the language is too long")
    check_link(report.link)
    if report.merged_into and normal_code(report.merged_into) != report.merged_into:
        raise ValueError(f"{report.merged_into!r} is not a report code")


def check_link(link: str) -> None:
    """Raises ValueError unless ``link`` is empty, ``health:<site id>`` or
    ``alert:<alert key>``."""
    if not link:
        return
    kind, _, target = link.partition(":")
    if kind not in LINK_KINDS or not target.strip() or len(link) > _LINK_MAX:
        raise ValueError("a link is 'health:<site id>' or 'alert:<alert key>'")


def changed(report: Report, change: ReportChange, now: datetime) -> Report:
    """``report`` with ``change`` applied at ``now``; raises ValueError when the result
    is not a report the journal keeps (``check_report``), or a report is merged into
    itself."""
    answer = report.answer if change.answer is None else clean_text(change.answer)
    merged = report.merged_into if change.merged_into is None else change.merged_into
    status = report.status if change.status is None else change.status
    if change.merged_into:
        status = "merged"
    if merged and merged == report.code:
        raise ValueError("a report cannot be merged into itself")
    new = replace(
        report,
        status=status,
        answer=answer,
        merged_into=merged,
        link=report.link if change.link is None else change.link.strip(),
        updated=now,
    )
    check_report(new)
    return new


def open_data_row(report: Report, metres: float) -> dict[str, object]:
    """A published report as open data: category, text, staff's answer, status, the day
    it was made and its place rounded again to ``metres`` (whatever the journal kept);
    never its photo, code, exact time or anything about who sent it."""
    lat, lon = (None, None)
    if report.lat is not None and report.lon is not None:
        lat, lon = round_position(report.lat, report.lon, metres)
    return {
        "category": report.category,
        "text": report.text,
        "answer": report.answer,
        "status": report.status,
        "date": report.created.date().isoformat(),
        "site_id": report.site_id,
        "lat": lat,
        "lon": lon,
    }
