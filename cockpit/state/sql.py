"""The SQL the embedded SQLite files and the PostgreSQL server share: how rows become
observation frames and journal records, the history's reads and marks, and the journal's
reads and writes, written once with the differences of the two dialects as parameters.

A backend supplies its ``Dialect`` and how it runs a query (``_rows`` for a read,
``_run`` for statements in one transaction); ``SqlHistory`` and ``SqlJournal`` do the
rest. Table names go through ``Dialect.table``, which puts PostgreSQL's in the city's
``{schema}``. Times are kept in whole epoch seconds (a naive time is taken as UTC),
except the raw observations in PostgreSQL, which are ``TIMESTAMPTZ`` (TimescaleDB wants
them so).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from cockpit import storage
from cockpit.model import empty_observations, observations_frame
from cockpit.reports import Report, ReportChange, changed, check_report
from cockpit.storage import (
    Acknowledgement,
    AuditEvent,
    Decision,
    Delivery,
    Heartbeat,
    Notice,
    StoredRule,
)
from cockpit.validate import AUDIT_DETAIL_MAX, clip

__all__ = [
    "NOTICE_COLUMNS",
    "OUTBOX_COLUMNS",
    "POSTGRES",
    "REPORT_COLUMNS",
    "REPORT_IMPORT_COLUMNS",
    "SQLITE",
    "Dialect",
    "SqlHistory",
    "SqlJournal",
    "SqlTables",
    "Statement",
    "audit_row",
    "epoch",
    "moment",
    "notices_from_rows",
    "observation_rows",
    "observations_from_rows",
    "outcome",
    "refusal_key",
    "refusals_from_counters",
    "reports_from_rows",
    "source_range",
    "utc",
]

# A time a record lacks, as the journal hands it out.
MISSING = datetime.min.replace(tzinfo=UTC)


def utc(when: datetime) -> datetime:
    """``when`` as an aware UTC datetime (naive times are taken as UTC)."""
    if isinstance(when, pd.Timestamp):
        when = when.to_pydatetime()
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def epoch(when: datetime) -> int:
    """``when`` in whole epoch seconds (naive times are taken as UTC)."""
    return int(utc(when).timestamp())


def moment(seconds: int | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime; None stays None."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def source_range(source: str) -> tuple[str, str]:
    """The site ids of ``source`` (``"<source>:..."``) as a half-open range of text:
    ``';'`` sorts right after ``':'`` (byte order)."""
    return f"{source}:", f"{source};"


@dataclass(frozen=True)
class Dialect:
    """What differs between the SQL of SQLite and of PostgreSQL."""

    name: str
    mark: str  # a query parameter
    prefix: str  # before a table name
    raw_seconds: str  # a raw observation's time in epoch seconds, in a SELECT
    raw_at: str  # epoch seconds ``{}`` as the raw observations' time column compares them
    raw_time: Callable[[datetime], Any]  # a time as a parameter the raw time column takes
    raw_times: Callable[[pd.Series], list[Any]]  # a frame's times, as the column takes them
    text: Callable[[str], str]  # a text as the database can keep it
    no_limit: Any  # a LIMIT that sets none

    def table(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def any_site(self, site_ids: list[str]) -> tuple[str, list[Any]]:
        """A condition that ``site_id`` is one of ``site_ids``, with its parameters."""
        if self.name == "postgresql":
            return f"site_id = ANY({self.mark})", [list(site_ids)]
        return f"site_id IN ({self.marks(len(site_ids))})", list(site_ids)


def _seconds(times: pd.Series) -> list[int]:
    return (pd.to_datetime(times, utc=True).astype("int64") // 1_000_000_000).tolist()


def _datetimes(times: pd.Series) -> list[datetime]:
    return pd.to_datetime(times, utc=True).dt.to_pydatetime().tolist()


def _no_nul(value: str) -> str:
    """``value`` as PostgreSQL can store it (it refuses NUL characters)."""
    return value.replace("\x00", "\ufffd")


SQLITE = Dialect(
    name="sqlite",
    mark="?",
    prefix="",
    raw_seconds="time",
    raw_at="{}",
    raw_time=epoch,
    raw_times=_seconds,
    text=str,
    no_limit=-1,
)
POSTGRES = Dialect(
    name="postgresql",
    mark="%s",
    prefix="{schema}.",
    raw_seconds="extract(epoch FROM time)::bigint",
    raw_at="to_timestamp({})",
    raw_time=utc,
    raw_times=_datetimes,
    text=_no_nul,
    no_limit=None,
)

Statement = tuple[str, Sequence[Any]]


def outcome(cursor: Any) -> int:
    """What a statement a DB-API ``cursor`` ran did: the rows it changed, or for one that
    returns rows (``RETURNING``), the first value of the first; read to the end, so the
    transaction can commit."""
    if cursor.description is None:
        return int(cursor.rowcount)
    rows = cursor.fetchall()
    return int(rows[0][0]) if rows else 0


class SqlTables:
    """Tables in one database of a ``dialect``; a backend supplies how a query runs."""

    dialect: Dialect

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows ``query`` reads."""
        raise NotImplementedError

    def _run(self, statements: Sequence[Statement]) -> list[int]:
        """Runs ``statements`` in one transaction; for each, what ``outcome`` says."""
        raise NotImplementedError


