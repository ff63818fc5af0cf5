"""Why a rule written on the rules page is refused, in the words of the form and the
viewer's language.

The city config and the rule checks say what is wrong in the config's own words
("when = 'above' needs limit"): right for the person editing the file, wrong for the
person filling in the form. Here each reason (a ``WordedError``, or the first error of
pydantic's validation of the form) is worded against the form's labels and conditions,
then translated with the page's catalogue.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from cockpit.errors import WordedError
from cockpit.model import METRICS

__all__ = ["CONDITIONS", "FIELD_LABELS", "FORM_WORDING", "as_worded", "reason_in_words"]

Gettext = Callable[[str], str]

# The conditions a rule can watch, as the form offers them.
CONDITIONS = {
    "above": "above a limit",
    "below": "below a limit",
    "typical": "against its usual by a factor",
    "no_data": "no data for a number of minutes",
    "full_for": "car park full for a number of minutes",
    "health": "a sensor-health state",
}

# A rule's settings (its config keys) by the form's labels for them.
FIELD_LABELS = {
    "id": "Rule id (e.g. no2-ring-road)",
    "name": "Name",
    "domain": "Domain",
    "metric": "Metric",
    "when": "Alert when",
    "limit": "Limit",
    "factor": "Factor (against its usual)",
    "minutes": "Minutes",
    "state": "Sensor state",
    "sites": "Sites (ids, comma-separated; empty: all)",
    "districts": "Districts (comma-separated)",
    "severity": "Severity",
    "quiet_hours": "Quiet hours (e.g. 22:00-07:00, city time)",
    "notify": "Who hears it",
    "escalate_minutes": "Escalate after minutes without acknowledgement",
    "escalate_to": "Escalate to",
}

# Each reason's template as the form words it (the same when the reason already reads so).
FORM_WORDING = {
    # pydantic's checks of one field, by their type
    "missing": "“{field}” is needed.",
    "string_too_short": "“{field}” is needed.",
    "string_too_long": "“{field}” is too long: at most {max_length} characters.",
    "too_long": "“{field}” lists too many: at most {max_length}.",
    "greater_than": "“{field}” must be more than {gt}.",
    "greater_than_equal": "“{field}” must be at least {ge}.",
    "less_than": "“{field}” must be less than {lt}.",
    "less_than_equal": "“{field}” must be at most {le}.",
    "string_pattern_mismatch": "“{field}” is not written as the example shows.",
    "literal_error": "“{field}”: choose one of the offered values.",
    "invalid": "“{field}” is not valid.",
    # the rule's own checks (cockpit.config, cockpit.twin.rules, the form)
    "when = '{when}' needs {field}": "“{when}” needs “{field}”.",
    "when = '{when}' needs a metric": "“{when}” needs a metric.",
    "unknown metric '{metric}'; expected one of {known}": (
        "“{metric}” is no metric of this cockpit."
    ),
    "metric '{metric}' is not of the domain '{domain}'": (
        "The metric “{metric}” is not of the domain “{domain}”."
    ),
    "escalate_minutes needs escalate_to (who hears of it then)": (
        "Escalating needs someone under “Escalate to”."
    ),
    "a rule id is lower-case letters, digits, '_', '.' or '-' (at most 63)": (
        "A rule id is lower-case letters, digits, “_”, “.” or “-” (at most 63)."
    ),
    "'{rule}' is the id of a built-in rule": "“{rule}” is the id of a built-in rule.",
    "'{channel}' is no channel of this city (have: {have})": (
        "“{channel}” is no channel of this city (it has: {have})."
    ),
    "no rule '{rule}'": "There is no rule “{rule}”.",
    "'{rule}' is a built-in rule and always on": "“{rule}” is a built-in rule and always on.",
    "“{field}”: '{value}' is not a number": "“{field}”: “{value}” is not a number.",
}


def as_worded(error: ValidationError) -> WordedError:
    """The first of pydantic's errors as a ``WordedError``: the rule's own check as it
    was raised, or the field's check by its type (``FORM_WORDING``)."""
    first = error.errors()[0]
    raised = (first.get("ctx") or {}).get("error")
    if isinstance(raised, WordedError):
        return raised
    field = str(first["loc"][0]) if first["loc"] else ""
    kind = first["type"] if first["type"] in FORM_WORDING else "invalid"
    values = {k: v for k, v in (first.get("ctx") or {}).items() if k != "error"}
    return WordedError(FORM_WORDING[kind], field=field, **values)


def reason_in_words(error: Exception, _: Gettext) -> str:
    """``error`` as the form's reader understands it, in the language of ``_``: its
    template worded for the form and translated, field names as the form's labels,
    conditions as the form offers them, metrics by their names. Any other error reads as
    its English text."""
    if isinstance(error, ValidationError):
        error = as_worded(error)
    if not isinstance(error, WordedError):
        return str(error)
    template = FORM_WORDING.get(error.template, error.template)
    values = dict(error.values)
    if "field" in values:
        values["field"] = _(FIELD_LABELS.get(values["field"], values["field"]))
    if "when" in values:
        values["when"] = _(CONDITIONS.get(values["when"], values["when"]))
    if values.get("metric") in METRICS:
        values["metric"] = _(METRICS[values["metric"]].label)
    for bound in ("gt", "ge", "lt", "le"):
        if bound in values:
            values[bound] = f"{float(values[bound]):g}"  # 1, not 1.0
    return _(template).format(**values)
