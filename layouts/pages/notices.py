"""``/notices``: staff and executives publish public notices for the kiosks and withdraw
them.

A notice has a text in each of the city's languages, a severity (info, warning,
emergency), a start and an expiry. The server checks ``may_do(config, role,
"publish_notice")`` in every callback that writes; a public viewer sees no form and a
crafted request is refused (403). Every publish and withdraw goes to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
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
from cockpit.present.i18n import format_time, translator
from cockpit.storage import SEVERITIES, Journal, Notice
from cockpit.validate import bounded_int_or_none
from layouts.routes.access import current_viewer

__all__ = [
    "form_outputs",
    "notice_languages",
    "notice_list",
    "parse_local",
    "register",
    "staff_header",
]

Gettext = Callable[[str], str]
_INPUT = "%Y-%m-%dT%H:%M"
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "it": "Italiano"}


def notice_languages(config: CityConfig) -> list[str]:
    """The languages a notice is written in: the city's, then the kiosks' own."""
    out: list[str] = []
    for lang in [*config.city.languages, *config.kiosk.languages]:
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
    notices: list[Notice], config: CityConfig, language: str, _: Gettext, may_withdraw: bool
) -> html.Div:
    """Active notices, most severe first, each with its texts, times and author."""
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
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(_(n.severity), className=f"cc-sev cc-sev-{n.severity}"),
                            html.Span(window, className="cc-muted"),
                            html.Span(_("by {user}").format(user=n.author), className="cc-muted"),
                        ],
                        className="cc-notice-head",
                    ),
                    *texts,
                    *actions,
                ],
                className=f"cc-notice cc-notice-{n.severity}",
                id=f"cc-notice-{n.id}",
            )
        )
    return html.Div(html.Ul(items, className="cc-notice-items"))


def _form(config: CityConfig, now: datetime, _: Gettext) -> html.Section:
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
            html.Button(_("Publish"), id="cc-notice-publish", className="cc-btn cc-btn-primary"),
            html.Div(id="cc-notice-status", className="cc-status-line", role="status"),
        ],
        className="cc-panel cc-form",
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
            html.Section(
                [
                    html.P(_("Sign in as city staff to publish notices."), id="cc-notice-refused"),
                    html.A(_("Sign in"), href="/signin?next=/notices", className="cc-btn"),
                ],
                className="cc-panel",
            )
        ]
    else:
        now = city.clock()
        body = [
            html.Div(
                [
                    _form(config, now, _),
                    html.Section(
                        [
                            html.H2(_("Active notices"), className="cc-panel-title"),
                            html.Div(
                                notice_list(journal.notices(now), config, language, _, True),
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


def form_outputs(listing: Any, status: Any) -> dict[str, Any]:
    """A staff form's outputs by name (the notices' and the decisions'): the list of
    what was recorded and the status line (``no_update`` leaves one as it is)."""
    return {"listing": listing, "status": status}


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the ``/notices`` page and its callbacks."""
    config = city.config
    tz = config.city.timezone

    @app.callback(
        output={
            "listing": Output("cc-notice-list", "children"),
            "status": Output("cc-notice-status", "children"),
        },
        inputs=[
            Input("cc-notice-publish", "n_clicks"),
            Input({"type": "cc-notice-withdraw", "id": ALL}, "n_clicks"),
        ],
        state=[
            State({"type": "cc-notice-text", "lang": ALL}, "value"),
            State({"type": "cc-notice-text", "lang": ALL}, "id"),
            State("cc-notice-severity", "value"),
            State("cc-notice-starts", "value"),
            State("cc-notice-expires", "value"),
            State("cc-notice-lang", "data"),
        ],
        prevent_initial_call=True,
    )
    def act(
        _publish: int | None,
        _withdraw: list[int | None],
        texts: list[str | None],
        text_ids: list[dict[str, str]],
        severity: str,
        starts: str | None,
        expires: str | None,
        language: str | None,
    ) -> dict[str, Any]:
        viewer = current_viewer()
        address = flask.request.remote_addr or ""
        trigger = ctx.triggered_id
        if not may_do(config, viewer.role, "publish_notice"):
            journal.audit(viewer.user or "(public)", "notice refused", str(trigger), address)
            flask.abort(403)
        language = language or "en"
        _ = translator(language, "cockpit")
        now = city.clock()
        status: Any = dash.no_update
        if isinstance(trigger, dict) and trigger.get("type") == "cc-notice-withdraw":
            if not ctx.triggered[0]["value"]:
                raise PreventUpdate
            notice_id = bounded_int_or_none(trigger.get("id"), 1, 2**62)
            if notice_id is None:  # no withdraw button carries such an id
                raise PreventUpdate
            if journal.withdraw(notice_id, viewer.user, now):
                journal.audit(viewer.user, "withdraw notice", f"notice {notice_id}", address)
                status = _("Notice withdrawn.")
        else:
            if len(texts) != len(text_ids):  # one text box per language, always
                raise PreventUpdate
            by_lang = {
                str(i["lang"]): t.strip()
                for i, t in zip(text_ids, texts, strict=True)
                if isinstance(t, str)
            }
            try:
                notice = Notice(
                    texts={k: v for k, v in by_lang.items() if v},
                    severity=severity,
                    starts=parse_local(starts, tz),
                    expires=parse_local(expires, tz),
                    author=viewer.user,
                )
                if not notice.texts:
                    raise ValueError("a notice needs text in at least one language")
                notice_id = journal.publish(notice, now)
            except ValueError as exc:
                reason = _("Not published: {reason}").format(reason=str(exc))
                return form_outputs(dash.no_update, reason)
            journal.audit(
                viewer.user,
                "publish notice",
                f"notice {notice_id}: {severity}, {starts} to {expires} ({tz}), "
                f"languages {', '.join(notice.texts)}",
                address,
            )
            status = _("Notice published.")
        listing = notice_list(journal.notices(now), config, language, _, True)
        return form_outputs(listing, status)
