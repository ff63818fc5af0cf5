"""A CSV or JSON file over HTTP, recognised by its content (a header row and rows of
the same width, or an array of objects), in either layout: long (a row per
observation) or wide (a row per time, a column per site). Sites placed by a
``"lat, lon"`` column are written out as ``site_locations`` for the officer to keep."""

from __future__ import annotations

import csv
import io
from typing import Any

from cockpit.model import METRICS
from connectors.discover import fields as F
from connectors.discover.collection import about, from_plan
from connectors.discover.found import Collection, Discovery, Guess
from connectors.discover.metrics import best_guesses, guess_metric
from connectors.discover.plan import plan_records
from connectors.discover.probe import Answer, Probe

__all__ = ["recognise"]

PLATFORM = "CSV / JSON file"
_MAX_ROWS = 2000


def _csv_rows(text: str) -> list[dict[str, Any]] | None:
    lines = [line for line in text.splitlines()[: _MAX_ROWS + 1] if line.strip()]
    if len(lines) < 2:
        return None
    head = lines[0]
    delimiter = max((";", ",", "\t"), key=head.count)
    if head.count(delimiter) == 0 or head.lstrip().startswith(("<", "{", "[")):
        return None
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    rows = list(reader)
    width = len(rows[0])
    if sum(1 for r in rows[1:] if len(r) == width) < max(1, (len(rows) - 1) * 0.9):
        return None
    names = [n.strip() for n in rows[0]]
    return [
        dict(zip(names, (c.strip() for c in r), strict=False)) for r in rows[1:] if len(r) == width
    ]


def recognise(answer: Answer, probe: Probe) -> Discovery | None:
    if (
        isinstance(answer.data, list)
        and answer.data
        and all(isinstance(r, dict) for r in answer.data[:50])
    ):
        found = Discovery(answer.url, PLATFORM, "a JSON array of objects")
        found.collections.append(
            file_collection(answer.url, answer.data[:_MAX_ROWS], "json", probe.domain)
        )
        return found
    if isinstance(answer.data, dict):  # records under one key: {"data": [{…}, …]}
        lists = [
            k
            for k, v in answer.data.items()
            if isinstance(v, list) and v and all(isinstance(r, dict) for r in v[:50])
        ]
        if len(lists) == 1:
            found = Discovery(
                answer.url, PLATFORM, f"a JSON file with its records under {lists[0]!r}"
            )
            rows = answer.data[lists[0]][:_MAX_ROWS]
            collection = file_collection(answer.url, rows, "json", probe.domain)
            if collection.source:
                collection.source["options"]["records"] = lists[0]
            found.collections.append(collection)
            return found
    if answer.data is not None or "html" in answer.content_type:
        return None
    rows = _csv_rows(answer.text)
    if rows is None:
        return None
    found = Discovery(answer.url, PLATFORM, "a CSV file (header and rows of equal width)")
    found.collections.append(file_collection(answer.url, rows, "csv", probe.domain))
    return found


def _names_row(rows: list[dict[str, Any]]) -> str:
    """The first cell of a second header row (a row naming each column, e.g. "Title"):
    the first row's first cell is no time while the rows after it hold times."""
    if len(rows) < 3:
        return ""
    first_column = next(iter(rows[0]), "")
    head = str(rows[0].get(first_column, ""))
    later = [str(r.get(first_column, "")) for r in rows[1:20] if r.get(first_column)]
    if head and F.time_format([head]) is None and later and F.time_format(later) is not None:
        return head
    return ""


def file_collection(url: str, rows: list[dict[str, Any]], fmt: str, domain: str = "") -> Collection:
    title = url.rstrip("/").rsplit("/", 1)[-1]
    names_row = _names_row(rows)
    data = rows[1:] if names_row else rows
    plan = plan_records(data, hints=title, domain=domain)
    names = " ".join(str(v) for v in rows[0].values()) if names_row else ""
    wide = _wide(data, plan, f"{title} {domain} {names}")
    if wide is not None:
        return wide_collection(url, data, fmt, title, *wide, names_row=names_row)
    options: dict[str, Any] = {"domain": plan.domain or ""}
    if fmt == "json":
        options["format"] = "json"
    if plan.id:
        options["id"] = plan.id
    else:
        options["site_id"] = title
    if plan.name:
        options["name"] = plan.name
    options["time"] = plan.time or "CHECK_time_column"
    if plan.hour:
        options["hour"] = plan.hour
    if plan.time_format:
        options["time_format"] = plan.time_format
    if plan.lat:
        options["lat"], options["lon"] = plan.lat, plan.lon
    elif plan.position and plan.id:
        options["site_locations"] = {
            site: {"lat": lat, "lon": lon} for site, (lat, lon) in plan.site_positions.items()
        }
        plan.checks.append(
            f"sites placed from '{plan.position}' in the rows read: a site not seen there "
            "needs its own entry under site_locations"
        )
    options["values"] = plan.values()
    source = {"connector": "table", **about(title), "url": url, "options": options}
    return from_plan(title, "file", plan, source, rows[0] if rows else None)


def _wide(rows: list[dict[str, Any]], plan: Any, title: str) -> tuple[str, list[str], str] | None:
    """(time column, site columns, metric) when most columns are numbers of one kind and
    none of them names a metric: a column per site."""
    if not plan.time or plan.id or any(g.by_name for g in plan.all_guesses):
        return None
    numeric = [f.name for f in F.profile(rows) if f.kind in ("number", "empty")]
    numeric = [n for n in numeric if n not in (plan.time, plan.hour)]
    if len(numeric) < 3:  # a column per site: more than a count and its two directions
        return None
    times = [str(r.get(plan.time, "")) for r in rows[:20] if r.get(plan.time)]
    daily = F.time_format(times) is not None and all(len(t.strip()) <= 10 for t in times)
    guess = guess_metric("count", "", None, None, daily=daily and not plan.hour, hints=title)
    guesses = best_guesses([guess]) if guess else []
    if not guesses:
        return None
    return plan.time, numeric, guesses[0].metric


def wide_collection(
    url: str,
    rows: list[dict[str, Any]],
    fmt: str,
    title: str,
    time: str,
    columns: list[str],
    metric: str,
    names_row: str = "",
) -> Collection:
    first = rows[0]
    plan = plan_records(rows, hints=title)
    options: dict[str, Any] = {
        "layout": "wide",
        "domain": METRICS[metric].domain,
        "time": time,
        "metric": metric,
        "unit": METRICS[metric].unit,
    }
    if fmt == "json":
        options["format"] = "json"
    if names_row:
        options["names_row"] = names_row
    plan.domain = METRICS[metric].domain
    plan.checks.append(
        f"a column per site ({len(columns)}): {METRICS[metric].unit} assumed; give each "
        "site's place under site_locations (or a sites table)"
    )
    source = {"connector": "table", **about(title), "url": url, "options": options}
    plan.checks = [c for c in plan.checks if not c.startswith("no coordinates")]
    plan.guesses = []
    collection = from_plan(title, "file (wide: a column per site)", plan, source, first)
    collection.source = source
    collection.guesses = [
        Guess(
            f"each of the {len(columns)} site columns",
            metric,
            METRICS[metric].unit,
            f"numbers in a column per site, a {'day' if 'daily' in metric else 'row'} apart, "
            f"in a file named {title!r}",
            unit_stated=False,
        )
    ]
    collection.sites = len(columns)
    return collection
