"""``/rules``: the city's alert rules and the delivery log, for staff.

Executives (and staff the config grants ``manage_rules``) write a rule (a condition
over one domain's sites and a metric, a severity, quiet hours, who hears it), test it
against last week's history ("would have fired N times"), save it, and enable or
disable it; the built-in and config rules are listed beside them. Every change goes to
the audit log (``cockpit.twin.rules.save_rule`` / ``set_enabled``). Signed-in staff see
the rules and the delivery log: each message to a channel, its tries and its error.

The server checks ``may_do(config, role, "manage_rules")`` in every callback that tests
or changes a rule; a crafted request from another role is refused with 403 and audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import dash
import flask
from dash import ALL, Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from pydantic import ValidationError

from cockpit import domains as registry
from cockpit.auth import may_do
from cockpit.city import City
from cockpit.config import PHONE, CityConfig, RuleConfig
from cockpit.errors import WordedError
from cockpit.model import METRICS
from cockpit.present.i18n import format_time, translator
from cockpit.present.rule_reasons import CONDITIONS, as_worded, reason_in_words
from cockpit.storage import Journal
from cockpit.twin.rules import (
    Backtest,
    Rule,
    RuleError,
    all_rules,
    check_rule,
    describe,
    save_rule,
    set_enabled,
)
from layouts.pages.notices import form_outputs, sign_in_first, staff_header
from layouts.routes.access import current_viewer

__all__ = [
    "FORM_FIELDS",
    "backtest_summary",
    "channel_words",
    "delivery_log",
    "page",
    "register",
    "rule_list",
    "rule_name",
    "spec_from_form",
]

Gettext = Callable[[str], str]
ACTION = "manage_rules"
SEVERITY_CHOICES = ("critical", "high", "moderate", "low")
HEALTH_STATES = ("stale", "silent", "flat", "impossible")
# The form's fields: the id suffix of each input and the property holding its value.
FORM_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "value"),
    ("name", "value"),
    ("domain", "value"),
    ("metric", "value"),
    ("when", "value"),
    ("limit", "value"),
    ("factor", "value"),
    ("minutes", "value"),
    ("state", "value"),
    ("sites", "value"),
    ("districts", "value"),
    ("severity", "value"),
    ("quiet", "value"),
    ("notify", "value"),
    ("escalate-minutes", "value"),
    ("escalate-to", "value"),
)
LOG_ROWS = 50
LOG_REFRESH_S = 30  # the delivery log is read again this often, sent only when it changed


def _words(value: Any) -> list[str]:
    """A comma-separated field as its non-empty items."""
    if not isinstance(value, str):
        return []
    return [w.strip() for w in value.split(",") if w.strip()]


def _number(form: Mapping[str, Any], key: str, field: str) -> float | None:
    """The number in the form's ``key`` (None when empty); ``field`` names it."""
    value = form.get(key)
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise WordedError(
            "“{field}”: '{value}' is not a number", field=field, value=value
        ) from None


