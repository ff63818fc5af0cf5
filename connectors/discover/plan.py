"""A collection of flat records read as sites and observations: which field is the
site's id, name, time and position, and which fields give which metrics. Each platform
turns a ``Plan`` into its own connector's options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from connectors.discover import fields as F
from connectors.discover.found import FieldInfo, Guess
from connectors.discover.metrics import best_guesses, domain_of, guess_metric, main_domain

__all__ = ["Plan", "plan_records"]


@dataclass
class Plan:
    """How a collection's records become sites and observations (field names)."""

    fields: list[FieldInfo]
    domain: str | None
    guesses: list[Guess]
    id: str = ""
    name: str = ""
    time: str = ""
    time_kind: str = ""  # iso, epoch_ms, epoch_s or a strptime format
    hour: str = ""
    naive: bool = False
    lat: str = ""
    lon: str = ""
    position: str = ""
    positions: list[tuple[float, float]] = field(default_factory=list)
    site_positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    sites: int = 0
    checks: list[str] = field(default_factory=list)
    # every metric guessed, of any domain (``guesses`` holds the plan's domain's only)
    all_guesses: list[Guess] = field(default_factory=list)

    @property
    def all_checks(self) -> list[str]:
        """What to check: units assumed for this plan's metrics, then the rest."""
        assumed = [
            f"{g.field}: no unit stated; {g.unit} assumed for {g.metric}"
            for g in self.guesses
            if not g.unit_stated and not g.map
        ]
        return assumed + self.checks

    def by_domain(self) -> list[Plan]:
        """One plan per domain the guesses fall in (the main one first): a dataset of
        particles and temperatures becomes an air source and a weather source."""
        counts: dict[str, int] = {}
        for guess in self.all_guesses:
            counts[domain_of(guess.metric)] = counts.get(domain_of(guess.metric), 0) + 1
        if len(counts) <= 1:
            return [self]
        order = [
            self.domain or "",
            *sorted((d for d in counts if d != self.domain), key=lambda d: -counts[d]),
        ]
        return [
            replace(
                self, domain=d, guesses=[g for g in self.all_guesses if domain_of(g.metric) == d]
            )
            for d in order
        ]

    def values(self, unit_key: str = "unit") -> dict[str, dict[str, Any]]:
        """metric -> {field, unit or map}, as most record connectors take it."""
        out: dict[str, dict[str, Any]] = {}
        for guess in self.guesses:
            spec: dict[str, Any] = {"field": guess.field}
            if guess.map:
                spec["map"] = guess.map
            else:
                spec[unit_key] = guess.unit
            out[guess.metric] = spec
        return out

    @property
    def time_format(self) -> str:
        kind = self.time_kind.removesuffix(" (no zone)")
        return "" if kind == "iso" else kind


def _daily(records: Sequence[Any], time: FieldInfo | None, hour: FieldInfo | None) -> bool:
    return time is not None and time.kind == "date" and hour is None


def plan_records(
    records: Sequence[Any],
    declared: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    hints: str = "",
    positions_beside: Sequence[tuple[float, float] | None] = (),
    domain: str = "",
) -> Plan:
    """The plan of ``records`` (dicts). ``declared`` gives the platform's field types,
    ``units`` the units it states per field, ``hints`` the collection's title and
    description, ``positions_beside`` each record's position when the platform serves it
    beside the record (a geometry)."""
    units = units or {}
    hints = f"{hints} {domain}"
    profiled = F.profile(records, declared)
    time = F.time_field(profiled)
    hour = F.hour_field(profiled, time)
    lat_lon = F.lat_lon_fields(profiled)
    position = F.position_field(profiled) if lat_lon is None else None
    site = F.id_field(profiled, records, _per_site(records, lat_lon, position, positions_beside))
    used = {f.name for f in (time, hour, site) if f is not None}
    if lat_lon:
        used |= {lat_lon[0].name, lat_lon[1].name}
    if position:
        used.add(position.name)
    daily = _daily(records, time, hour)
    guesses: list[Guess] = []
    for info in profiled:
        if info.name in used or info.name.startswith("_"):
            continue
        texts: list[str] = []
        if info.kind == "text":
            texts = [
                str(r.get(info.name)) for r in records if isinstance(r, dict) and r.get(info.name)
            ]
        elif info.kind != "number":
            continue
        guess = guess_metric(
            info.name,
            units.get(info.name, ""),
            info.low,
            info.high,
            texts,
            daily=daily,
            hints=hints,
        )
        if guess is not None:
            guesses.append(guess)
    if domain:
        guesses = [g for g in guesses if _domain(g) == domain]
    everything = best_guesses(guesses)
    domain = main_domain(everything) or ""
    guesses = [g for g in everything if domain and _domain(g) == domain]
    name = F.name_field(profiled, used)
    plan = Plan(profiled, domain or None, guesses, all_guesses=everything)
    plan.id = site.name if site else ""
    plan.name = name.name if name else ""
    if time is not None:
        plan.time, plan.time_kind = time.name, time.unit
        plan.naive = "no zone" in time.unit or time.kind == "date"
    plan.hour = hour.name if hour else ""
    _place(plan, records, lat_lon, position, positions_beside)
    others = [
        f.name for f in profiled if f.kind in ("time", "date") and time and f.name != time.name
    ]
    if time is not None and others:
        plan.checks.append(
            f"time taken from {time.name}; the records also hold {', '.join(others)}"
        )
    if plan.time == "":
        plan.checks.append("no time field found: name the field holding each value's time")
    if plan.naive:
        plan.checks.append(
            f"{plan.time}: times carry no zone; they are read on the city's clock "
            "(check city.timezone)"
        )
    return plan


def _domain(guess: Guess) -> str:
    return domain_of(guess.metric)


def _per_site(
    records: Sequence[Any],
    lat_lon: tuple[FieldInfo, FieldInfo] | None,
    position: FieldInfo | None,
    beside: Sequence[tuple[float, float] | None],
) -> bool:
    """Whether each record stands at its own place (a row per site, not per observation)."""
    places: list[Any] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        if lat_lon is not None:
            places.append((record.get(lat_lon[0].name), record.get(lat_lon[1].name)))
        elif position is not None:
            places.append(F.position_of(record.get(position.name)))
        elif index < len(beside):
            places.append(beside[index])
    known = [p for p in places if p is not None]
    return len(known) > 1 and len(set(map(str, known))) >= 0.9 * len(known)


def _place(
    plan: Plan,
    records: Sequence[Any],
    lat_lon: tuple[FieldInfo, FieldInfo] | None,
    position: FieldInfo | None,
    beside: Sequence[tuple[float, float] | None],
) -> None:
    ids: dict[str, tuple[float, float] | None] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        where: tuple[float, float] | None = None
        if lat_lon is not None:
            lat, lon = F.number(record.get(lat_lon[0].name)), F.number(record.get(lat_lon[1].name))
            where = (lat, lon) if lat is not None and lon is not None else None
        elif position is not None:
            where = F.position_of(record.get(position.name))
        elif index < len(beside):
            where = beside[index]
        key = str(record.get(plan.id)) if plan.id else "(one site)"
        if where is not None or key not in ids:
            ids[key] = where
    if lat_lon is not None:
        plan.lat, plan.lon = lat_lon[0].name, lat_lon[1].name
    elif position is not None:
        plan.position = position.name
    plan.site_positions = {k: v for k, v in ids.items() if v is not None}
    plan.positions = list(plan.site_positions.values())
    plan.sites = len(ids)
    if not plan.positions:
        plan.checks.append(
            "no coordinates in the records: give each site's place (a location, or a sites table)"
        )