# -- the history ---------------------------------------------------------------------------

OBSERVATION_COLUMNS = ["site_id", "metric", "time", "value"]


def observations_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A canonical observation frame from rows of (site id, metric, epoch seconds, value)."""
    if not rows:
        return empty_observations()
    frame = pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return observations_frame(frame)


def observation_rows(dialect: Dialect, observations: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The rows of a canonical observation frame as the raw observations table of
    ``dialect`` keeps them: (site id, metric, time, value)."""
    return list(
        zip(
            observations["site_id"].astype(str).tolist(),
            observations["metric"].astype(str).tolist(),
            dialect.raw_times(observations["time"]),
            observations["value"].astype(float).tolist(),
            strict=True,
        )
    )


def rollup_sql(dialect: Dialect) -> str:
    """Rolls the raw observations of the (site, metric, hour)s in the temporary table
    ``touched`` up into ``hourly`` (hours as epoch seconds of their start). A rollup is
    replaced only by one of at least as many observations, so offering again part of an
    hour whose raw rows the retention already dropped never shrinks it."""
    hourly, start = dialect.table("hourly"), dialect.raw_at.format("t.hour")
    end = dialect.raw_at.format("t.hour + 3600")
    return f"""
INSERT INTO {hourly} (site_id, metric, hour, n, total, low, high)
SELECT t.site_id, t.metric, t.hour, COUNT(*), SUM(o.value), MIN(o.value), MAX(o.value)
FROM touched t CROSS JOIN {dialect.table("observations")} o
WHERE o.site_id = t.site_id AND o.metric = t.metric
  AND o.time >= {start} AND o.time < {end}
GROUP BY t.site_id, t.metric, t.hour
ON CONFLICT (site_id, metric, hour) DO UPDATE SET
    n = excluded.n, total = excluded.total, low = excluded.low, high = excluded.high
WHERE excluded.n >= {hourly}.n
"""


def retention_statements(
    dialect: Dialect, now: datetime, retention_s: int, rollup_s: int
) -> list[Statement]:
    """Deletes raw observations older than ``retention_s`` and rollups of hours that began
    more than ``rollup_s`` (and an hour) before ``now``."""
    seconds = epoch(now)
    raw = dialect.raw_time(moment(seconds - retention_s) or now)
    return [
        (f"DELETE FROM {dialect.table('observations')} WHERE time < {dialect.mark}", (raw,)),
        (
            f"DELETE FROM {dialect.table('hourly')} WHERE hour < {dialect.mark}",
            (seconds - rollup_s - 3600,),
        ),
    ]


