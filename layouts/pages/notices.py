"""``/notices``: staff and executives publish public notices for the kiosks and withdraw
them.

A notice has a text in every language a kiosk shows, a severity (info, warning,
emergency), a start, an expiry and where it shows (every kiosk, a group showing one
screen set, one kiosk). Staff first see a preview of what the kiosks will show, then
confirm. An emergency takes a kiosk's whole screen, so it needs an executive, or two
members of staff: one publishes, another approves (``cockpit.present.notice_rules``).
The server checks ``may_do(config, role, "publish_notice")`` in every callback that
writes; a public viewer sees no form and a crafted request is refused (403). Every
publish, approval and withdrawal goes to the audit log in readable words.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dash
import flask
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from cockpit.auth import Viewer, may_do
from cockpit.city import City
from cockpit.config import CityConfig
from cockpit.present import notice_rules as rules
from cockpit.present.i18n import Gettext, format_time, translator
from cockpit.present.slides import heading
from cockpit.storage import SEVERITIES, Journal, Notice
from cockpit.validate import bounded_int_or_none
from layouts.routes.access import current_viewer

__all__ = [
    "Draft",
    "form_outputs",
    "notice_languages",
    "notice_list",
    "notice_outputs",
    "parse_local",
    "preview",
    "read_draft",
    "register",
    "sign_in_first",
    "staff_header",
]

_INPUT = "%Y-%m-%dT%H:%M"
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "it": "Italiano"}


def notice_languages(config: CityConfig) -> list[str]:
    """The languages a notice is written in: the city's, then those the kiosks show."""
    out: list[str] = []
    for lang in [*config.city.languages, *rules.kiosk_languages(config)]:
        if lang not in out:
            out.append(lang)
    return out or ["en"]


def parse_local(value: str | None, timezone: str) -> datetime:
    """A ``datetime-local`` input ("2026-11-24T10:30") on the city's clock, as UTC.
    Raises ValueError for an empty or malformed value."""
    if not value or not isinstance(value, str):
        raise ValueError("missing time")
    naive = datetime.strptime(value.strip()[:16].replace(" ", "T"), _INPUT)
    return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


def _local_input(when: datetime, timezone: str) -> str:
    return when.astimezone(ZoneInfo(timezone)).strftime(_INPUT)


def notice_list(
    notices: list[Notice],
    config: CityConfig,
    language: str,
    _: Gettext,
    may_withdraw: bool,
    viewer: Viewer | None = None,
) -> html.Div:
    """Active notices, most severe first, each with its texts, times, author and where
    it shows; an emergency waiting for approval says so, with an approve button for
    ``viewer`` when they may approve it."""
    tz = config.city.timezone
    if not notices:
        return html.Div(html.P(_("No active notices."), className="cc-muted"))
    items = []
    for n in notices:
        window = _("from {start} until {end}").format(
            start=format_time(n.starts, language, tz, "EEE d MMM HH:mm"),
            end=format_time(n.expires, language, tz, "EEE d MMM HH:mm"),
        )
        texts = [
            html.Div(
                [html.Span(lang, className="cc-lang-tag"), html.Span(text)],
                className="cc-notice-text",
            )
            for lang, text in n.texts.items()
            if text.strip()
        ]
        actions = (
            [
                html.Button(
                    _("Withdraw"),
                    id={"type": "cc-notice-withdraw", "id": n.id},
                    className="cc-btn cc-btn-danger",
                )
            ]
            if may_withdraw
            else []
        )
        if viewer is not None and rules.may_approve(n, viewer.user, viewer.role):
            actions.insert(
                0,
                html.Button(
                    _("Approve: show it on the kiosks"),
                    id={"type": "cc-notice-approve", "id": n.id},
                    className="cc-btn cc-btn-primary",
                ),
            )
        waiting = (
            [
                html.P(
                    _("Waiting for a second person to approve it: no kiosk shows it yet."),
                    className="cc-notice-waiting",
                )
            ]
            if not n.approved
            else []
        )
        where = _("on {kiosks}").format(kiosks=rules.targets_text(n.kiosks, config, _))
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(_(n.severity), className=f"cc-sev cc-sev-{n.severity}"),
                            html.Span(window, className="cc-muted"),
                            html.Span(_("by {user}").format(user=n.author), className="cc-muted"),
                            html.Span(where, className="cc-muted cc-notice-where"),
                        ],
                        className="cc-notice-head",
                    ),
                    *waiting,
                    *texts,
                    *actions,
                ],
                className=f"cc-notice cc-notice-{n.severity}",
                id=f"cc-notice-{n.id}",
            )
        )
    return html.Div(html.Ul(items, className="cc-notice-items"))


