"""The ``city-cockpit`` command: run a city's cockpit, check a city's config file, fill its
history, or move its embedded data to the server backends."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from cockpit.config import OidcConfig, default_config_path, load_config
from cockpit.errors import CockpitError, ConfigError, MoveError
from cockpit.present.i18n import available_languages, untranslated, use_city_texts

if TYPE_CHECKING:
    from cockpit.state.move import MoveStep

__all__ = [
    "MoveProgressBar",
    "ProgressBar",
    "backfill_command",
    "check_config",
    "discover_command",
    "main",
    "move_data_command",
    "wsgi_server",
]

log = logging.getLogger("city_cockpit")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="city-cockpit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve the cockpit")
    run.add_argument("--config", default=None, help="city config file (default: demo city)")
    run.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8050")))
    run.add_argument("--data-dir", default=None, help="where snapshots and history live")
    run.add_argument("--debug", action="store_true", help="Dash debug mode (never in public)")
    check = commands.add_parser("check-config", help="validate a city config and probe sources")
    check.add_argument("file")
    check.add_argument("--offline", action="store_true", help="validate only, send no request")
    check.add_argument(
        "--explain",
        metavar="SOURCE",
        default=None,
        help="print the source's first records as read, as mapped, and why kept or dropped",
    )
    check.add_argument("--records", type=int, default=5, help="records --explain prints")
    probe = commands.add_parser(
        "discover", help="recognise a platform at a URL and draft a config for what it serves"
    )
    probe.add_argument("url")
    probe.add_argument("-o", "--write", metavar="PATH", default=None, help="write the draft here")
    probe.add_argument(
        "--timezone", default="", help="the city's IANA zone (default: guessed from the sites)"
    )
    probe.add_argument("--name", default="", help="the city's name")
    probe.add_argument(
        "--domain", default="", help="what the data is, when its names do not say (e.g. cycling)"
    )
    probe.add_argument(
        "--location", default=None, metavar="LAT,LON", help="place of a dataset that states none"
    )
    hasher = commands.add_parser("hash-password", help="an argon2 hash for [access.users]")
    hasher.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    fill = commands.add_parser(
        "backfill",
        help="fill the history from each platform's own history (resumes where it stopped)",
    )
    fill.add_argument("--config", default=None, help="city config file (default: demo city)")
    fill.add_argument("--since", required=True, help="first day (YYYY-MM-DD, city time) or time")
    fill.add_argument("--until", default=None, help="end, exclusive (default: now)")
    fill.add_argument("--source", action="append", default=None, help="source id (repeatable)")
    fill.add_argument("--chunk-hours", type=float, default=24, help="hours read per request")
    fill.add_argument("--data-dir", default=None, help="where snapshots and history live")
    move = commands.add_parser(
        "move-data",
        help="copy a city's embedded history and journal to its server backends (repeatable)",
    )
    move.add_argument("--config", required=True, help="city config with kind = 'server'")
    move.add_argument("--from", dest="directory", required=True, help="the embedded data directory")
    return parser


class ProgressBar:
    """A text progress bar on stderr (tqdm) fed with backfill chunks; each chunk done is
    also written as its own line, so a log or another program can follow."""

    def __init__(self, total: int, what: str) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.bar = tqdm(total=total, desc=what, unit="chunk", file=sys.stderr, leave=True)

    def __call__(self, chunk: Any) -> None:
        state = "done before" if chunk.resumed else f"done, {chunk.rows} observations"
        self._tqdm.write(
            f"{chunk.source}: chunk {chunk.index + 1}/{chunk.total} "
            f"{chunk.start.isoformat()} .. {chunk.end.isoformat()} {state}",
            file=sys.stderr,
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class MoveProgressBar:
    """A text progress bar on stderr (tqdm) per kind of record being moved, fed with the
    move's batches; each kind's bar stays as its own line when it is done."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.bar: Any = None
        self.kind = ""

    def __call__(self, step: MoveStep) -> None:
        if step.kind != self.kind:
            self.close()
            self.kind = step.kind
            self.bar = self._tqdm(
                total=step.total, desc=step.label, unit="row", file=sys.stderr, leave=True
            )
        self.bar.update(step.rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _moment(text: str, timezone: str) -> datetime:
    """A day (midnight on the city's clock) or an ISO time (UTC unless it says otherwise)."""
    import pandas as pd

    stamp = pd.Timestamp(text)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(timezone) if len(text) <= 10 else stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").to_pydatetime()


def backfill_command(args: argparse.Namespace) -> int:
    """Fill the history of the sources asked for from ``--since`` to ``--until`` in chunks,
    with a progress bar; 0 when every source was read, 1 when one failed, 2 for a bad
    config or argument."""
    from datetime import timedelta

    from cockpit.backfill import chunks, fill_history
    from cockpit.source import SourceContext, build_connector
    from cockpit.state import open_stores

    path = _config_path(args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"city-cockpit: config error: {exc}", file=sys.stderr)
        return 2
    sources = args.source or list(config.sources)
    unknown = [s for s in sources if s not in config.sources]
    if unknown:
        print(f"city-cockpit: unknown source(s) {unknown}; have {list(config.sources)}",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        start = _moment(args.since, config.city.timezone)
        end = _moment(args.until, config.city.timezone) if args.until else datetime.now(UTC)
    except ValueError as exc:
        print(f"city-cockpit: not a day or time: {exc}", file=sys.stderr)
        return 2
    if args.chunk_hours <= 0 or start >= end:
        print("city-cockpit: --since must be before --until, chunks longer than 0", file=sys.stderr)
        return 2
    size = timedelta(hours=args.chunk_hours)
    directory = args.data_dir or config.data_dir()
    store, history = open_stores(config, Path(directory))
    total = len(chunks(start, end, size)) * len(sources)
    bar = ProgressBar(total, "backfill")
    failed = 0
    try:
        for source in sources:
            connector = build_connector(SourceContext.from_city(config, source, dict(os.environ)))
            try:
                fill_history(
                    history,  # type: ignore[arg-type]
                    connector,
                    start,
                    end,
                    size,
                    bar,
                    config.sources[source].retention_days,
                )
            except CockpitError as exc:
                failed += 1
                bar._tqdm.write(f"{source}: FAILED {exc}", file=sys.stderr)
            finally:
                connector.close()
    finally:
        bar.close()
        history.close()
        store.close()
    return 1 if failed else 0


def move_data_command(args: argparse.Namespace) -> int:
    """Copy the embedded data in ``--from`` to the server backends of ``--config``, with a
    progress bar, and print what was copied; 0 when done, 2 for a bad config, a directory
    without embedded data, a server journal already in use or a server that cannot be
    reached."""
    from cockpit.errors import BackendUnavailable
    from cockpit.state.move import move_embedded_data

    try:
        config = load_config(_config_path(args.config))
    except ConfigError as exc:
        print(f"city-cockpit: config error: {exc}", file=sys.stderr)
        return 2
    bar = MoveProgressBar()
    try:
        report = move_embedded_data(Path(args.directory), config, progress=bar)
    except ConfigError as exc:
        print(f"city-cockpit: config error: {exc}", file=sys.stderr)
        return 2
    except (MoveError, BackendUnavailable) as exc:
        print(f"city-cockpit: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    print("\n".join(report.lines()))
    return 0


def hash_password_command(from_stdin: bool) -> int:
    """Print an argon2id hash of a password typed (or piped) in, for the city config."""
    import getpass

    from cockpit.auth import hash_password

    password = sys.stdin.readline().rstrip("\n") if from_stdin else getpass.getpass()
    if len(password) < 12:
        print("city-cockpit: use a password of at least 12 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _config_path(path: str | None) -> str:
    return str(path or os.environ.get("CITY_COCKPIT_CONFIG") or default_config_path())


@lru_cache(maxsize=1)
def wsgi_server(config_path: str | None = None) -> Any:
    """The Flask server of a cockpit for ``config_path`` (built once per process)."""
    from wiring.app import create_app
    from wiring.runtime import Runtime

    runtime = Runtime.open(_config_path(config_path))
    return create_app(runtime).server


def run(args: argparse.Namespace) -> int:
    from wiring.app import create_app
    from wiring.runtime import Runtime

    path = _config_path(args.config)
    try:
        runtime = Runtime.open(path, args.data_dir)
    except ConfigError as exc:
        print(f"city-cockpit: config error: {exc}", file=sys.stderr)
        return 2
    pending = runtime.refresher.pending_backfill() if runtime.refreshes_in_process else []
    if pending:  # first start: fill the history, showing how far it got
        days = sum(
            max(1, math.ceil(runtime.config.sources[s].backfill_hours / 24)) for s in pending
        )
        bar = ProgressBar(days, "filling history")
        try:
            runtime.refresher.backfill(progress=bar)
        finally:
            bar.close()
    app = create_app(runtime)
    log.info(
        "serving %s from %s at http://%s:%d", runtime.config.city.name, path, args.host, args.port
    )
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


def _invalid(file: str, key: str, reason: str, out: Any) -> int:
    print(f"INVALID {file}\n  key: {key}\n  problem: {reason}", file=out)
    return 2


def _build(config: Any, source_id: str, out: Any) -> Any:
    """The source's connector, or the exit code 2 after printing why its options are wrong."""
    from cockpit.source import SourceContext, build_connector

    context = SourceContext.from_city(config, source_id, dict(os.environ))
    try:
        return build_connector(context)
    except ConfigError as exc:
        key = exc.key if exc.key.startswith("sources.") else f"sources.{source_id}.{exc.key}"
        return _invalid(config.file, key, exc.reason, out)
    except Exception as exc:  # an option no model caught must not be a traceback
        reason = f"{type(exc).__name__}: {exc}"
        return _invalid(config.file, f"sources.{source_id}.options", reason, out)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str, ensure_ascii=False)[:2000]


def _report(source_id: str, snap: Any, out: Any) -> bool:
    """Print what a source gave; True when it gave usable sites and observations."""
    per_domain = snap.sites["domain"].value_counts().to_dict()
    newest = snap.observations["time"].max() if not snap.observations.empty else None
    domains = ", ".join(f"{n} {d}" for d, n in per_domain.items()) or "no sites"
    print(
        f"  {source_id}: {domains}; newest observation {newest}; {snap.rejected} rows rejected",
        file=out,
    )
    for note in snap.notes:
        print(f"    {note}", file=out)
        example = snap.examples.get(note)
        if example is not None:
            print(f"      e.g. {_json(example)}", file=out)
    usable = not snap.sites.empty and not snap.observations.empty
    if not usable:
        what = "no usable site" if snap.sites.empty else "no usable observation"
        print(f"  {source_id}: FAILED {what}", file=out)
        if not snap.notes:
            print("    the source answered but nothing in it could be read; check its "
                  "options (try --explain)", file=out)  # fmt: skip
    return usable


def _explain(config: Any, source_id: str, limit: int, out: Any) -> int:
    connector = _build(config, source_id, out)
    if isinstance(connector, int):
        return connector
    try:
        explained = connector.explain(limit)
    except CockpitError as exc:
        print(f"  {source_id}: FAILED {exc}", file=out)
        return 1
    except Exception as exc:  # reported, never a traceback
        print(f"  {source_id}: FAILED {type(exc).__name__}: {exc}", file=out)
        return 1
    finally:
        connector.close()
    if not explained:
        print(f"  {source_id}: the source answered no record", file=out)
        return 1
    for number, item in enumerate(explained, 1):
        print(f"record {number}", file=out)
        print(f"  read:   {_json(item.read)}", file=out)
        if item.mapped is not None:
            print(f"  mapped: {_json(item.mapped)}", file=out)
        verdict = "KEPT" if item.kept else "DROPPED"
        print(
            f"  {verdict}: {item.sites} site(s), {item.observations} observation(s)"
            + (f"; {'; '.join(item.reasons)}" if item.reasons else ""),
            file=out,
        )
    return 0 if any(item.kept for item in explained) else 1


def _say_untranslated(config: Any, out: Any) -> None:
    """A note per offered language in which some of the file's words would stay English
    (a warning: the cockpit still runs), with the table that would translate them."""
    use_city_texts(config.translations)
    for language in config.city.languages:
        if language not in available_languages():
            continue
        missing = untranslated(config.texts(), language)
        if missing:
            listed = "; ".join(repr(t) for t in missing)
            print(
                f"  note: {len(missing)} word(s) stay English for {language!r} viewers; "
                f"translate them under [translations.{language}]: {listed}",
                file=out,
            )


def _say_single_sign_on(config: Any, out: Any) -> None:
    """A note when ``[access.oidc]`` names a client-secret variable this environment
    lacks: the cockpit would then ask the provider as a public client."""
    oidc = config.access.oidc
    if oidc is not None and oidc.client_secret_env and not os.environ.get(oidc.client_secret_env):
        print(
            f"  note: access.oidc.client_secret_env: ${oidc.client_secret_env} is not set here; "
            "without it the provider is asked as a public client (PKCE only)",
            file=out,
        )


def probe_provider(oidc: OidcConfig, out: Any, timeout_s: float = 10) -> bool:
    """Read the OpenID Connect provider's discovery document once and report it: True
    when it answers and names ``oidc.issuer`` as its issuer (the cockpit refuses every
    sign-in otherwise), with the endpoints single sign-on uses."""
    try:
        answer = requests.get(oidc.discovery_url, timeout=timeout_s)
        answer.raise_for_status()
        metadata = answer.json()
    except (requests.RequestException, ValueError) as exc:
        print(f"  single sign-on: FAILED {oidc.discovery_url}: {exc}", file=out)
        return False
    issuer = metadata.get("issuer") if isinstance(metadata, dict) else None
    if issuer != oidc.issuer:
        print(
            f"  single sign-on: FAILED the provider names issuer {issuer!r}, "
            f"access.oidc.issuer is {oidc.issuer!r}",
            file=out,
        )
        return False
    methods = metadata.get("code_challenge_methods_supported")
    pkce = "S256" if not methods or "S256" in methods else "no S256 (PKCE) announced"
    end = "yes" if metadata.get("end_session_endpoint") else "no (sign-out stays local)"
    print(f"  single sign-on: OK {issuer}: PKCE {pkce}, sign-out at the provider {end}", file=out)
    return True


def check_config(
    path: str,
    offline: bool = False,
    out: Any = None,
    explain: str | None = None,
    records: int = 5,
) -> int:
    """Validate ``path`` and, unless ``offline``, read each source once and report what it
    found. Returns 0 when the config is valid and every source gave usable sites and
    observations, 1 when a source failed or gave none (with the rejection reasons, their
    counts and an example row each), 2 when the config or a source's options are invalid.

    ``explain`` names a source whose first ``records`` records are printed as read, as
    mapped, and kept or dropped with the reasons (exit 1 when none was kept).
    """
    out = out or sys.stdout
    try:
        config = load_config(path)
    except ConfigError as exc:
        return _invalid(exc.file, exc.key, exc.reason, out)
    print(
        f"OK {path}: {config.city.name}, {len(config.sources)} sources, "
        f"{len(config.layers)} layers",
        file=out,
    )
    _say_untranslated(config, out)
    _say_single_sign_on(config, out)
    if explain is not None:
        if explain not in config.sources:
            known = ", ".join(config.sources)
            return _invalid(config.file, "--explain", f"no source {explain!r} (have: {known})", out)
        return _explain(config, explain, records, out)
    connectors: dict[str, Any] = {}
    for source_id in config.sources:
        connector = _build(config, source_id, out)
        if isinstance(connector, int):
            for built in connectors.values():
                built.close()
            return connector
        connectors[source_id] = connector
    if offline:
        for built in connectors.values():
            built.close()
        return 0
    failed = 0
    if config.access.oidc is not None and not probe_provider(config.access.oidc, out):
        failed += 1
    for source_id, connector in connectors.items():
        try:
            snap = connector.snapshot(now=datetime.now(UTC))
        except CockpitError as exc:
            failed += 1
            print(f"  {source_id}: FAILED {exc}", file=out)
            continue
        except Exception as exc:  # reported, never a traceback
            failed += 1
            print(f"  {source_id}: FAILED {type(exc).__name__}: {exc}", file=out)
            continue
        finally:
            connector.close()
        if not _report(source_id, snap, out):
            failed += 1
    return 1 if failed else 0


def discover_command(args: argparse.Namespace, out: Any = None) -> int:
    """List what the platform at ``args.url`` serves and, with ``--write``, write a draft
    config; 0 when something was proposed, 1 when nothing maps to a metric, 2 when the URL
    cannot be read or is not recognised (one line on stderr, never a traceback)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from connectors.discover import DiscoveryError, discover, draft_toml, listing

    out = out or sys.stdout
    location = None
    try:
        if args.timezone:
            ZoneInfo(args.timezone)
        if args.location:
            lat, lon = (float(part) for part in args.location.split(","))
            location = (lat, lon)
    except (ValueError, ZoneInfoNotFoundError):
        print("city-cockpit: --timezone is an IANA zone, --location is LAT,LON", file=sys.stderr)
        return 2
    try:
        found = discover(args.url, args.domain)
    except DiscoveryError as exc:
        print(f"city-cockpit: {exc}", file=sys.stderr)
        return 2
    print(listing(found), file=out)
    usable = [c for c in found.collections if c.domain and c.source]
    if args.write:
        text = draft_toml(found, args.timezone, args.name, location)
        Path(args.write).write_text(text + "\n", encoding="utf-8")
        print(f"draft written to {args.write}: check it with `city-cockpit check-config "
              f"{args.write}`", file=out)  # fmt: skip
    return 0 if usable else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``city-cockpit`` console script."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run(args)
    if args.command == "hash-password":
        return hash_password_command(args.password_stdin)
    if args.command == "backfill":
        return backfill_command(args)
    if args.command == "move-data":
        return move_data_command(args)
    if args.command == "discover":
        return discover_command(args)
    return check_config(args.file, args.offline, explain=args.explain, records=args.records)