class SqlHistory(SqlTables):
    """The reads, marks and purges of a history in SQL. A backend sets ``dialect`` and
    supplies ``_rows`` and ``_run``."""

    retention_s: int  # raw observations are kept this long
    rollup_s: int  # hourly rollups are kept this long

    def _keep(self, retention_days: float, rollup_days: float) -> None:
        """Keep raw observations ``retention_days``, rollups ``rollup_days`` (at least as
        long as raw observations)."""
        self.retention_s = int(retention_days * 86400)
        self.rollup_s = int(max(rollup_days, retention_days) * 86400)

    def _add(self, rows: list[tuple[Any, ...]], retention: list[Statement]) -> None:
        """In one transaction: stores ``rows`` (of ``observation_rows``) that are new,
        rolls up the hours they fall in (``rollup_sql``), then runs ``retention``."""
        raise NotImplementedError

    def append(self, observations: pd.DataFrame) -> int:
        """Add observations (canonical frame); ones already stored are skipped.

        Returns the number of rows offered. The hourly rollups of the hours offered are
        updated first; then raw rows older than the retention and rollups older than
        ``rollup_days`` are dropped.
        """
        if observations.empty:
            return 0
        now = datetime.now(UTC)
        retention = retention_statements(self.dialect, now, self.retention_s, self.rollup_s)
        self._add(observation_rows(self.dialect, observations), retention)
        return len(observations)

    def _select(self, rollups: bool) -> tuple[str, str, Callable[[datetime], Any]]:
        """What a read selects, its time column and how it takes a time."""
        d = self.dialect
        if rollups:
            means = f"SELECT site_id, metric, hour, total / n FROM {d.table('hourly')}"
            return means, "hour", epoch
        raw = f"SELECT site_id, metric, {d.raw_seconds}, value FROM {d.table('observations')}"
        return raw, "time", d.raw_time

    def _sites(
        self,
        rollups: bool,
        site_ids: list[str],
        start: datetime,
        end: datetime,
        metric: str | None,
    ) -> pd.DataFrame:
        if not site_ids:
            return empty_observations()
        select, column, time = self._select(rollups)
        sites, params = self.dialect.any_site(site_ids)
        m = self.dialect.mark
        query = f"{select} WHERE {sites} AND {column} >= {m} AND {column} < {m}"
        params += [time(start), time(end)]
        if metric:
            query += f" AND metric = {m}"
            params.append(metric)
        return observations_from_rows(self._rows(f"{query} ORDER BY {column}", params))

    def _source(
        self, rollups: bool, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        select, column, time = self._select(rollups)
        m = self.dialect.mark
        query = (
            f"{select} WHERE site_id >= {m} AND site_id < {m} AND metric = {m}"
            f" AND {column} >= {m} AND {column} < {m} ORDER BY {column}"
        )
        lo, hi = source_range(source)
        return observations_from_rows(self._rows(query, [lo, hi, metric, time(start), time(end)]))

    def window(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame:
        """Observations of ``site_ids`` with ``start <= time < end``, oldest first."""
        return self._sites(False, site_ids, start, end, metric)

    def source_window(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """All observations of one source's sites for ``metric`` in ``start`` .. ``end``."""
        return self._source(False, source, metric, start, end)

    def hourly(
        self, site_ids: list[str], start: datetime, end: datetime, metric: str | None = None
    ) -> pd.DataFrame:
        """Hourly means of ``site_ids`` from the rollups (kept longer than raw rows), as a
        canonical observation frame stamped at each hour's start, ``start <= time < end``,
        oldest first."""
        return self._sites(True, site_ids, start, end, metric)

    def source_hourly(
        self, source: str, metric: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Hourly means of one source's sites for ``metric``, as ``hourly`` gives them."""
        return self._source(True, source, metric, start, end)

    def purge_source(self, source: str, before: datetime) -> int:
        """Delete ``source``'s observations older than ``before`` (a source's shorter
        retention, e.g. for counts of people), and its hourly rollups of hours that began
        before it. Returns the number of observations deleted."""
        d, m = self.dialect, self.dialect.mark
        lo, hi = source_range(source)
        where = f"WHERE site_id >= {m} AND site_id < {m}"
        deleted, _ = self._run(
            [
                (
                    f"DELETE FROM {d.table('observations')} {where} AND time < {m}",
                    (lo, hi, d.raw_time(before)),
                ),
                (
                    f"DELETE FROM {d.table('hourly')} {where} AND hour < {m}",
                    (lo, hi, epoch(before)),
                ),
            ]
        )
        return deleted

    def count(self) -> int:
        """The number of raw observations kept."""
        return int(self._rows(f"SELECT COUNT(*) FROM {self.dialect.table('observations')}")[0][0])

    def mark(self, key: str) -> str | None:
        """The value of the mark ``key``, or None when it was never set."""
        d = self.dialect
        rows = self._rows(f"SELECT value FROM {d.table('marks')} WHERE key = {d.mark}", (key,))
        return str(rows[0][0]) if rows else None

    def set_mark(self, key: str, value: str) -> None:
        """Set the mark ``key`` to ``value``, replacing what it held."""
        d = self.dialect
        upsert = (
            f"INSERT INTO {d.table('marks')} VALUES ({d.marks(2)})"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        self._run([(upsert, (key, value))])


# -- the journal ---------------------------------------------------------------------------

# The columns ``notices_from_rows`` reads, in its order.
NOTICE_COLUMNS = (
    "id, created, author, severity, starts, expires, texts, withdrawn, withdrawn_by,"
    " kiosks, approved_by"
)
# Columns the notices table gained after its first release: (name, declaration).
NOTICE_ADDED_COLUMNS = (
    ("kiosks", "TEXT NOT NULL DEFAULT ''"),
    ("approved_by", "TEXT NOT NULL DEFAULT ''"),
)


def notices_from_rows(
    rows: Iterable[Sequence[Any]], now: datetime | None, include_inactive: bool
) -> list[Notice]:
    """Notices from rows of ``NOTICE_COLUMNS``, newest first: those active at ``now``,
    the most severe first, or all of them with ``include_inactive``."""
    out = [
        Notice(
            texts=json.loads(texts),
            severity=severity,
            starts=moment(starts) or MISSING,
            expires=moment(expires) or MISSING,
            author=author,
            id=int(nid),
            created=moment(created),
            withdrawn=moment(withdrawn),
            withdrawn_by=withdrawn_by or "",
            kiosks=tuple(json.loads(kiosks)) if kiosks else (),
            approved_by=approved_by or "",
        )
        for (
            nid,
            created,
            author,
            severity,
            starts,
            expires,
            texts,
            withdrawn,
            withdrawn_by,
            kiosks,
            approved_by,
        ) in rows
    ]
    if include_inactive:
        return out
    at = now or datetime.now(UTC)
    active = [n for n in out if n.active(at)]
    return sorted(active, key=lambda n: -storage.SEVERITIES.index(n.severity))


_REFUSAL_PREFIX = "refused:"


def refusal_key(action: str, when: datetime) -> str:
    """The counter that counts refusals of ``action`` in ``when``'s hour."""
    return f"{_REFUSAL_PREFIX}{epoch(when) // 3600}:{action}"


def refusals_from_counters(rows: Iterable[Sequence[Any]], since: datetime) -> dict[str, int]:
    """Refusals per action since ``since``'s hour, from ``(name, value)`` counter rows."""
    first_hour = epoch(since) // 3600
    out: dict[str, int] = {}
    for name, value in rows:
        hour, _, action = str(name).removeprefix(_REFUSAL_PREFIX).partition(":")
        if str(name).startswith(_REFUSAL_PREFIX) and hour.isdigit() and int(hour) >= first_hour:
            out[action] = out.get(action, 0) + int(value)
    return out


# The columns ``reports_from_rows`` reads, in its order (the photo's bytes only when asked).
REPORT_COLUMNS = (
    "id, code, created, updated, category, text, lat, lon, site_id, language, status,"
    " answer, merged_into, link, photo IS NOT NULL"
)


# Every column of a stored report, as ``city-cockpit move-data`` copies them.
REPORT_IMPORT_COLUMNS = (
    "id, code, created, updated, category, text, lat, lon, site_id, language, status,"
    " answer, merged_into, link, photo"
)


def reports_from_rows(rows: Iterable[Sequence[Any]]) -> list[Report]:
    """Reports from rows of ``REPORT_COLUMNS``, optionally followed by the photo."""
    out = []
    for row in rows:
        (rid, code, created, updated, category, text, lat, lon, site, lang, status) = row[:11]
        answer, merged_into, link, has_photo = row[11:15]
        photo = row[15] if len(row) > 15 else None
        out.append(
            Report(
                code=code,
                category=category,
                text=text,
                created=moment(created) or MISSING,
                lat=None if lat is None else float(lat),
                lon=None if lon is None else float(lon),
                site_id="" if site is None else str(site),
                language=lang,
                status=status,
                answer=answer,
                merged_into=merged_into,
                link=link,
                photo=None if photo is None else bytes(photo),
                has_photo=bool(has_photo),
                updated=moment(updated),
                id=int(rid),
            )
        )
    return out


def audit_row(
    actor: str, action: str, detail: str, address: str, when: datetime
) -> tuple[int, str, str, str, str]:
    """An audit entry as stored: time, then each text cut to its length limit, so a
    5 kB id in a refused request stores a few hundred characters of it."""
    return (
        epoch(when),
        clip(actor, 100),
        clip(action, 64),
        clip(detail, AUDIT_DETAIL_MAX),
        clip(address, 64),
    )


# The outbox's columns but its id, as a move copies them.
OUTBOX_COLUMNS = (
    "key, channel, kind, alert_keys, rule, body, created, due, status, attempts, last_error, sent"
)


class SqlJournal(SqlTables):
    """The journal's records in SQL. A backend sets ``dialect`` and the SQL of the two
    writes the dialects spell differently, and supplies ``_rows``, ``_run`` and ``beat``.
    """

    # The table of the version counter; the SQL that keeps (alert key, user, time, note)
    # in place of an earlier acknowledgement of the key, and the ORDER BY that lists
    # acknowledgements in the order they were last made.
    counters: str
    acknowledge_sql: str
    acknowledgement_order: str

    def _bump(self) -> Statement:
        return (
            f"UPDATE {self.dialect.table(self.counters)} SET value = value + 1"
            " WHERE name = 'version'",
            (),
        )

    def _insert(self, table: str, columns: str, values: Sequence[Any], bump: bool) -> int:
        """Adds a record; returns its id."""
        d = self.dialect
        values = [d.text(v) if isinstance(v, str) else v for v in values]
        insert = (
            f"INSERT INTO {d.table(table)} ({columns}) VALUES ({d.marks(len(values))}) RETURNING id"
        )
        return self._run([(insert, values), *([self._bump()] if bump else [])])[0]

    def version(self) -> int:
        """Changes whenever a notice, an acknowledgement or a decision is written, so
        screens re-read them only then."""
        table = self.dialect.table(self.counters)
        return int(self._rows(f"SELECT value FROM {table} WHERE name = 'version'")[0][0])

    # -- notices ---------------------------------------------------------------------
    def publish(self, notice: Notice, now: datetime | None = None) -> int:
        """Store a notice; returns its id. Raises ValueError for an unusable notice."""
        storage.check_notice(notice)
        values = (
            epoch(now or datetime.now(UTC)),
            notice.author,
            notice.severity,
            epoch(notice.starts),
            epoch(notice.expires),
            json.dumps(notice.texts, ensure_ascii=False),
            json.dumps(list(notice.kiosks)) if notice.kiosks else "",
            self.dialect.text(notice.approved_by),
        )
        columns = "created, author, severity, starts, expires, texts, kiosks, approved_by"
        return self._insert("notices", columns, values, True)

    def approve(self, notice_id: int, by: str, now: datetime | None = None) -> bool:
        """Approve a notice waiting for approval; False when there is none with that id,
        or ``by`` wrote it (a second person approves)."""
        d, m = self.dialect, self.dialect.mark
        update = (
            f"UPDATE {d.table('notices')} SET approved_by = {m}"
            f" WHERE id = {m} AND approved_by = '' AND withdrawn IS NULL AND author <> {m}"
        )
        return self._run([(update, (d.text(by), notice_id, d.text(by))), self._bump()])[0] == 1

    def withdraw(self, notice_id: int, by: str, now: datetime | None = None) -> bool:
        """Withdraw a notice; False when there is no such active notice."""
        d, m = self.dialect, self.dialect.mark
        update = (
            f"UPDATE {d.table('notices')} SET withdrawn = {m}, withdrawn_by = {m}"
            f" WHERE id = {m} AND withdrawn IS NULL"
        )
        params = (epoch(now or datetime.now(UTC)), d.text(by), notice_id)
        return self._run([(update, params), self._bump()])[0] == 1

    def notices(self, now: datetime | None = None, include_inactive: bool = False) -> list[Notice]:
        """Notices active at ``now`` (all, newest first, with ``include_inactive``),
        the most severe first."""
        table = self.dialect.table("notices")
        rows = self._rows(f"SELECT {NOTICE_COLUMNS} FROM {table} ORDER BY id DESC")
        return notices_from_rows(rows, now, include_inactive)

    # -- alert acknowledgements -----------------------------------------------------
    def acknowledge(
        self, alert_key: str, user: str, now: datetime | None = None, note: str = ""
    ) -> None:
        text = self.dialect.text
        params = (text(alert_key), text(user), epoch(now or datetime.now(UTC)), text(note))
        self._run([(self.acknowledge_sql, params), self._bump()])

    def acknowledgements(self) -> dict[str, Acknowledgement]:
        rows = self._rows(
            f'SELECT alert_key, "user", time, note FROM {self.dialect.table("acknowledgements")}'
            f"{self.acknowledgement_order}"
        )
        return {
            key: Acknowledgement(key, user, moment(t) or MISSING, note)
            for key, user, t, note in rows
        }

    # -- kiosk heartbeats -----------------------------------------------------------
    def heartbeats(self) -> list[Heartbeat]:
        table = self.dialect.table("heartbeats")
        rows = self._rows(f"SELECT kiosk_id, time, info FROM {table} ORDER BY kiosk_id")
        return [Heartbeat(k, moment(t) or MISSING, json.loads(i)) for k, t, i in rows]

    # -- audit log ------------------------------------------------------------------
    def audit(
        self,
        actor: str,
        action: str,
        detail: str = "",
        address: str = "",
        now: datetime | None = None,
    ) -> None:
        """Record a sign-in, a failed sign-in or a state-changing action. Texts are cut
        to their limits; refusals beyond ``REFUSALS_KEPT_PER_HOUR`` of one kind in one
        hour are only counted (``refusals``)."""
        when = now or datetime.now(UTC)
        if storage.is_refusal(action):
            # The upsert counts atomically, so of many refusals at once exactly the
            # first ``REFUSALS_KEPT_PER_HOUR`` of the hour are kept as samples.
            counters = self.dialect.table(self.counters)
            count = (
                f"INSERT INTO {counters} VALUES ({self.dialect.marks(2)})"
                f" ON CONFLICT (name) DO UPDATE SET value = {counters}.value + 1"
                " RETURNING value"
            )
            key = self.dialect.text(refusal_key(clip(action, 64), when))
            (seen,) = self._run([(count, (key, 1))])
            if seen > storage.REFUSALS_KEPT_PER_HOUR:
                return
        values = audit_row(actor, action, detail, address, when)
        self._insert("audit", "time, actor, action, detail, address", values, False)

    def audit_log(self, limit: int = 200, action: str | None = None) -> list[AuditEvent]:
        """The newest ``limit`` audit entries, only those of ``action`` when given."""
        d = self.dialect
        where, params = (f" WHERE action = {d.mark}", [d.text(action)]) if action else ("", [])
        rows = self._rows(
            "SELECT id, time, actor, action, detail, address"
            f" FROM {d.table('audit')}{where} ORDER BY id DESC LIMIT {d.mark}",
            (*params, d.no_limit if limit < 0 else limit),  # a negative limit: all of them
        )
        return [
            AuditEvent(moment(t) or MISSING, a, act, d, addr, int(i))
            for i, t, a, act, d, addr in rows
        ]

    def refusals(self, since: datetime) -> dict[str, int]:
        """How many refusals of each kind were counted from ``since``'s hour on."""
        d = self.dialect
        rows = self._rows(
            f"SELECT name, value FROM {d.table(self.counters)} WHERE name LIKE {d.mark}",
            (_REFUSAL_PREFIX + "%",),
        )
        return refusals_from_counters(rows, since)

    # -- decision log ---------------------------------------------------------------
    def record_decision(self, decision: Decision, now: datetime | None = None) -> int:
        storage.check_decision(decision)
        values = (
            epoch(now or datetime.now(UTC)),
            decision.author,
            decision.what,
            decision.place,
            epoch(decision.effective),
            json.dumps(decision.kpis),
        )
        columns = "created, author, what, place, effective, kpis"
        return self._insert("decisions", columns, values, True)

    def decisions(self) -> list[Decision]:
        # Decisions that took effect at the same second list in the order they were
        # recorded.
        rows = self._rows(
            "SELECT id, created, author, what, place, effective, kpis"
            f" FROM {self.dialect.table('decisions')} ORDER BY effective DESC, id"
        )
        return [
            Decision(
                what=what,
                place=place,
                effective=moment(eff) or MISSING,
                author=author,
                kpis=json.loads(kpis),
                id=int(i),
                created=moment(created),
            )
            for i, created, author, what, place, eff, kpis in rows
        ]

    # -- alert rules written in the browser -----------------------------------------
    def put_rule(self, rule: StoredRule) -> None:
        d, m = self.dialect, self.dialect.mark
        upsert = (
            f"INSERT INTO {d.table('rules')} (id, spec, updated, updated_by)"
            f" VALUES ({d.marks(4)}) ON CONFLICT (id) DO UPDATE SET spec = {m},"
            f" updated = {m}, updated_by = {m}"
        )
        when, by, spec = epoch(rule.updated), d.text(rule.updated_by), d.text(rule.spec)
        self._run([(upsert, (d.text(rule.id), spec, when, by, spec, when, by)), self._bump()])

    def rules(self) -> list[StoredRule]:
        rows = self._rows(
            f"SELECT id, spec, updated, updated_by FROM {self.dialect.table('rules')} ORDER BY id"
        )
        return [StoredRule(i, spec, moment(t) or MISSING, by) for i, spec, t, by in rows]

    # -- the outbox -----------------------------------------------------------------
    def enqueue(self, deliveries: list[Delivery]) -> int:
        d = self.dialect
        insert = (
            f"INSERT INTO {d.table('outbox')} (key, channel, kind, alert_keys, rule, body,"
            f" created, due, status, attempts, last_error) VALUES ({d.marks(11)})"
            " ON CONFLICT (key) DO NOTHING"
        )
        statements = [
            (
                insert,
                (
                    d.text(x.key),
                    d.text(x.channel),
                    x.kind,
                    json.dumps(list(x.alert_keys)),
                    d.text(x.rule),
                    d.text(x.body),
                    epoch(x.created),
                    epoch(x.due),
                    x.status,
                    x.attempts,
                    d.text(x.last_error),
                ),
            )
            for x in deliveries
        ]
        return sum(self._run(statements)) if statements else 0

    def outbox(
        self,
        limit: int = 200,
        since: datetime | None = None,
        status: str | None = None,
        due_by: datetime | None = None,
    ) -> list[Delivery]:
        d = self.dialect
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append(f"created >= {d.mark}")
            params.append(epoch(since))
        if status is not None:
            where.append(f"status = {d.mark}")
            params.append(status)
        if due_by is not None:
            where.append(f"due <= {d.mark}")
            params.append(epoch(due_by))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._rows(
            "SELECT id, key, channel, kind, alert_keys, rule, body, created, due, status,"
            f" attempts, last_error, sent FROM {d.table('outbox')}{clause}"
            f" ORDER BY id DESC LIMIT {d.mark}",
            (*params, d.no_limit if limit < 0 else limit),
        )
        return [
            Delivery(
                key=key,
                channel=channel,
                kind=kind,
                alert_keys=tuple(json.loads(keys)),
                rule=rule,
                body=body,
                created=moment(created) or MISSING,
                due=moment(due) or MISSING,
                status=status_,
                attempts=int(attempts),
                last_error=error,
                sent=moment(sent),
                id=int(i),
            )
            for (
                i, key, channel, kind, keys, rule, body, created, due, status_, attempts, error,
                sent,
            ) in rows
        ]  # fmt: skip

    def delivery_done(
        self,
        delivery_id: int,
        now: datetime,
        error: str = "",
        retry_at: datetime | None = None,
    ) -> None:
        d, m = self.dialect, self.dialect.mark
        table = d.table("outbox")
        if not error:
            update = (
                f"UPDATE {table} SET status = 'sent', attempts = attempts + 1,"
                f" last_error = '', sent = {m} WHERE id = {m}"
            )
            self._run([(update, (epoch(now), delivery_id))])
            return
        status = "pending" if retry_at is not None else "failed"
        update = (
            f"UPDATE {table} SET status = {m}, attempts = attempts + 1, last_error = {m},"
            f" due = {m} WHERE id = {m}"
        )
        due = epoch(retry_at if retry_at is not None else now)
        self._run([(update, (status, d.text(clip(error, AUDIT_DETAIL_MAX)), due, delivery_id))])

    # -- citizens' reports ----------------------------------------------------------
    def file_report(self, report: Report, now: datetime | None = None) -> int:
        """Keep a citizen's report; returns its id. Raises ValueError for a report
        ``check_report`` refuses or whose code is taken (nothing is kept)."""
        check_report(report)
        d = self.dialect
        when = epoch(now or report.created)
        values = [
            report.code,
            when,
            when,
            report.category,
            d.text(report.text),
            report.lat,
            report.lon,
            d.text(report.site_id),
            d.text(report.language),
            report.status,
            d.text(report.answer),
            report.merged_into,
            d.text(report.link),
            report.photo,
        ]
        columns = (
            "code, created, updated, category, text, lat, lon, site_id, language, status,"
            " answer, merged_into, link, photo"
        )
        insert = (
            f"INSERT INTO {d.table('reports')} ({columns}) VALUES ({d.marks(len(values))})"
            " ON CONFLICT (code) DO NOTHING RETURNING id"
        )
        report_id, _ = self._run([(insert, values), self._bump()])
        if not report_id:
            raise ValueError(f"the report code {report.code} is taken")
        return report_id

    def report(self, code: str, photo: bool = False) -> Report | None:
        """The report ``code`` (with its photo's bytes when ``photo``), or None."""
        d = self.dialect
        columns = REPORT_COLUMNS + (", photo" if photo else "")
        rows = self._rows(
            f"SELECT {columns} FROM {d.table('reports')} WHERE code = {d.mark}", (d.text(code),)
        )
        found = reports_from_rows(rows)
        return found[0] if found else None

    def reports(
        self, statuses: tuple[str, ...] = (), limit: int = 200, since: datetime | None = None
    ) -> list[Report]:
        """The newest ``limit`` reports, of ``statuses`` only when given, made at or after
        ``since`` when given; newest first, without their photos' bytes."""
        d, m = self.dialect, self.dialect.mark
        where: list[str] = []
        params: list[Any] = []
        if statuses:
            where.append(f"status IN ({d.marks(len(statuses))})")
            params += list(statuses)
        if since is not None:
            where.append(f"created >= {m}")
            params.append(epoch(since))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._rows(
            f"SELECT {REPORT_COLUMNS} FROM {d.table('reports')}{clause}"
            f" ORDER BY created DESC, id DESC LIMIT {m}",
            (*params, d.no_limit if limit < 0 else limit),
        )
        return reports_from_rows(rows)

    def change_report(
        self, code: str, change: ReportChange, now: datetime | None = None
    ) -> Report | None:
        """Apply a moderator's change; the changed report, or None when there is no such
        report. Raises ValueError (nothing changed) for a change ``check_report`` refuses
        or a merge into a report that does not exist."""
        current = self.report(code)
        if current is None:
            return None
        when = now or datetime.now(UTC)
        new = changed(current, change, when)
        if change.merged_into and self.report(change.merged_into) is None:
            raise ValueError(f"there is no report {change.merged_into}")
        d, m = self.dialect, self.dialect.mark
        update = (
            f"UPDATE {d.table('reports')} SET status = {m}, answer = {m}, merged_into = {m},"
            f" link = {m}, updated = {m} WHERE code = {m}"
        )
        params = (
            new.status,
            d.text(new.answer),
            new.merged_into,
            d.text(new.link),
            epoch(when),
            code,
        )
        done, _ = self._run([(update, params), self._bump()])
        return new if done else None

    def purge_reports(self, before: datetime) -> int:
        """Delete the reports made before ``before``, photos and all; how many."""
        d = self.dialect
        delete = f"DELETE FROM {d.table('reports')} WHERE created < {d.mark}"
        (deleted,) = self._run([(delete, (epoch(before),))])
        if deleted:  # screens re-read the journal only when something went
            self._run([self._bump()])
        return deleted