def _choices(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def spec_from_form(form: Mapping[str, Any], config: CityConfig) -> tuple[str, RuleConfig]:
    """The rule id and settings the form holds (values by ``FORM_FIELDS`` name). Raises
    ValueError with a reason a person can act on for anything missing or wrong."""
    rule_id = form.get("id")
    rule_id = rule_id.strip() if isinstance(rule_id, str) else ""
    when = form.get("when")
    raw: dict[str, Any] = {
        "name": form.get("name") if isinstance(form.get("name"), str) else "",
        "domain": form.get("domain") if isinstance(form.get("domain"), str) else "",
        "metric": form.get("metric") if isinstance(form.get("metric"), str) else "",
        "when": when,
        "limit": _number(form, "limit", "limit"),
        "factor": _number(form, "factor", "factor"),
        "minutes": _number(form, "minutes", "minutes"),
        "state": form.get("state") or None,
        "sites": _words(form.get("sites")),
        "districts": _words(form.get("districts")),
        "severity": form.get("severity") or "moderate",
        "quiet_hours": form.get("quiet") if isinstance(form.get("quiet"), str) else "",
        "notify": _choices(form.get("notify")),
        "escalate_minutes": _number(form, "escalate-minutes", "escalate_minutes"),
        "escalate_to": _choices(form.get("escalate-to")),
        "enabled": False,  # a new rule is tested, then enabled in the list
    }
    if when in ("no_data", "health"):
        raw["metric"] = raw["metric"] if when == "no_data" else ""
    try:
        spec = RuleConfig.model_validate(raw)
    except ValidationError as exc:
        raise as_worded(exc) from None
    check_rule(rule_id, spec, config.alerts)
    return rule_id, spec


def _field(label: str, field_id: str, control: Any) -> html.Div:
    return html.Div([html.Label(label, htmlFor=field_id), control], className="cc-field")


def _dropdown(field_id: str, options: list[dict[str, str]], value: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=field_id, options=options, value=value, clearable=False)


def _form(city: City, _: Gettext) -> html.Section:
    config = city.config
    channels = [PHONE, *config.alerts.channels]
    domains = registry.domain_names()
    return html.Section(
        [
            html.H2(_("Write a rule"), className="cc-panel-title"),
            _field(_("Rule id (e.g. no2-ring-road)"), "cc-rule-id", dcc.Input(id="cc-rule-id")),
            _field(_("Name"), "cc-rule-name", dcc.Input(id="cc-rule-name", maxLength=120)),
            _field(
                _("Domain"),
                "cc-rule-domain",
                _dropdown("cc-rule-domain", [{"label": d, "value": d} for d in domains], "air"),
            ),
            _field(
                _("Metric"),
                "cc-rule-metric",
                _dropdown(
                    "cc-rule-metric",
                    [{"label": f"{_(m.label)} ({m.unit})", "value": n} for n, m in METRICS.items()],
                    "no2",
                ),
            ),
            _field(
                _("Alert when"),
                "cc-rule-when",
                _dropdown(
                    "cc-rule-when",
                    [{"label": _(t), "value": k} for k, t in CONDITIONS.items()],
                    "above",
                ),
            ),
            _field(_("Limit"), "cc-rule-limit", dcc.Input(id="cc-rule-limit", type="number")),
            _field(
                _("Factor (against its usual)"),
                "cc-rule-factor",
                dcc.Input(id="cc-rule-factor", type="number"),
            ),
            _field(_("Minutes"), "cc-rule-minutes", dcc.Input(id="cc-rule-minutes", type="number")),
            _field(
                _("Sensor state"),
                "cc-rule-state",
                _dropdown(
                    "cc-rule-state", [{"label": _(s), "value": s} for s in HEALTH_STATES], "stale"
                ),
            ),
            _field(
                _("Sites (ids, comma-separated; empty: all)"),
                "cc-rule-sites",
                dcc.Input(id="cc-rule-sites"),
            ),
            _field(
                _("Districts (comma-separated)"),
                "cc-rule-districts",
                dcc.Input(id="cc-rule-districts"),
            ),
            _field(
                _("Severity"),
                "cc-rule-severity",
                _dropdown(
                    "cc-rule-severity",
                    [{"label": _(s), "value": s} for s in SEVERITY_CHOICES],
                    "moderate",
                ),
            ),
            _field(
                _("Quiet hours (e.g. 22:00-07:00, city time)"),
                "cc-rule-quiet",
                dcc.Input(id="cc-rule-quiet"),
            ),
            html.Div(
                [
                    html.Label(_("Who hears it"), id="cc-rule-notify-label"),
                    dcc.Checklist(
                        id="cc-rule-notify",
                        options=[
                            {"label": w, "value": c}
                            for c, w in zip(channels, channel_words(channels, _), strict=True)
                        ],
                        value=[PHONE],
                        inline=True,
                        className="cc-radio",
                        inputClassName="cc-radio-input",
                    ),
                ],
                className="cc-field",
            ),
            _field(
                _("Escalate after minutes without acknowledgement"),
                "cc-rule-escalate-minutes",
                dcc.Input(id="cc-rule-escalate-minutes", type="number"),
            ),
            html.Div(
                [
                    html.Label(_("Escalate to"), id="cc-rule-escalate-to-label"),
                    dcc.Checklist(
                        id="cc-rule-escalate-to",
                        options=[{"label": c, "value": c} for c in config.alerts.channels],
                        value=[],
                        inline=True,
                        className="cc-radio",
                        inputClassName="cc-radio-input",
                    ),
                ],
                className="cc-field",
            ),
            html.Div(
                [
                    html.Button(_("Test against last week"), id="cc-rule-test", className="cc-btn"),
                    html.Button(_("Save"), id="cc-rule-save", className="cc-btn cc-btn-primary"),
                ],
                className="cc-actions",
            ),
            html.Div(id="cc-rule-test-result", className="cc-status-line", role="status"),
            html.Div(id="cc-rule-status", className="cc-status-line", role="status"),
        ],
        className="cc-panel cc-form",
    )


def rule_name(rule: Rule, _: Gettext) -> str:
    """A rule's name in the viewer's language: a built-in rule's is made of its metric or
    sensor state; a city's own rule keeps the name its author wrote."""
    spec = rule.spec
    if rule.origin != "builtin":
        return spec.name
    if spec.when == "health":
        return _("Sensor {state}").format(state=_(str(spec.state)))
    label = METRICS[spec.metric].label if spec.metric in METRICS else str(spec.metric)
    return _("{pollutant} above the limit").format(pollutant=_(label))


def channel_words(channels: list[str], _: Gettext) -> list[str]:
    """Channel names as the page shows them: the phone view in the viewer's language, a
    city's own channels by their configured names."""
    return [_("phone view") if c == PHONE else c for c in channels]


def rule_list(rules: list[Rule], may_change: bool, _: Gettext) -> html.Table:
    """Every rule: id, name, condition, severity, who hears it, where it is written,
    whether it is on, and for those who may change rules a button to turn it on or off
    (built-in rules are always on)."""
    head = html.Tr(
        [
            html.Th(h)
            for h in (
                _("Rule"),
                _("Name"),
                _("Condition"),
                _("Severity"),
                _("Who hears it"),
                _("Written"),
                _("State"),
            )
        ]
        + ([html.Th(_("Change"))] if may_change else [])
    )
    rows = []
    for rule in sorted(rules, key=lambda r: (r.origin != "journal", r.origin != "config", r.id)):
        spec = rule.spec
        state = _("on") if spec.enabled else _("off")
        cells: list[Any] = [
            html.Td(rule.id),
            html.Td(rule_name(rule, _)),
            html.Td(describe(spec, _)),
            html.Td(_(spec.severity)),
            html.Td(
                ", ".join(
                    channel_words(spec.notify, _)
                    + [f"→ {c}" for c in channel_words(spec.escalate_to, _)]
                )
            ),
            html.Td(
                {"builtin": _("built in"), "config": _("city config"), "journal": _("here")}[
                    rule.origin
                ]
            ),
            html.Td(state, className="cc-rule-state"),
        ]
        if may_change:
            cells.append(
                html.Td(
                    []
                    if rule.origin == "builtin"
                    else html.Button(
                        _("Disable") if spec.enabled else _("Enable"),
                        id={"type": "cc-rule-toggle", "rule": rule.id},
                        className="cc-btn",
                    )
                )
            )
        rows.append(html.Tr(cells, id=f"cc-rule-row-{rule.id}", **{"data-rule": rule.id}))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="cc-table")


