"""A ``Collection`` built from a ``Plan``: the listing's fields, guesses, sites and
checks, and the source table a platform proposes for it."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from connectors.discover.found import Collection
from connectors.discover.plan import Plan

__all__ = ["about", "from_plan", "slug", "titled"]


def slug(text: str, fallback: str = "source") -> str:
    """A source id from a title: lower case, words joined by underscores, at most 40."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^0-9a-z]+", "_", ascii_text.lower()).strip("_")
    return (words[:40].strip("_") or fallback) if words else fallback


def titled(title: str, plan: Plan, parts: int) -> str:
    """``title``, with the plan's domain when a collection is split by domain."""
    return f"{title} ({plan.domain})" if parts > 1 else title


def from_plan(
    title: str,
    kind: str,
    plan: Plan,
    source: dict[str, Any],
    sample: Any,
) -> Collection:
    """The collection ``title`` read by ``plan``; ``source`` is empty when the plan found
    no metric (it is listed, not drafted)."""
    return Collection(
        title=title,
        kind=kind,
        domain=plan.domain,
        source=source if plan.guesses else {},
        fields=plan.fields,
        guesses=plan.guesses,
        sample=sample,
        positions=plan.positions,
        sites=plan.sites,
        checks=plan.all_checks,
        naive_times=plan.naive,
    )


def about(name: str, publisher: str = "", licence: str = "") -> dict[str, str]:
    """The names a source must carry; what the platform does not say is marked for
    the data officer."""
    return {
        "name": name or "CHECK: a name for people",
        "publisher": publisher or "CHECK: who publishes this data",
        "licence": licence or "CHECK: the data's licence",
    }