def _form(
    config: CityConfig, now: datetime, _: Gettext, choices: list[rules.Choice]
) -> html.Section:
    tz = config.city.timezone
    texts = [
        html.Div(
            # The label wraps its text area: a pattern id cannot be named by htmlFor.
            html.Label(
                [
                    html.Span(
                        _("Text ({language})").format(language=LANGUAGE_NAMES.get(lang, lang))
                    ),
                    dcc.Textarea(
                        id={"type": "cc-notice-text", "lang": lang},
                        className="cc-textarea",
                        maxLength=500,
                        lang=lang,
                        rows=3,
                    ),
                ],
                className="cc-wrap-label",
            ),
            className="cc-field",
        )
        for lang in notice_languages(config)
    ]
    return html.Section(
        [
            html.H2(_("Publish a notice"), className="cc-panel-title"),
            *texts,
            html.Div(
                [
                    html.Span(_("Severity"), id="cc-notice-severity-label"),
                    dcc.RadioItems(
                        id="cc-notice-severity",
                        options=[{"label": _(s), "value": s} for s in SEVERITIES],
                        value="info",
                        inline=True,
                        className="cc-radio",
                        inputClassName="cc-radio-input",
                    ),
                ],
                className="cc-field",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label(_("Starts"), htmlFor="cc-notice-starts"),
                            dcc.Input(
                                id="cc-notice-starts",
                                type="datetime-local",
                                value=_local_input(now, tz),
                            ),
                        ],
                        className="cc-field",
                    ),
                    html.Div(
                        [
                            html.Label(_("Expires"), htmlFor="cc-notice-expires"),
                            dcc.Input(
                                id="cc-notice-expires",
                                type="datetime-local",
                                value=_local_input(now + timedelta(hours=4), tz),
                            ),
                        ],
                        className="cc-field",
                    ),
                ],
                className="cc-field-row",
            ),
            html.Div(
                [
                    html.Label(_("Show on"), htmlFor="cc-notice-kiosks"),
                    dcc.Dropdown(
                        id="cc-notice-kiosks",
                        options=[{"label": c.label, "value": c.value} for c in choices],
                        value=rules.ALL_KIOSKS,
                        clearable=False,
                    ),
                ],
                className="cc-field",
            ),
            html.Button(_("Preview"), id="cc-notice-preview", className="cc-btn cc-btn-primary"),
            html.Div(
                [
                    html.H3(_("What the kiosks will show"), className="cc-panel-title"),
                    html.Div(id="cc-notice-preview-body"),
                    html.Div(
                        [
                            html.Button(
                                _("Confirm and publish"),
                                id="cc-notice-publish",
                                className="cc-btn cc-btn-primary",
                            ),
                            html.Span(
                                _("Change the form to correct it, then preview again."),
                                className="cc-muted",
                            ),
                        ],
                        className="cc-field-row",
                    ),
                ],
                id="cc-notice-preview-panel",
                className="cc-notice-preview",
                hidden=True,
            ),
            html.Div(id="cc-notice-status", className="cc-status-line", role="status"),
            dcc.Store(id="cc-notice-draft"),
        ],
        className="cc-panel cc-form",
    )


@dataclass(frozen=True)
class Draft:
    """A notice as the form describes it, checked: ready to preview and publish."""

    notice: Notice
    fingerprint: str