SHOWN_FIRINGS = 5


def backtest_summary(result: Backtest, timezone: str, language: str, _: Gettext) -> html.Div:
    """How often a rule would have fired last week, and where and when it did last."""
    summary = _("Would have fired {count} times last week, at {sites} sites.").format(
        count=result.fired, sites=result.sites
    )
    newest = sorted(result.alerts, key=lambda a: a.opened, reverse=True)[:SHOWN_FIRINGS]
    items = [
        html.Li(
            f"{format_time(a.opened, language, timezone, 'EEE d MMM HH:mm')} · {a.site_name}",
            className="cc-rule-firing",
        )
        for a in newest
    ]
    return html.Div([html.P(summary), html.Ul(items)] if items else [html.P(summary)])


def delivery_log(journal: Journal, config: CityConfig, language: str, _: Gettext) -> html.Div:
    """The newest messages of the outbox: when, channel, kind, status, tries, the error."""
    tz = config.city.timezone
    items = journal.outbox(limit=LOG_ROWS)
    if not items:
        return html.Div(html.P(_("Nothing sent yet."), className="cc-muted"))
    head = html.Tr(
        [
            html.Th(h)
            for h in (
                _("Created"),
                _("Channel"),
                _("Kind"),
                _("Alerts"),
                _("Status"),
                _("Tries"),
                _("Error"),
            )
        ]
    )
    rows = [
        html.Tr(
            [
                html.Td(format_time(d.created, language, tz, "yyyy-MM-dd HH:mm")),
                html.Td(d.channel),
                html.Td(_(d.kind)),
                html.Td(str(len(d.alert_keys))),
                html.Td(
                    _(d.status)
                    if d.status != "pending" or d.due <= d.created
                    else _("waiting until {time}").format(
                        time=format_time(d.due, language, tz, "HH:mm")
                    )
                ),
                html.Td(str(d.attempts)),
                html.Td(d.last_error),
            ],
            className=f"cc-delivery cc-delivery-{d.status}",
        )
        for d in items
    ]
    return html.Div(html.Table([html.Thead(head), html.Tbody(rows)], className="cc-table"))


