"""What needs the mayor's attention: at most a few places, ranked, each with its size
against usual.

``needs_attention`` takes today's anomalies (``cockpit.twin.baseline.todays_anomalies``,
already past the count-aware noise floor) and the sites, leaves out sites whose sensors
are faulty (those belong to sensor health, not to the city's news), and ranks the rest
by how much the place moved against its usual level, counted the way the noise floor
counts it: ``|value − usual| / (usual + volume)``, so a busy street that doubled outranks
a quiet lane that doubled. Each item carries the site's position, so a screen can centre
its map on it. The cockpit and the phone view show the same list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pandas as pd

from cockpit.domains import noise_floor
from cockpit.twin.baseline import Anomaly

__all__ = ["AttentionItem", "needs_attention"]


@dataclass(frozen=True)
class AttentionItem:
    """One place that needs attention. ``change`` is a fraction of the usual level
    (+0.6: 60 % above usual); ``weight`` is the ranking's measure (see the module text)."""

    site_id: str
    name: str
    domain: str
    metric: str
    value: float
    typical: float
    change: float
    direction: Literal["above", "below"]
    time: datetime
    lat: float | None
    lon: float | None
    weight: float


def _weight(item: Anomaly) -> float:
    volume = noise_floor(item.metric).volume
    return abs(item.value - item.typical) / max(item.typical + volume, 1e-9)


def needs_attention(
    anomalies: Sequence[Anomaly],
    sites: pd.DataFrame,
    faulty: Iterable[str] = (),
    limit: int = 3,
) -> list[AttentionItem]:
    """The ``limit`` places of ``anomalies`` that moved most against their usual level
    (see the module text), biggest first; sites in ``faulty`` (ids of sites with a sensor
    problem) and sites not in ``sites`` (what the viewer may see) are left out. One item
    per site: its biggest move."""
    known = sites.set_index(sites["id"].astype(str)) if not sites.empty else pd.DataFrame()
    broken = {str(s) for s in faulty}
    ranked = sorted(
        (a for a in anomalies if a.site_id in known.index and a.site_id not in broken),
        key=lambda a: (-_weight(a), a.site_id),
    )
    out: list[AttentionItem] = []
    seen: set[str] = set()
    for a in ranked:
        if a.site_id in seen:
            continue
        seen.add(a.site_id)
        row = known.loc[a.site_id]
        change = a.value / a.typical - 1.0 if a.typical else 0.0
        out.append(
            AttentionItem(
                site_id=a.site_id,
                name=a.name,
                domain=a.domain,
                metric=a.metric,
                value=a.value,
                typical=a.typical,
                change=change,
                direction=a.direction,
                time=a.time,
                lat=_number(row.get("lat")),
                lon=_number(row.get("lon")),
                weight=_weight(a),
            )
        )
        if len(out) == limit:
            break
    return out


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if pd.isna(number) else number
