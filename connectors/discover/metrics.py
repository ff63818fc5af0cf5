"""Which metric a field holds, guessed from its name (in the languages cities publish
in), its unit and the range of its values, against the metrics the registered domains
declare. A guess the unit contradicts or the values leave the metric's range for is
dropped; one without a stated unit says so, for the data officer to check."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from cockpit.domains import load_domain_module, registry
from cockpit.errors import CockpitError, DataError
from cockpit.model import METRICS
from connectors.discover.found import Guess
from connectors.units import canonical_unit_factor

__all__ = [
    "SHIPPED_DOMAINS",
    "best_guesses",
    "domain_of",
    "guess_metric",
    "is_part",
    "load_shipped_domains",
    "main_domain",
    "module_of",
    "state_map",
]

# Domains that ship with City Cockpit and a city names in its config to use them.
SHIPPED_DOMAINS: Final = ("bike_share", "cycling", "weather", "noise")

# metric -> words in a field's (or stream's, or type's) name that say it holds that
# metric. Searched in this order: the more specific first ("wind speed" before "speed").
_WORDS: Final[tuple[tuple[str, str], ...]] = (
    ("pm25", r"pm\s*2[._,\s]?5|pm2p5|feinstaub.*2"),
    ("pm10", r"pm\s*10|feinstaub"),
    ("no2", r"\bno2\b|no_?2|nitrogen.?dioxide|stickstoffdioxid"),
    ("o3", r"\bo3\b|ozone|ozon"),
    ("wind_speed", r"wind(?!.*(direction|dir\b|richtung|gust))"),
    ("air_temperature", r"temp|lufttemp"),
    ("precipitation", r"rain|precip|niederschlag|regen"),
    ("laeq", r"laeq|noise|l[aä]rm|sound|schall|\bdba?\b"),
    (
        "hire_bikes",
        r"bikes?.?available|num.?bikes|available.?bikes?|vehicles?.?available|free.?bikes",
    ),
    ("free_docks", r"docks?.?available|num.?docks|free.?slot|available.?docks|freeslot"),
    ("dock_places", r"total.?slot|dock.?count|docks.?total"),
    ("occupancy", r"occupan|occupied.?percent|occupiedpercent|belegung|auslastung|percent"),
    (
        "free_spaces",
        r"free|available.?spot|availablespot|spaces.?available|available.?spaces|frei|fcap|vacant",
    ),
    ("bay_occupied", r"status|occupied|present|belegt"),
    ("cyclists", r"cycl|bicycl|\bbikes?\b|bike_|fahrrad|velo|radverkehr|\brad\b"),
    (
        "pedestrians",
        r"pedestrian|people|person|footfall|passant|fu(ss|ß)g|crowd|\bped\b|ped_|walk",
    ),
    ("vehicle_flow", r"kfz|vehicle|\bveh\b|traffic|intensity|verkehr|\bcars?\b|flow|volume"),
    ("speed", r"speed|geschwindigkeit|velocity|\bv85\b"),
)

# Names of a count whose subject only the dataset's title or the officer names.
_COUNTISH: Final = re.compile(
    r"count|total|sum|anzahl|direction|channel|value|wert|z(ae|ä)hl|both|volume|"
    r"\b(east|west|north|south|nord|süd|ost|in|out)\b|\d",
    re.I,
)

# Directions or parts of a count: not the total when a total is published beside them.
_PART: Final = re.compile(
    r"(direction|channel|richtung|_in$|_out$|^in_|^out_|east|west|north|south|nord|süd|ost)", re.I
)


def load_shipped_domains() -> None:
    """Register the domains that ship with City Cockpit (so their metrics can be
    proposed); the draft names those it uses in its ``domains`` list."""
    for name in SHIPPED_DOMAINS:
        if name not in registry.domain_names():
            load_domain_module(module_of(name))


def module_of(domain: str) -> str:
    return f"cockpit.domains.{domain}"


def domain_of(metric: str) -> str:
    return METRICS[metric].domain


def _words(text: str) -> str:
    # camelCase and separators to spaces: "freeSlotNumber" -> "free slot number"
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return re.sub(r"[\s\-./]+", " ", spaced).lower()


def _unit_fits(metric: str, unit: str) -> bool:
    try:
        canonical_unit_factor(metric, unit)
    except (DataError, CockpitError, KeyError):
        return False
    return True


def _in_range(metric: str, low: float | None, high: float | None, factor: float) -> bool:
    if low is None or high is None:
        return True
    m = METRICS[metric]
    return m.minimum <= low * factor and high * factor <= m.maximum


def guess_metric(
    name: str,
    unit: str = "",
    low: float | None = None,
    high: float | None = None,
    texts: Iterable[str] = (),
    daily: bool = False,
    hints: str = "",
) -> Guess | None:
    """The metric a field named ``name`` (with ``hints``: its description, the
    dataset's title) most likely holds, or None.

    ``unit`` is the unit the platform states (empty: none stated; the metric's canonical
    unit is then proposed and marked for checking); ``low``/``high`` the range of its
    numbers; ``texts`` its values when they are words (a state such as "Present");
    ``daily`` says the rows are a day apart (counts per day, not per hour).
    """
    words = _words(name)
    context = _words(hints)
    known = set(METRICS)
    named = False
    for metric, pattern in _WORDS:
        if metric not in known:
            continue
        named = named or bool(re.search(pattern, words))
        if not re.search(pattern, words) and not (
            metric in ("cyclists", "pedestrians", "vehicle_flow")
            and _COUNTISH.search(words)
            and re.search(pattern, context)
        ):
            continue
        chosen = metric
        if chosen == "cyclists" and daily:
            chosen = "cyclists_daily" if "cyclists_daily" in known else chosen
        texts = list(texts)
        if texts:
            if chosen != "bay_occupied":
                continue
            states = state_map(texts)
            if not states:
                continue
            return Guess(name, chosen, "", f"'{name}' holds states {sorted(states)}", map=states)
        stated = bool(unit)
        proposed = unit if stated else METRICS[chosen].unit
        if stated and not _unit_fits(chosen, unit):
            continue
        factor = canonical_unit_factor(chosen, proposed) if _unit_fits(chosen, proposed) else 1.0
        if not _in_range(chosen, low, high, factor):
            continue
        why = f"name '{name}'"
        if chosen == "occupancy" and high is not None and high <= 1 and not stated:
            # a share written 0..1 (as the Smart Data Models do): a percentage is wanted
            stated = False
            why += "; values all 0..1: a fraction? then map it with expr = 100 * field"
        if stated:
            why += f", unit {unit!r}"
        if low is not None:
            why += f", values {low:g}..{high:g}"
        by_name = bool(re.search(pattern, words))
        return Guess(name, chosen, proposed, why, unit_stated=stated, high=high, by_name=by_name)
    if unit and not named:  # no word matched: a unit only one metric takes
        fits = [m for m in known if _unit_fits(m, unit) and _in_range(m, low, high, 1.0)]
        if len(fits) == 1:
            return Guess(name, fits[0], unit, f"unit {unit!r} (only {fits[0]} takes it)")
    return None


_FREE: Final = re.compile(
    r"^(unoccupied|not occupied|free|vacant|empty|frei|libre|available|leer)\b", re.I
)
_TAKEN: Final = re.compile(
    r"^(occupied|present|taken|full|belegt|besetzt|occupé|in use|voll)\b", re.I
)


def state_map(texts: Iterable[str]) -> dict[str, float]:
    """Each state text -> 1 (taken) or 0 (free); empty when a text is neither."""
    out: dict[str, float] = {}
    for text in dict.fromkeys(t.strip() for t in texts if t and t.strip()):
        if _FREE.search(text):
            out[text] = 0.0
        elif _TAKEN.search(text):
            out[text] = 1.0
        else:
            return {}
    return out


def is_part(name: str) -> bool:
    """Whether a field looks like one part of a count (a direction, a channel)."""
    return bool(_PART.search(name))


def best_guesses(guesses: Iterable[Guess]) -> list[Guess]:
    """One guess per metric: a field that is not a part (a direction) before one that is,
    a stated unit before an assumed one."""
    chosen: dict[str, Guess] = {}
    for guess in guesses:
        have = chosen.get(guess.metric)
        if have is None or _rank(guess) < _rank(have):
            chosen[guess.metric] = guess
    return list(chosen.values())


def _rank(guess: Guess) -> tuple[int, int, int]:
    total = 0 if re.search(r"total|sum|gesamt|both", guess.field, re.I) else 1
    return (1 if is_part(guess.field) else 0, total, 0 if guess.unit_stated else 1)


def main_domain(guesses: Iterable[Guess]) -> str | None:
    """The domain most of the guesses' metrics belong to (ties: the first guessed)."""
    counts: dict[str, int] = {}
    for guess in guesses:
        counts[domain_of(guess.metric)] = counts.get(domain_of(guess.metric), 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda d: counts[d])