def log_signature(journal: Journal) -> str:
    """What the delivery log shows, in short: it changes when a message is added, tried,
    sent or given up."""
    rows = [(d.id, d.status, d.attempts, d.due.isoformat()) for d in journal.outbox(LOG_ROWS)]
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def page(city: City, journal: Journal, lang: str = "en", **_query: Any) -> html.Div:
    """The rules and the delivery log for signed-in viewers; the form for those who may
    manage rules."""
    language = lang if isinstance(lang, str) and lang.isalpha() else "en"
    _ = translator(language, "cockpit")
    config = city.config
    viewer = current_viewer()
    header = staff_header(
        _("Alert rules"), config.city.name, "/rules", ("/m", _("Staff view")), viewer, _
    )
    if not viewer.signed_in:
        body: list[Any] = [
            sign_in_first(_("Sign in to see the alert rules."), "cc-rule-refused", "/rules", _)
        ]
    else:
        allowed = may_do(config, viewer.role, ACTION)
        listing = html.Section(
            [
                html.H2(_("Rules"), className="cc-panel-title"),
                html.Div(rule_list(all_rules(config, journal), allowed, _), id="cc-rule-list"),
                html.H2(_("Delivery log"), className="cc-panel-title"),
                html.Div(delivery_log(journal, config, language, _), id="cc-rule-log"),
                dcc.Interval(id="cc-rule-log-tick", interval=LOG_REFRESH_S * 1000),
                dcc.Store(id="cc-rule-log-seen", data=log_signature(journal)),
            ],
            className="cc-panel",
        )
        form = (
            [_form(city, _)]
            if allowed
            else [
                html.Section(
                    html.P(_("Only executives change alert rules."), id="cc-rule-readonly"),
                    className="cc-panel",
                )
            ]
        )
        body = [html.Div([*form, listing], className="cc-two-columns")]
    return html.Div(
        [header, html.Main(body), dcc.Store(id="cc-rule-lang", data=language)],
        className="cc-page cc-rules",
        lang=language,
    )