def read_draft(
    config: CityConfig,
    viewer: Viewer,
    texts: list[str | None],
    text_ids: list[dict[str, str]],
    severity: Any,
    starts: Any,
    expires: Any,
    target: Any,
    choices: list[rules.Choice],
    _: Gettext,
) -> Draft:
    """The form's notice, checked; raises ValueError with the words to show when it
    lacks a text in a kiosk language, has an unknown severity or target, or unusable
    times. An emergency by staff waits for a second person's approval."""
    tz = config.city.timezone
    if len(texts) != len(text_ids):
        raise ValueError(_("the form is incomplete"))
    by_lang = {
        str(i.get("lang")): t.strip()
        for i, t in zip(text_ids, texts, strict=True)
        if isinstance(i, dict) and isinstance(t, str) and t.strip()
    }
    missing = rules.missing_languages(by_lang, rules.kiosk_languages(config))
    if missing:
        names = ", ".join(LANGUAGE_NAMES.get(lang, lang) for lang in missing)
        raise ValueError(
            _("a text is needed in every kiosk language (missing: {languages})").format(
                languages=names
            )
        )
    if severity not in SEVERITIES:
        raise ValueError(_("choose a severity"))
    kiosks = rules.target_of(target, choices)
    if kiosks is None:
        raise ValueError(_("choose where the notice shows"))
    try:
        start, end = parse_local(starts, tz), parse_local(expires, tz)
    except ValueError:
        raise ValueError(_("give a start and an expiry")) from None
    if end <= start:
        raise ValueError(_("a notice must expire after it starts"))
    at_once = rules.publishes_at_once(viewer.role, str(severity))
    notice = Notice(
        texts={lang: by_lang[lang] for lang in notice_languages(config) if lang in by_lang},
        severity=str(severity),
        starts=start,
        expires=end,
        author=viewer.user,
        kiosks=kiosks,
        approved_by=viewer.user if at_once and severity == "emergency" else "",
    )
    key = json.dumps(
        [notice.texts, notice.severity, starts, expires, list(kiosks), viewer.user],
        ensure_ascii=False,
        sort_keys=True,
    )
    return Draft(notice, hashlib.sha256(key.encode()).hexdigest())


def preview(draft: Draft, config: CityConfig, language: str, _: Gettext) -> list[Any]:
    """What the kiosks will show, language by language, and where and when."""
    notice, tz = draft.notice, config.city.timezone
    emergency = notice.severity == "emergency"
    shown = []
    for lang, text in notice.texts.items():
        # As the kiosk says it, in the text's own language.
        words = heading(lang)
        head = words.emergency if emergency else words.notice
        shown.append(
            html.Div(
                [
                    html.Span(LANGUAGE_NAMES.get(lang, lang), className="cc-lang-tag"),
                    html.Strong(f"{head}: "),
                    html.Span(text, lang=lang),
                ],
                className=f"cc-preview-kiosk cc-preview-{notice.severity}",
            )
        )
    facts = [
        _("Shows on {kiosks}").format(kiosks=rules.targets_text(notice.kiosks, config, _)),
        _("from {start} until {end}").format(
            start=format_time(notice.starts, language, tz, "EEE d MMM HH:mm"),
            end=format_time(notice.expires, language, tz, "EEE d MMM HH:mm"),
        ),
    ]
    if emergency:
        facts.append(_("An emergency takes over the whole screen of these kiosks."))
    if not notice.approved:
        facts.append(
            _(
                "As staff you publish it for approval: it shows once another member of "
                "staff or an executive approves it."
            )
        )
    return [*shown, html.Ul([html.Li(f) for f in facts], className="cc-preview-facts")]


def sign_in_first(message: str, element_id: str, here: str, _: Gettext) -> html.Section:
    """A staff page's body for a viewer who may not see it: why, and a link to sign in
    that comes back to ``here``."""
    return html.Section(
        [
            html.P(message, id=element_id),
            html.A(_("Sign in"), href=f"/signin?next={here}", className="cc-btn"),
        ],
        className="cc-panel",
    )


