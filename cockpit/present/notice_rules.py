"""The rules of publishing a public notice, as pure functions: where it may show (every
kiosk, a group of kiosks showing one screen set, one kiosk), which texts it needs (one in
every language a kiosk shows), who may put an emergency on the kiosks (an executive, or
two members of staff: one writes, another approves), and the audit log's words for it.

``layouts.pages.notices`` draws the form, the preview and the list from these; nothing
here reads a session or a store.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from cockpit.config import CityConfig
from cockpit.present.i18n import Gettext
from cockpit.storage import Notice

__all__ = [
    "ALL_KIOSKS",
    "Choice",
    "audit_detail",
    "kiosk_choices",
    "kiosk_languages",
    "may_approve",
    "missing_languages",
    "publishes_at_once",
    "target_of",
    "targets_text",
]

ALL_KIOSKS = "all"


def _(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Choice:
    """One entry of "show on": its value (``all``, ``screen:<id>``, ``kiosk:<id>``) and
    its words."""

    value: str
    label: str


def kiosk_languages(config: CityConfig) -> list[str]:
    """Every language some kiosk shows: the kiosks' own, each screen set's, else the
    city's; a notice needs a text in each (a kiosk shows its own language)."""
    out: list[str] = []
    screens = [lang for s in config.kiosk.screens.values() for lang in s.languages]
    for lang in [*(config.kiosk.languages or config.city.languages), *screens]:
        if lang not in out:
            out.append(lang)
    return out or ["en"]


def kiosk_choices(config: CityConfig, registered: Collection[str], _t: Gettext) -> list[Choice]:
    """Where a notice may show: every kiosk, each screen set (a group: every kiosk that
    shows it), each kiosk the city knows (configured or registered by staff)."""
    out = [Choice(ALL_KIOSKS, _t("All kiosks"))]
    for screen_id, screen in sorted(config.kiosk.screens.items()):
        title = screen.title or screen_id
        out.append(
            Choice(f"screen:{screen_id}", _t("Group: {name}").format(name=f"{title} ({screen_id})"))
        )
    for kiosk in sorted({*config.kiosk.ids, *registered}):
        out.append(Choice(f"kiosk:{kiosk}", _t("One kiosk: {name}").format(name=kiosk)))
    return out


def target_of(value: object, choices: list[Choice]) -> tuple[str, ...] | None:
    """The notice's ``kiosks`` for a chosen value: () for every kiosk, one target for a
    group or a kiosk; None for a value that is not offered."""
    if not isinstance(value, str) or value not in {c.value for c in choices}:
        return None
    return () if value == ALL_KIOSKS else (value,)


def targets_text(kiosks: tuple[str, ...], config: CityConfig, _t: Gettext) -> str:
    """Where a notice shows, in words: "all kiosks", "the group Flinders Street Station
    (station)", "the kiosk station-3"."""
    if not kiosks:
        return _t("all kiosks")
    words = []
    for target in kiosks:
        kind, _sep, name = target.partition(":")
        if kind == "screen":
            screen = config.kiosk.screens.get(name)
            title = (screen.title if screen else "") or name
            words.append(_t("the group {name}").format(name=f"{title} ({name})"))
        else:
            words.append(_t("the kiosk {name}").format(name=name))
    return ", ".join(words)


def missing_languages(texts: dict[str, str], languages: list[str]) -> list[str]:
    """The ``languages`` ``texts`` has no text in (blank counts as none)."""
    return [lang for lang in languages if not (texts.get(lang) or "").strip()]


def publishes_at_once(role: str, severity: str) -> bool:
    """True when a notice of ``severity`` by ``role`` shows at once; an emergency by
    staff waits until another person approves it (an executive's shows at once)."""
    return severity != "emergency" or role == "executive"


def may_approve(notice: Notice, user: str, role: str) -> bool:
    """True when ``user`` (of ``role``) may approve ``notice``: a waiting emergency,
    not their own, by staff or an executive."""
    return (
        not notice.approved
        and notice.withdrawn is None
        and bool(user)
        and user != notice.author
        and role in ("staff", "executive")
    )


def audit_detail(notice_id: int, notice: Notice, config: CityConfig) -> str:
    """The audit log's line for a published notice, readable without the database: its
    number, severity, where it shows (names, not keys), when on the city's clock, its
    languages and the start of its first text."""

    def english(text: str) -> str:  # the audit log is kept in English
        return text

    first = next(iter(notice.texts.values()), "")
    shown = first if len(first) <= 60 else first[:59] + "…"
    tz = ZoneInfo(config.city.timezone)
    starts, expires = notice.starts.astimezone(tz), notice.expires.astimezone(tz)
    waiting = "" if notice.approved else "; waits for a second approval"
    return (
        f"notice {notice_id} ({notice.severity}) on {targets_text(notice.kiosks, config, english)}"
        f", {starts:%Y-%m-%d %H:%M} to {expires:%Y-%m-%d %H:%M} ({config.city.timezone}),"
        f" in {', '.join(notice.texts)}: “{shown}”{waiting}"
    )