def _refuse(journal: Journal, what: str) -> None:
    """Refuse a request from a viewer who may not manage rules: audited, then 403."""
    viewer = current_viewer()
    journal.audit(viewer.user or "(public)", "rule refused", what, flask.request.remote_addr or "")
    flask.abort(403)


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the ``/rules`` page's callbacks: test a rule, save it, enable or disable one."""
    config = city.config
    form_state = [State(f"cc-rule-{name}", prop) for name, prop in FORM_FIELDS]

    def form_of(values: tuple[Any, ...]) -> dict[str, Any]:
        return {name: value for (name, _p), value in zip(FORM_FIELDS, values, strict=True)}

    @app.callback(
        output={
            "log": Output("cc-rule-log", "children"),
            "seen": Output("cc-rule-log-seen", "data"),
        },
        inputs=[Input("cc-rule-log-tick", "n_intervals")],
        state=[State("cc-rule-log-seen", "data"), State("cc-rule-lang", "data")],
        prevent_initial_call=True,
    )
    def refresh_log(_n: int | None, seen: Any, language: Any) -> dict[str, Any]:
        if not current_viewer().signed_in:
            flask.abort(403)
        now = log_signature(journal)
        if now == seen:
            raise PreventUpdate
        language = language if isinstance(language, str) and language.isalpha() else "en"
        _ = translator(language, "cockpit")
        return {"log": delivery_log(journal, config, language, _), "seen": now}

    @app.callback(
        Output("cc-rule-test-result", "children"),
        Input("cc-rule-test", "n_clicks"),
        [*form_state, State("cc-rule-lang", "data")],
        prevent_initial_call=True,
    )
    def test_rule(_n: int | None, *values: Any) -> Any:
        viewer = current_viewer()
        if not may_do(config, viewer.role, ACTION):
            _refuse(journal, "test")
        language = values[-1] if isinstance(values[-1], str) else "en"
        _ = translator(language, "cockpit")
        try:
            rule_id, spec = spec_from_form(form_of(values[:-1]), config)
        except ValueError as exc:
            return _("Cannot test: {reason}").format(reason=reason_in_words(exc, _))
        result = city.backtest_rule(viewer.role, Rule(rule_id, spec, "journal"))
        return backtest_summary(result, config.city.timezone, language, _)

    @app.callback(
        output={
            "listing": Output("cc-rule-list", "children"),
            "status": Output("cc-rule-status", "children"),
        },
        inputs=[
            Input("cc-rule-save", "n_clicks"),
            Input({"type": "cc-rule-toggle", "rule": ALL}, "n_clicks"),
        ],
        state=[*form_state, State("cc-rule-lang", "data")],
        prevent_initial_call=True,
    )
    def change(_save: int | None, toggles: Any, *values: Any) -> dict[str, Any]:
        viewer = current_viewer()
        address = flask.request.remote_addr or ""
        if not may_do(config, viewer.role, ACTION):
            _refuse(journal, "change")
        language = values[-1] if isinstance(values[-1], str) else "en"
        _ = translator(language, "cockpit")
        trigger = dash.ctx.triggered_id
        try:
            if trigger == "cc-rule-save":
                rule_id, spec = spec_from_form(form_of(values[:-1]), config)
                save_rule(journal, config, rule_id, spec, viewer.user, address, city.clock())
                status = _("Saved {rule}, off until you enable it.").format(rule=rule_id)
            elif isinstance(trigger, Mapping) and isinstance(trigger.get("rule"), str):
                clicked = [t.get("value") for t in dash.ctx.triggered if isinstance(t, Mapping)]
                if not any(isinstance(c, int) and c > 0 for c in clicked):
                    return form_outputs(dash.no_update, dash.no_update)  # a list redrawn
                current = {r.id: r for r in all_rules(config, journal)}.get(trigger["rule"])
                if current is None:
                    raise RuleError("no rule '{rule}'", rule=trigger["rule"])
                rule = set_enabled(
                    journal,
                    config,
                    current.id,
                    not current.enabled,
                    viewer.user,
                    address,
                    city.clock(),
                )
                word = _("enabled") if rule.enabled else _("disabled")
                status = _("{rule} {state}.").format(rule=rule.id, state=word)
            else:
                return form_outputs(dash.no_update, dash.no_update)
        except ValueError as exc:
            reason = reason_in_words(exc, _)
            return form_outputs(dash.no_update, _("Not saved: {reason}").format(reason=reason))
        listing = rule_list(all_rules(config, journal), True, _)
        return form_outputs(listing, status)
