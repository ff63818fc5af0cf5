"""A source's ``options`` table read into its connector's option model.

The table holds both the connector's own options and the HTTP limits of
``connectors.http.HttpLimits``; the limits are read by the HTTP client, the rest by the
connector's pydantic model, so a wrong key or value is a ``ConfigError`` that names the
source's key and the reason.
"""

from __future__ import annotations

from typing import Annotated, Final, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from cockpit.errors import ConfigError
from cockpit.model import METRICS
from cockpit.source import SourceContext
from connectors.http import HttpLimits

__all__ = ["HTTP_LIMIT_KEYS", "MetricName", "known_metric", "required_url", "source_options"]

HTTP_LIMIT_KEYS: Final = frozenset(HttpLimits.__dataclass_fields__)

Options = TypeVar("Options", bound=BaseModel)


def known_metric(value: str) -> str:
    """``value`` if it names a metric of the canonical model; raises ``ValueError``."""
    if value not in METRICS:
        raise ValueError(f"unknown metric {value!r}; expected one of {list(METRICS)}")
    return value


# An option that names a metric of the canonical model.
MetricName = Annotated[str, AfterValidator(known_metric)]


def source_options(model: type[Options], context: SourceContext) -> Options:
    """The options of ``context``'s source as ``model``, the HTTP limits left out.

    Raises ``ConfigError`` naming the first wrong key (``sources.<id>.options.<key>``)
    and what was expected.
    """
    raw = {k: v for k, v in context.config.options.items() if k not in HTTP_LIMIT_KEYS}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in ("sources", context.source_id, "options", *first["loc"]))
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError("city config", key, reason) from None


def required_url(context: SourceContext, what: str) -> str:
    """The source's ``url``; raises ``ConfigError`` saying that ``what`` is required."""
    if not context.config.url:
        raise ConfigError("city config", f"sources.{context.source_id}.url", f"{what} is required")
    return context.config.url