def staff_header(
    title: str, city: str, here: str, other: tuple[str, str], viewer: Viewer, _: Gettext
) -> html.Header:
    """The header of a staff page: its title, the city, and links to the cockpit, the
    ``other`` staff page (path, label) and signing in (back to ``here``) or out."""
    account = (
        [html.A(_("Sign out"), href="/signout")]
        if viewer.signed_in
        else [html.A(_("Sign in"), href=f"/signin?next={here}")]
    )
    return html.Header(
        className="cc-header",
        children=[
            html.H1(title),
            html.Span(city, className="cc-asof"),
            html.Nav(
                [html.A(_("Cockpit"), href="/"), html.A(other[1], href=other[0]), *account],
                className="cc-nav",
            ),
        ],
    )


def page(city: City, journal: Journal, lang: str = "en", **_query: Any) -> html.Div:
    """The notices page for the viewer: the form and the list, or a sign-in prompt."""
    language = lang if isinstance(lang, str) and lang.isalpha() else "en"
    _ = translator(language, "cockpit")
    config = city.config
    viewer = current_viewer()
    allowed = may_do(config, viewer.role, "publish_notice")
    header = staff_header(
        _("Public notices"), config.city.name, "/notices", ("/decisions", _("Decisions")), viewer, _
    )
    if not allowed:
        body: list[Any] = [
            sign_in_first(
                _("Sign in as city staff to publish notices."), "cc-notice-refused", "/notices", _
            )
        ]
    else:
        now = city.clock()
        choices = _choices(config, journal, _)
        body = [
            html.Div(
                [
                    _form(config, now, _, choices),
                    html.Section(
                        [
                            html.H2(_("Active notices"), className="cc-panel-title"),
                            html.Div(
                                notice_list(
                                    journal.notices(now), config, language, _, True, viewer
                                ),
                                id="cc-notice-list",
                            ),
                        ],
                        className="cc-panel",
                    ),
                ],
                className="cc-two-columns",
            )
        ]
    return html.Div(
        [
            header,
            html.Main(body),
            dcc.Store(id="cc-notice-lang", data=language),
        ],
        className="cc-page cc-notices",
        lang=language,
    )


def _choices(config: CityConfig, journal: Journal, _: Gettext) -> list[rules.Choice]:
    return rules.kiosk_choices(config, [b.kiosk_id for b in journal.heartbeats()], _)


def form_outputs(listing: Any, status: Any) -> dict[str, Any]:
    """A staff form's outputs by name (the notices' and the decisions'): the list of
    what was recorded and the status line (``no_update`` leaves one as it is)."""
    return {"listing": listing, "status": status}


