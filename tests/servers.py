"""Real Redis and PostgreSQL for the server-backend tests, on 127.0.0.1.

Each fixture uses the service already running on its usual port when it answers
(Redis on 6379, PostgreSQL on 5432 with trust auth for user ``postgres``), else starts
its own from the Debian packages on a free port in a temporary directory and stops it
at the end of the session: ``redis-server --save ''`` and ``initdb`` + ``pg_ctl`` (run as
the ``postgres`` user when the tests run as root). Set ``CITY_COCKPIT_TEST_OWN_SERVERS=1``
to always start private servers.

Every test session works in its own Redis key prefix and its own PostgreSQL schema and
removes them at the end, so parallel sessions and the city's real data never meet.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis

__all__ = [
    "pg_dsn",
    "pg_schema",
    "postgres_server",
    "redis_prefix",
    "redis_server",
    "redis_url",
]

REDIS_DEFAULT = "redis://127.0.0.1:6379/0"
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _own_only() -> bool:
    return os.environ.get("CITY_COCKPIT_TEST_OWN_SERVERS") == "1"


def _redis_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def _postgres_answers(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as db:
            db.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _wait(check: object, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {seconds} s")


@contextlib.contextmanager
def own_redis() -> Iterator[str]:
    """A private ``redis-server`` on a free port, without persistence."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait(lambda: _redis_answers(url), "redis-server")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


MOSQUITTO_DEFAULT = 1883


def mqtt_answers(port: int) -> bool:
    """True when a broker listens on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def own_mosquitto() -> Iterator[int]:
    """A private ``mosquitto`` on a free port of 127.0.0.1; yields the port."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait(lambda: mqtt_answers(port), "mosquitto")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def mosquitto() -> Iterator[int]:
    """The port of the local Mosquitto on 1883, or of a private one started here."""
    if not _own_only() and mqtt_answers(MOSQUITTO_DEFAULT):
        yield MOSQUITTO_DEFAULT
        return
    with own_mosquitto() as port:
        yield port


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    return Path(found[-1]).parent


@contextlib.contextmanager
def own_postgres() -> Iterator[str]:
    """A private PostgreSQL cluster (trust auth, user ``postgres``) on a free port."""
    bindir = _pg_bin()
    port = _free_port()
    root = Path(tempfile.mkdtemp(prefix="cc-pg-"))
    data = root / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log")]
    subprocess.run([*ctl, "-o", options, "-w", "start"], check=True, stdout=subprocess.DEVNULL)
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        _wait(lambda: _postgres_answers(dsn), "PostgreSQL")
        yield dsn
    finally:
        subprocess.run([*ctl, "-m", "fast", "-w", "stop"], check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


def _running_or_own(
    variable: str,
    default: str,
    answers: Callable[[str], bool],
    own: Callable[[], contextlib.AbstractContextManager[str]],
) -> Iterator[str]:
    """The address in ``variable`` (or ``default``) when a server answers there, else the
    address of a private one started by ``own`` for the session."""
    address = os.environ.get(variable, default)
    if not _own_only() and answers(address):
        yield address
        return
    with own() as started:
        yield started


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a Redis answering on 127.0.0.1 (running service or a private one)."""
    yield from _running_or_own("CITY_COCKPIT_TEST_REDIS", REDIS_DEFAULT, _redis_answers, own_redis)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The DSN of a PostgreSQL answering on 127.0.0.1 (running service or a private one)."""
    yield from _running_or_own(
        "CITY_COCKPIT_TEST_POSTGRES", POSTGRES_DEFAULT, _postgres_answers, own_postgres
    )


@pytest.fixture(scope="session")
def redis_url(redis_server: str) -> str:
    return redis_server


@pytest.fixture
def redis_prefix(redis_server: str) -> Iterator[str]:
    """A fresh key prefix for one test; its keys are deleted afterwards."""
    prefix = f"cc-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_server)
    keys = list(client.scan_iter(match=prefix + "*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def pg_dsn(postgres_server: str) -> str:
    return postgres_server


@pytest.fixture
def pg_schema(postgres_server: str) -> Iterator[str]:
    """A fresh PostgreSQL schema name for one test; dropped afterwards."""
    schema = f"cc_test_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(postgres_server, autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