def notice_outputs(
    listing: Any,
    status: Any,
    preview: Any = dash.no_update,
    hidden: Any = dash.no_update,
    draft: Any = dash.no_update,
) -> dict[str, Any]:
    """The notices callback's outputs by name: the list, the status line, the preview,
    whether the preview is hidden, and the fingerprint of the previewed draft."""
    return {**form_outputs(listing, status), "preview": preview, "hidden": hidden, "draft": draft}


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the ``/notices`` page and its callbacks."""
    config = city.config

    @app.callback(
        output={
            "listing": Output("cc-notice-list", "children"),
            "status": Output("cc-notice-status", "children"),
            "preview": Output("cc-notice-preview-body", "children"),
            "hidden": Output("cc-notice-preview-panel", "hidden"),
            "draft": Output("cc-notice-draft", "data"),
        },
        inputs=[
            Input("cc-notice-preview", "n_clicks"),
            Input("cc-notice-publish", "n_clicks"),
            Input({"type": "cc-notice-withdraw", "id": ALL}, "n_clicks"),
            Input({"type": "cc-notice-approve", "id": ALL}, "n_clicks"),
        ],
        state=[
            State({"type": "cc-notice-text", "lang": ALL}, "value"),
            State({"type": "cc-notice-text", "lang": ALL}, "id"),
            State("cc-notice-severity", "value"),
            State("cc-notice-starts", "value"),
            State("cc-notice-expires", "value"),
            State("cc-notice-kiosks", "value"),
            State("cc-notice-lang", "data"),
            State("cc-notice-draft", "data"),
        ],
        prevent_initial_call=True,
    )
    def act(
        _preview: int | None,
        _publish: int | None,
        _withdraw: list[int | None],
        _approve: list[int | None],
        texts: list[str | None],
        text_ids: list[dict[str, str]],
        severity: str,
        starts: str | None,
        expires: str | None,
        target: Any,
        language: str | None,
        previewed: Any,
    ) -> dict[str, Any]:
        viewer = current_viewer()
        address = flask.request.remote_addr or ""
        trigger = ctx.triggered_id
        if not may_do(config, viewer.role, "publish_notice"):
            journal.audit(viewer.user or "(public)", "notice refused", str(trigger), address)
            flask.abort(403)
        language = language if isinstance(language, str) and language.isalpha() else "en"
        _ = translator(language, "cockpit")
        now = city.clock()
        status: Any = dash.no_update
        kind = trigger.get("type") if isinstance(trigger, dict) else trigger
        if kind in ("cc-notice-withdraw", "cc-notice-approve"):
            if not ctx.triggered[0]["value"]:
                raise PreventUpdate
            notice_id = bounded_int_or_none(trigger.get("id"), 1, 2**62)  # type: ignore[union-attr]
            if notice_id is None:  # no button carries such an id
                raise PreventUpdate
            if kind == "cc-notice-withdraw" and journal.withdraw(notice_id, viewer.user, now):
                journal.audit(viewer.user, "withdraw notice", f"notice {notice_id}", address)
                status = _("Notice withdrawn.")
            elif kind == "cc-notice-approve":
                status = approve_notice(notice_id, now, viewer, address, _)
        else:
            choices = _choices(config, journal, _)
            try:
                draft = read_draft(
                    config, viewer, texts, text_ids, severity, starts, expires, target, choices, _
                )
            except ValueError as exc:
                reason = _("Not ready: {reason}").format(reason=str(exc))
                return notice_outputs(dash.no_update, reason, [], True, None)
            if kind == "cc-notice-preview":
                shown = preview(draft, config, language, _)
                return notice_outputs(dash.no_update, "", shown, False, draft.fingerprint)
            if previewed != draft.fingerprint:
                message = _("Preview the notice before publishing it: the form changed since.")
                return notice_outputs(dash.no_update, message, [], True, None)
            notice_id = journal.publish(draft.notice, now)
            detail = rules.audit_detail(notice_id, draft.notice, config)
            journal.audit(viewer.user, "publish notice", detail, address)
            status = (
                _("Notice published.")
                if draft.notice.approved
                else _(
                    "Published for approval: another person must approve it before kiosks show it."
                )
            )
            listing = notice_list(journal.notices(now), config, language, _, True, viewer)
            return notice_outputs(listing, status, [], True, None)
        listing = notice_list(journal.notices(now), config, language, _, True, viewer)
        return notice_outputs(listing, status)

    def approve_notice(
        notice_id: int, now: datetime, viewer: Viewer, address: str, _: Gettext
    ) -> str:
        found = next((n for n in journal.notices(now) if n.id == notice_id), None)
        if found is None or not rules.may_approve(found, viewer.user, viewer.role):
            journal.audit(viewer.user, "approve notice refused", f"notice {notice_id}", address)
            return _("This notice cannot be approved by you.")
        if not journal.approve(notice_id, viewer.user, now):
            return _("This notice cannot be approved by you.")
        detail = rules.audit_detail(notice_id, found, config) + f"; approved by {viewer.user}"
        journal.audit(
            viewer.user,
            "approve notice",
            detail.replace("; waits for a second approval", ""),
            address,
        )
        return _("Notice approved: the kiosks show it.")
