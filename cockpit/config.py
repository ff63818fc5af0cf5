"""A city is one TOML file: its map, its sources, its layers and its KPI thresholds.

``load_config`` reads and validates the file with strict pydantic models; any mistake
raises ``ConfigError`` naming the file, the dotted key and what was expected, so the
app never starts half-configured.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cockpit import domains as registry
from cockpit.errors import ConfigError, WordedError
from cockpit.mapping import mapping_from_options
from cockpit.model import DOMAINS, METRICS
from cockpit.source import known_connectors

__all__ = [
    "AccessConfig",
    "AlertsConfig",
    "BackendConfig",
    "BriefConfig",
    "BriefRecipient",
    "ChannelConfig",
    "CityConfig",
    "KioskConfig",
    "KpiConfig",
    "LayerConfig",
    "MapConfig",
    "OidcConfig",
    "PrivacyConfig",
    "PushConfig",
    "ReportsConfig",
    "RuleConfig",
    "SecurityConfig",
    "SmtpConfig",
    "SourceConfig",
    "TargetConfig",
    "TwinConfig",
    "UserConfig",
    "default_config_path",
    "load_config",
]


def _registered_domain(value: str) -> str:
    if value not in registry.domain_names():
        known = ", ".join(repr(n) for n in registry.domain_names())
        raise ValueError(f"unknown domain {value!r}; expected one of {known}")
    return value


# A domain of the registry (``cockpit.domains``): the built-in ones and those the
# config's ``domains`` modules declare.
Domain = Annotated[str, AfterValidator(_registered_domain)]
Access = Literal["public", "internal"]
# "eaqi" colours air-quality sites by the worst pollutant's European AQI band.
LayerMetric = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: Any) -> Any:
        # TOML's `true` must not slip through as 1 where a number is expected.
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and annotation in (int, float, int | None, float | None):
            raise ValueError("expected a number, got a boolean")
        return value


class CityInfo(_Strict):
    name: str = Field(min_length=1)
    timezone: str
    # min_lon, min_lat, max_lon, max_lat: sites outside are rejected (catches swapped lat/lon).
    bbox: tuple[float, float, float, float]
    languages: list[str] = ["en"]

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Berlin')") from None
        return value

    @field_validator("bbox")
    @classmethod
    def _ordered_bbox(cls, value: tuple[float, float, float, float]) -> tuple[float, ...]:
        min_lon, min_lat, max_lon, max_lat = value
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ValueError("expected [min_lon, min_lat, max_lon, max_lat] in WGS84 degrees")
        return value


class MapConfig(_Strict):
    center: tuple[float, float]
    zoom: int = Field(ge=1, le=20)
    tile_url: str = ""
    tile_attribution: str = ""
    # A light offline basemap (GeoJSON polygons) drawn under the markers; path relative
    # to the config file. The map still shows the city when no tile can be loaded.
    basemap: str = ""
    basemap_label: str = ""
    basemap_attribution: str = ""


class UiConfig(_Strict):
    poll_seconds: float = Field(default=10, ge=1, le=3600)
    trend_hours: int = Field(default=24, ge=1, le=24 * 14)


class StorageConfig(_Strict):
    data_dir: str = ""
    history_days: int = Field(default=35, ge=1)
    # Days hourly rollups (mean, min, max per site, metric and hour) are kept: longer than
    # the raw observations, so a baseline can look at the same week last year.
    rollup_days: int = Field(default=400, ge=1)


def _env_name(value: str, what: str) -> str:
    if not value.replace("_", "").isalnum() or not value[:1].isalpha():
        raise ValueError(f"{what} must name an environment variable (e.g. CITY_API_KEY)")
    return value


# Connectors that can push, and how: a SensorThings platform over MQTT, an NGSI broker
# through subscriptions it notifies over HTTP.
_PUSH_KIND: dict[str, str] = {"sensorthings": "mqtt", "ngsi-ld": "notify", "ngsi-v2": "notify"}


class PushConfig(_Strict):
    """How a platform pushes new observations (``[sources.X] push = { … }``).

    Exactly one of ``mqtt`` (a SensorThings platform's MQTT broker) or ``notify_url``
    (the address of the cockpit's notification endpoint an NGSI broker posts to, with
    the shared secret in ``secret_env``) is given. A pushed source is still polled every
    ``poll_seconds`` as a safety net.
    """

    # e.g. "mqtt://broker:1883", "mqtts://broker:8883", "wss://broker/mqtt"
    mqtt: str | None = Field(default=None, pattern=r"^(mqtts?|wss?)://[^\s]+$")
    # 0: at most once, 1: at least once (observations are stored once however often they
    # come), 2: exactly once.
    qos: Literal[0, 1, 2] = 1
    # Topic prefix before "/Datastreams(id)/Observations" (default: the URL's version
    # segment, e.g. "v1.1").
    topic_prefix: str | None = None
    # The URL the broker posts notifications to, e.g.
    # "https://cockpit.example.org/push/ngsi/<source id>".
    notify_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # Environment variable holding the shared secret the broker sends with every
    # notification (or signs the body with, ``signature = "hmac-sha256"``).
    secret_env: str | None = None
    secret_header: str = Field(default="X-Cockpit-Push-Secret", pattern=r"^[A-Za-z0-9-]{1,64}$")
    # "secret": the header carries the secret itself; "hmac-sha256": it carries the hex
    # HMAC-SHA256 of the body under the secret (``sha256=`` prefix allowed).
    signature: Literal["secret", "hmac-sha256"] = "secret"
    # A broker subscription lasts twice this long and is renewed every ``renew_seconds``.
    renew_seconds: float = Field(default=3600, ge=10)
    # The safety-net poll of a pushed source (instead of ``refresh_seconds``).
    poll_seconds: float = Field(default=300, ge=1)
    # The lease that lets one process of all hold the platform subscription; the holder
    # renews it every third of this, another process takes over when it lapses.
    lease_seconds: float = Field(default=30, ge=3)

    @field_validator("secret_env")
    @classmethod
    def _secret_env_name(cls, value: str | None) -> str | None:
        return None if value is None else _env_name(value, "secret_env")

    @model_validator(mode="after")
    def _one_way(self) -> PushConfig:
        if (self.mqtt is None) == (self.notify_url is None):
            raise ValueError("push needs exactly one of mqtt or notify_url")
        if self.notify_url is not None and not self.secret_env:
            raise ValueError("push.notify_url needs secret_env (the shared secret's variable)")
        return self

    @property
    def kind(self) -> str:
        """``mqtt`` or ``notify``."""
        return "mqtt" if self.mqtt else "notify"


class SourceConfig(_Strict):
    connector: str = Field(min_length=1)
    name: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    licence_url: str = ""
    url: str = ""
    access: Access = "public"
    refresh_seconds: float = Field(default=60, ge=1)
    stale_after_seconds: float = Field(default=600, ge=1)
    # A stream (a site's metric) whose newest observation is older than this leaves the
    # KPIs and alerts and is named in sensor health (None: streams are not judged one by
    # one; sources whose values are states held until they change, such as parking
    # bays, leave it unset).
    stream_stale_after_seconds: float | None = Field(default=None, ge=1)
    # Hours of the source's own history read at first start, so trends are not empty.
    backfill_hours: float = Field(default=24, ge=0)
    # Days this source's observations are kept; shorter than storage.history_days for
    # data about people (None: the storage's retention).
    retention_days: float | None = Field(default=None, gt=0)
    # Names of environment variables holding secrets (never the secrets themselves).
    credentials: dict[str, str] = {}
    options: dict[str, Any] = {}
    # The platform pushes new observations (MQTT, NGSI notifications); None: polled only.
    push: PushConfig | None = None

    @field_validator("credentials")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key, env in value.items():
            _env_name(env, f"credentials.{key}")
        return value

    @model_validator(mode="after")
    def _push_fits(self) -> SourceConfig:
        if self.push is None:
            return self
        kind = _PUSH_KIND.get(self.connector)
        if kind is None:
            raise ValueError(f"push: the {self.connector!r} connector cannot receive pushes")
        if kind != self.push.kind:
            wanted = "push.mqtt" if kind == "mqtt" else "push.notify_url"
            raise ValueError(f"push: a {self.connector!r} source pushes through {wanted}")
        return self

    @property
    def poll_seconds(self) -> float:
        """Seconds between reads: ``refresh_seconds``, or the slower safety-net poll of a
        pushed source."""
        return self.push.poll_seconds if self.push else self.refresh_seconds


class LayerConfig(_Strict):
    domain: Domain
    title: str = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    metric: LayerMetric
    # Ascending limits between the states named in ``labels`` (len(labels) == len(thresholds)+1).
    thresholds: list[float] = []
    labels: list[str] = []
    access: Access = "public"

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value != "eaqi" and value not in METRICS:
            raise ValueError(
                f"metric {value!r} is unknown; expected 'eaqi' or one of {list(METRICS)}"
            )
        return value

    @field_validator("thresholds")
    @classmethod
    def _ascending(cls, value: list[float]) -> list[float]:
        if sorted(value) != value:
            raise ValueError("thresholds must be ascending")
        return value

    @field_validator("labels")
    @classmethod
    def _labels_fit(cls, value: list[str], info: Any) -> list[str]:
        metric = info.data.get("metric")
        thresholds = info.data.get("thresholds", [])
        if metric not in (None, "eaqi") and len(value) != len(thresholds) + 1:
            raise ValueError(
                "labels must have one more entry than thresholds "
                f"(expected {len(thresholds) + 1}, got {len(value)})"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _domain_defaults(cls, data: Any) -> Any:
        # A layer of its domain's map metric that gives neither thresholds nor labels
        # takes the domain's own map rule.
        if not isinstance(data, dict) or data.get("thresholds") or data.get("labels"):
            return data
        name = data.get("domain")
        if not isinstance(name, str) or name not in registry.domain_names():
            return data
        rule = registry.get(name).map
        if data.get("metric") == rule.metric and rule.labels:
            return {**data, "thresholds": list(rule.thresholds), "labels": list(rule.labels)}
        return data

    @model_validator(mode="after")
    def _labels_given(self) -> LayerConfig:
        # A layer that leaves its labels out entirely is not seen by the check above.
        if self.metric != "eaqi" and not self.labels:
            raise ValueError(
                "labels are missing: name each state, one more entry than thresholds "
                f"(e.g. {len(self.thresholds) + 1} labels)"
            )
        return self


class TargetConfig(_Strict):
    """A policy target a KPI is measured against, e.g. "annual mean NO₂ below 20 µg/m³ by
    2030": the mean of ``metric`` over the last ``window_days`` must be ``direction`` of
    ``value`` by the end of the year ``by``."""

    metric: str
    value: float
    by: int = Field(ge=2000, le=2100)
    direction: Literal["below", "above"] = "below"
    window_days: int = Field(default=365, ge=1, le=3660)
    # Where progress counts from (default: the earliest window in the history).
    start: date | None = None
    label: str = ""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"metric {value!r} is unknown; expected one of {list(METRICS)}")
        return value


class KpiConfig(_Strict):
    title: str = ""
    # Ascending warn / alert limits for the KPI's headline value.
    warn: float | None = None
    alert: float | None = None
    target: TargetConfig | None = None


Role = Literal["public", "staff", "executive"]
SignedInRole = Literal["staff", "executive"]


class UserConfig(_Strict):
    """A signed-in user: a role and an argon2 password hash (never a password)."""

    role: SignedInRole
    display_name: str = ""
    # The argon2 hash itself, or the name of an environment variable that holds it.
    password_hash: str = ""
    password_hash_env: str = ""


# What each role may do; checked on the server by every callback that changes state.
DEFAULT_ACTIONS: dict[str, list[Role]] = {
    "acknowledge_alert": ["staff", "executive"],
    "publish_notice": ["staff", "executive"],
    "write_decision": ["executive"],
    "read_audit": ["executive"],
    # Write, test, enable and disable alert rules (``/rules``); see the delivery log.
    "manage_rules": ["executive"],
    "moderate_reports": ["staff", "executive"],
    # Read the daily brief (PDF and HTML) of any day in the history (``/brief/<day>``).
    "read_brief": ["staff", "executive"],
}


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class OidcConfig(_Strict):
    """Single sign-on with an OpenID Connect provider (``[access.oidc]``).

    The provider's groups (or roles) claim decides the City Cockpit role through
    ``roles``; a user none of whose groups is mapped is refused. The client secret is
    read from the environment variable named in ``client_secret_env``, never from the
    file (empty: a public client, which PKCE alone protects).
    """

    # The provider's issuer; its discovery document is <issuer>/.well-known/openid-configuration.
    issuer: str = Field(pattern=r"^https?://[^\s?#]+$")
    client_id: str = Field(min_length=1)
    client_secret_env: str = ""
    scopes: list[str] = ["openid", "profile", "email"]
    # The claim holding the user's groups; dotted for a nested one ("realm_access.roles").
    groups_claim: str = Field(default="groups", min_length=1)
    # The claim naming the user in the audit log and the menu (then "email", then "sub").
    user_claim: str = Field(default="preferred_username", min_length=1)
    # Provider group -> City Cockpit role; a user with several gets the highest.
    roles: dict[str, SignedInRole] = Field(min_length=1)
    # The sign-in page's button reads "Sign in with <label>".
    label: str = Field(default="single sign-on", min_length=1, max_length=60)
    # Clock difference between the provider and the cockpit allowed for a token's times.
    leeway_seconds: int = Field(default=60, ge=0, le=600)

    @property
    def discovery_url(self) -> str:
        """Where the provider describes itself (OpenID Connect Discovery 1.0)."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @field_validator("issuer")
    @classmethod
    def _https_issuer(cls, value: str) -> str:
        host = value.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
        if value.startswith("http://") and host not in _LOOPBACK_HOSTS:
            raise ValueError("the issuer must be an https:// URL (plain http only on this machine)")
        return value

    @field_validator("client_secret_env")
    @classmethod
    def _secret_env_name(cls, value: str) -> str:
        return _env_name(value, "client_secret_env") if value else value

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("scopes must include 'openid'")
        return value


class AccessConfig(_Strict):
    users: dict[str, UserConfig] = {}
    oidc: OidcConfig | None = None
    actions: dict[str, list[Role]] = Field(default_factory=lambda: dict(DEFAULT_ACTIONS))


class KioskScreenConfig(_Strict):
    """One named set of kiosk screens (``/kiosk/<id>``), e.g. a station's portrait screen."""

    title: str = ""
    slides: list[str] = []
    languages: list[str] = []
    # Where the screens of this set stand, [lat, lon]: the parking slide then answers for
    # the places around them and marks "you are here" (empty: the whole city).
    position: list[float] = []
    # The name of that place for "you are here" (default: the set's title).
    place: str = ""

    @field_validator("position")
    @classmethod
    def _lat_lon(cls, value: list[float]) -> list[float]:
        if value and (len(value) != 2 or not -90 <= value[0] <= 90 or not -180 <= value[1] <= 180):
            raise ValueError("position is [latitude, longitude] in degrees")
        return value

    @field_validator("slides")
    @classmethod
    def _known_slides(cls, value: list[str]) -> list[str]:
        known = ("overview", *registry.domain_names(), "reports", "notices")
        for name in value:
            if name not in known:
                raise ValueError(
                    f"unknown slide {name!r}; expected one of {', '.join(map(repr, known))}"
                )
        return value


class KioskConfig(_Strict):
    rotate_seconds: float = Field(default=15, ge=3, le=600)
    reload_hours: float = Field(default=6, gt=0, le=168)
    # Languages the kiosk alternates through, one per rotation (default: city.languages).
    languages: list[str] = []
    # Dimmed colours between these local times ("HH:MM"); empty: never.
    night_start: str = ""
    night_end: str = ""
    # The phone view a passer-by opens from the kiosk's QR code.
    phone_url: str = ""
    screens: dict[str, KioskScreenConfig] = {}
    # The kiosks (``/kiosk?id=...``) listed on the staff's /kiosks page, besides the
    # screen names and the kiosks staff register there. Any other id is still served,
    # as a generic public kiosk, but not recorded or listed.
    ids: list[str] = []


class PrivacyConfig(_Strict):
    # Counts below this are shown as "< k" in the UI, exports and API (0: off).
    min_group_size: int = Field(default=0, ge=0)


class ReportsConfig(_Strict):
    # Citizens may report what looks wrong from the citizen page (``/report``).
    enabled: bool = True
    # Reports (and their photos) are purged this many days after they were made.
    keep_days: float = Field(default=90, gt=0, le=3650)
    # A reported position is kept as the centre of a grid cell this many metres wide.
    position_m: float = Field(default=100, ge=10, le=5000)
    # A photo larger than this is refused before it is decoded.
    photo_max_kb: int = Field(default=4096, ge=64, le=16384)
    # Reports one device may send per hour, and one network address (a shared one, e.g.
    # a station's Wi-Fi, serves many people, so it gets more).
    per_device_per_hour: int = Field(default=5, ge=1, le=1000)
    per_address_per_hour: int = Field(default=30, ge=1, le=10000)
    # The licence the published reports are given under as open data.
    licence: str = "CC BY 4.0"
    licence_url: str = "https://creativecommons.org/licenses/by/4.0/"


class SecurityConfig(_Strict):
    # Origins allowed to embed the cockpit's pages (CSP frame-ancestors); empty: none.
    frame_ancestors: list[str] = []
    # Session cookies only over HTTPS even when a request arrives as plain HTTP (set it
    # when a TLS proxy in front does not say X-Forwarded-Proto).
    https: bool = False
    # Reverse proxies in front of the cockpit whose X-Forwarded-For/-Proto/-Host are
    # trusted (0: none; the client address and scheme are the connection's own).
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    # A sign-in lasts this long, then the user signs in again.
    session_hours: float = Field(default=8, gt=0, le=24 * 30)
    # Sign-in attempts allowed per address and per user name at an address in the window.
    signin_attempts: int = Field(default=5, ge=1, le=1000)
    signin_window_minutes: float = Field(default=15, gt=0, le=24 * 60)


class BackendConfig(_Strict):
    # "embedded" (diskcache + SQLite files, no server) or "server" (Redis + PostgreSQL).
    kind: Literal["embedded", "server"] = "embedded"
    redis_url: str = ""
    postgres_dsn: str = Field(default="", validate_default=True)
    # Keys in Redis start with this prefix (default: "city-cockpit:<city name>:"), so
    # several cities can share one Redis.
    redis_prefix: str = ""
    # PostgreSQL schema holding the history and journal tables (created when missing).
    postgres_schema: str = Field(default="city_cockpit", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Celery's broker (default: redis_url). With the server backend, Celery workers do
    # the refreshing and web processes only serve.
    broker_url: str = ""

    @field_validator("postgres_dsn")
    @classmethod
    def _server_needs_urls(cls, value: str, info: Any) -> str:
        if info.data.get("kind") == "server":
            if not info.data.get("redis_url"):
                raise ValueError("kind = 'server' needs backend.redis_url")
            if not value:
                raise ValueError("kind = 'server' needs backend.postgres_dsn")
        return value


# -- alert rules and who hears them ------------------------------------------------------

# From the most to the least severe (as ``cockpit.twin.alerts.SEVERITIES``); "auto" grades
# an alert by how far past its limit it is (the built-in rules do).
RuleSeverity = Literal["critical", "high", "moderate", "low", "auto"]
# What a rule watches: a value above or below a limit, a value against its usual for the
# weekday and hour by a factor, no data for a while, a car park full for a while, or a
# sensor-health state.
RuleCondition = Literal["above", "below", "typical", "no_data", "full_for", "health"]
HealthState = Literal["stale", "silent", "flat", "impossible"]
# Where a rule's alerts go besides its channels: the staff's phone view.
PHONE = "phone"
_HHMM = r"(?:[01]\d|2[0-3]):[0-5]\d"


class RuleConfig(_Strict):
    """One alert rule (``[alerts.rules.<id>]``, or written on the ``/rules`` page).

    The condition ``when`` needs: ``limit`` for above / below (and full_for, default
    98 %), ``factor`` for typical, ``minutes`` for no_data and full_for, ``state`` for
    health. An empty ``sites`` and ``districts`` means every site of the domain.
    """

    name: str = Field(min_length=1, max_length=120)
    domain: Domain
    metric: str = ""
    when: RuleCondition
    sites: list[str] = Field(default=[], max_length=500)
    districts: list[str] = Field(default=[], max_length=100)
    limit: float | None = None
    factor: float | None = Field(default=None, ge=1, le=100)
    # Typical: the limit is at least this (so a quiet night's doubling does not alert).
    minimum: float = Field(default=0, ge=0)
    minutes: float | None = Field(default=None, gt=0, le=7 * 24 * 60)
    state: HealthState | None = None
    # The value compared is the running mean over this many hours (1: each reading).
    mean_hours: int = Field(default=1, ge=1, le=24 * 7)
    severity: RuleSeverity = "moderate"
    hysteresis: float = Field(default=0.1, ge=0, lt=1)
    close_after: int = Field(default=3, ge=1, le=100)
    # "22:00-07:00" local time: e-mails and webhooks wait until the quiet hours end
    # (critical alerts do not wait); empty: never quiet.
    quiet_hours: str = Field(default="", pattern=rf"^(?:{_HHMM}-{_HHMM})?$")
    enabled: bool = True
    # Channel names under [alerts.channels], and "phone" for the staff's phone view.
    notify: list[str] = Field(default=[PHONE], max_length=20)
    # Nobody acknowledged within this many minutes: ``escalate_to`` hears of it too.
    escalate_minutes: float | None = Field(default=None, gt=0, le=7 * 24 * 60)
    escalate_to: list[str] = Field(default=[], max_length=20)
    # How people read what is compared, e.g. "24-hour mean, WHO 2021 guideline".
    basis: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _condition_complete(self) -> RuleConfig:
        need = {
            "above": ("limit",),
            "below": ("limit",),
            "typical": ("factor",),
            "no_data": ("minutes",),
            "full_for": ("minutes",),
            "health": ("state",),
        }[self.when]
        for name in need:
            if getattr(self, name) is None:
                raise WordedError("when = '{when}' needs {field}", when=self.when, field=name)
        if self.when not in ("health", "no_data") and not self.metric:
            raise WordedError("when = '{when}' needs a metric", when=self.when)
        if self.metric:
            known = METRICS.get(self.metric)
            if known is None:
                raise WordedError(
                    "unknown metric '{metric}'; expected one of {known}",
                    metric=self.metric,
                    known=list(METRICS),
                )
            if known.domain != self.domain:
                raise WordedError(
                    "metric '{metric}' is not of the domain '{domain}'",
                    metric=self.metric,
                    domain=self.domain,
                )
        if self.escalate_minutes is not None and not self.escalate_to:
            raise WordedError("escalate_minutes needs escalate_to (who hears of it then)")
        return self


class ChannelConfig(_Strict):
    """Somewhere alerts are sent (``[alerts.channels.<name>]``): e-mail to addresses, or
    a webhook posting JSON signed with HMAC-SHA256 under the secret in ``secret_env``."""

    kind: Literal["email", "webhook"]
    to: list[str] = Field(default=[], max_length=50)
    url: str = Field(default="", pattern=r"^(https?://[^\s]+)?$")
    secret_env: str = ""
    # "json": the cockpit's own body; "teams" / "slack": a body those accept as it is.
    format: Literal["json", "teams", "slack"] = "json"

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c.isspace() for c in address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value

    @field_validator("secret_env")
    @classmethod
    def _secret_env_name(cls, value: str) -> str:
        return value and _env_name(value, "secret_env")

    @model_validator(mode="after")
    def _complete(self) -> ChannelConfig:
        if self.kind == "email" and not self.to:
            raise ValueError("an email channel needs to (the addresses)")
        if self.kind == "webhook" and not self.url:
            raise ValueError("a webhook channel needs url")
        if self.kind == "webhook" and not self.secret_env:
            raise ValueError("a webhook channel needs secret_env (the shared secret's variable)")
        return self


class SmtpConfig(_Strict):
    """The mail server alerts are sent through (stdlib ``smtplib``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "city-cockpit@localhost"
    starttls: bool = False
    user_env: str = ""
    password_env: str = ""
    timeout_seconds: float = Field(default=10, gt=0, le=120)


# The built-in rules (``cockpit.twin.rules.builtin_rules``), which ``[alerts.routes]``
# may send to channels.
BUILTIN_RULES = (
    "air.pm25",
    "air.pm10",
    "air.no2",
    "air.o3",
    "sensor.stale",
    "sensor.silent",
    "sensor.flat",
    "sensor.impossible",
)


class RouteConfig(_Strict):
    """Who hears a built-in rule (``[alerts.routes."air.pm25"]``), as a city's own rule
    says it (the phone view shows the built-in alerts anyway)."""

    notify: list[str] = Field(default=[], max_length=20)
    escalate_minutes: float | None = Field(default=None, gt=0, le=7 * 24 * 60)
    escalate_to: list[str] = Field(default=[], max_length=20)
    quiet_hours: str = Field(default="", pattern=rf"^(?:{_HHMM}-{_HHMM})?$")

    @model_validator(mode="after")
    def _escalation_complete(self) -> RouteConfig:
        if self.escalate_minutes is not None and not self.escalate_to:
            raise ValueError("escalate_minutes needs escalate_to (who hears of it then)")
        return self


class AlertsConfig(_Strict):
    """Alert rules (``cockpit.twin.alerts``) and sensor-health limits
    (``cockpit.twin.sensor_health``)."""

    # Air-quality limits: "who2021" (WHO 2021 guideline levels) or "eu" (EU limit and
    # target values, Directive 2008/50/EC); each pollutant keeps its averaging period.
    air_standard: Literal["who2021", "eu"] = "who2021"
    # Limits in µg/m³ replacing the standard's for some pollutants, e.g. { pm10 = 40 }.
    air_limits: dict[Literal["pm25", "pm10", "no2", "o3"], float] = {}
    # An area's (and the city's) parking occupancy in percent that opens an alert.
    parking_occupancy: float = Field(default=90, gt=0, le=100)
    # Crowding: a count above all of factor × the usual (median of the same weekday and
    # hour over the previous weeks), usual + mads × MAD, and the minimum, opens an alert.
    crowding_factor: float = Field(default=2.0, ge=1)
    crowding_mads: float = Field(default=5.0, ge=0)
    crowding_minimum: float = Field(default=200, ge=0)
    crowding_weeks: int = Field(default=4, ge=1, le=8)
    # Congestion: an intersection's hourly vehicle flow above both factor × its usual for
    # the weekday and hour (same weeks as crowding) and the minimum opens an alert.
    congestion_factor: float = Field(default=1.5, ge=1)
    congestion_minimum: float = Field(default=600, ge=0)
    # Hysteresis: an open alert closes when the value falls below limit × (1 − hysteresis),
    # or after ``close_after`` consecutive samples below the limit.
    hysteresis: float = Field(default=0.1, ge=0, lt=1)
    close_after: int = Field(default=3, ge=1)
    # Hours of history the alert state machine runs over.
    window_hours: float = Field(default=48, ge=1, le=24 * 14)
    # Sensor health: stale after stale_factor × the site's reporting interval, silent
    # after silent_hours; a flat line is flat_readings equal readings in a row.
    stale_factor: float = Field(default=3, ge=1)
    silent_hours: float = Field(default=24, gt=0)
    flat_readings: int = Field(default=8, ge=2)
    # The city's own rules, and where alerts are sent (see ``RuleConfig``).
    rules: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")], RuleConfig] = {}
    channels: dict[str, ChannelConfig] = {}
    routes: dict[Literal[BUILTIN_RULES], RouteConfig] = {}  # type: ignore[valid-type]
    smtp: SmtpConfig = SmtpConfig()
    # More new alerts than this for one channel at once go out as one digest.
    digest_after: int = Field(default=5, ge=1, le=1000)
    # A failed delivery is tried again after retry_seconds, doubling each time, at most
    # retry_attempts times in all.
    retry_attempts: int = Field(default=6, ge=1, le=50)
    retry_seconds: float = Field(default=30, gt=0, le=24 * 3600)


class BriefRecipient(_Strict):
    """Someone who gets the daily brief by e-mail (``[brief.recipients.<id>]``): where,
    at what time of the city's day, and in which of the city's languages."""

    to: list[str] = Field(min_length=1, max_length=20)
    time: str = Field(default="07:00", pattern=rf"^{_HHMM}$")
    language: str = "en"

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c.isspace() for c in address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


class BriefConfig(_Strict):
    """The daily brief (``cockpit.present.brief``): the moment of the day it describes,
    and who gets it by e-mail (through ``[alerts.smtp]``)."""

    # The city's wall-clock time the brief of a day stands at: the night before is
    # "yesterday", the needs-attention list and the KPIs are those of this moment.
    as_of: str = Field(default="07:00", pattern=rf"^{_HHMM}$")
    # Most items in the needs-attention list and in each list of alerts.
    items: int = Field(default=5, ge=1, le=20)
    recipients: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")], BriefRecipient
    ] = {}


class TwinConfig(_Strict):
    """The digital twin's analytics: baselines, anomalies, forecasts, pairs, CO₂."""

    # Traffic sites are paired with the nearest air-quality station within this distance.
    max_pair_km: float = Field(default=2.0, gt=0, le=50)
    # A site is unusual now when its robust score |value − median| / spread reaches this.
    anomaly_z: float = Field(default=3.5, gt=0)
    # Markers turn "well below" / "well above" their usual from this robust score on.
    band_z: float = Field(default=2.0, gt=0)
    # Weeks of the same weekday and hour a baseline is the median of, and the fewest needed.
    baseline_weeks: int = Field(default=4, ge=1, le=12)
    min_weeks: int = Field(default=2, ge=1, le=12)
    forecast_hours: int = Field(default=3, ge=1, le=48)
    # Share of the recent deviation from the profile a forecast keeps per hour ahead.
    forecast_decay: float = Field(default=0.7, ge=0, le=1)
    # Days of history the forecast model is fitted on (0: the decay rule only).
    forecast_fit_days: int = Field(default=14, ge=0, le=56)
    # Road-traffic CO₂ estimate: grams per vehicle-kilometre and kilometres each counted
    # vehicle is assumed to drive in the city; ``co2_source`` says where the factor is from.
    co2_g_per_vehicle_km: float = Field(default=180, gt=0, le=5000)
    km_per_counted_vehicle: float = Field(default=1.0, gt=0, le=100)
    co2_source: str = ""
    # The 3D view (``/twin3d``, ``cockpit.twin.hexgrid``): the hexagons' width in km, and
    # the most columns it draws; a layer with more sites than that is binned in hexagons.
    hexagon_km: float = Field(default=0.5, ge=0.05, le=50)
    max_columns: int = Field(default=300, ge=1, le=5000)


class CityConfig(_Strict):
    # Modules declaring more domains (``DOMAIN = Domain(...)``), e.g. ["mycity.bikes"];
    # imported and registered before the rest of the file is read.
    domains: list[str] = []
    city: CityInfo
    map: MapConfig
    ui: UiConfig = UiConfig()
    storage: StorageConfig = StorageConfig()
    sources: dict[str, SourceConfig] = Field(min_length=1)
    layers: dict[str, LayerConfig] = Field(min_length=1)
    kpis: dict[str, KpiConfig] = {}
    access: AccessConfig = AccessConfig()
    kiosk: KioskConfig = KioskConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    reports: ReportsConfig = ReportsConfig()
    security: SecurityConfig = SecurityConfig()
    backend: BackendConfig = BackendConfig()
    alerts: AlertsConfig = AlertsConfig()
    twin: TwinConfig = TwinConfig()
    brief: BriefConfig = BriefConfig()
    # The file's own words (titles, labels, names; written in English, as the code's
    # messages are) in the city's other languages: [translations.de] "Bike traffic" =
    # "Radverkehr". Each key must be one of ``texts()``.
    translations: dict[str, dict[str, str]] = {}
    # Directory of the config file: relative paths in it resolve against this.
    base_dir: Path = Path(".")
    file: str = ""

    @model_validator(mode="before")
    @classmethod
    def _load_domains(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("domains"), list):
            paths = [p for p in data["domains"] if isinstance(p, str)]
            registry.load_domain_modules(paths, str(data.get("file") or ""), "domains")
        return data

    def texts(self) -> list[str]:
        """The words of this file that viewers read, each once: source names, layer titles
        and state labels, KPI titles, target labels, kiosk screen titles and places, the
        single sign-on button's label."""
        found = [s.name for s in self.sources.values()]
        for layer in self.layers.values():
            found += [layer.title, *layer.labels]
        for kpi in self.kpis.values():
            found += [kpi.title, kpi.target.label if kpi.target else ""]
        for screen in self.kiosk.screens.values():
            found += [screen.title, screen.place]
        if self.access.oidc is not None:
            found.append(self.access.oidc.label)
        return list(dict.fromkeys(t for t in found if t))

    def resolve(self, relative: str) -> Path:
        """A path from the config, resolved against the config file's folder."""
        return (self.base_dir / relative).resolve()

    def data_dir(self) -> Path:
        """Where snapshots and history live: the config's, else ``$CITY_COCKPIT_DATA``,
        else the user's cache folder, one subfolder per city."""
        if self.storage.data_dir:
            return self.resolve(self.storage.data_dir)
        root = os.environ.get("CITY_COCKPIT_DATA") or os.environ.get("XDG_CACHE_HOME")
        base = Path(root) if root else Path.home() / ".cache"
        if not os.environ.get("CITY_COCKPIT_DATA"):
            base = base / "city-cockpit"
        slug = "".join(c if c.isalnum() else "-" for c in self.city.name.lower())
        return base / slug

    def sources_for(self, domain: str) -> list[str]:
        """Source ids that feed a domain's layers."""
        return sorted(
            {s for lay in self.layers.values() if lay.domain == domain for s in lay.sources}
        )


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _reason(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (check its spelling; see the demo city's file for the known keys)"
    if error["type"] == "missing":
        return "required key is missing"
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ")


def load_config(path: str | os.PathLike[str]) -> CityConfig:
    """Read and validate a city config file.

    Returns the validated ``CityConfig``. Raises ``ConfigError`` (file, key, reason) for a
    missing file, a TOML syntax error, an unknown or missing key, a wrong value or a
    reference to an unknown source or connector.
    """
    file = Path(path)
    name = str(file)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(name, "(file)", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(name, "(syntax)", f"not valid TOML: {exc}") from None
    for reserved in ("base_dir", "file"):
        if reserved in raw:
            raise ConfigError(name, reserved, "unknown key (reserved by City Cockpit)")
    try:
        config = CityConfig.model_validate({**raw, "base_dir": file.parent.resolve(), "file": name})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(name, _key_path(first["loc"]), _reason(dict(first))) from None
    _check_references(config)
    _check_connectors(config)
    _check_files(config)
    _check_translations(config)
    _check_brief(config)
    return config


def _check_brief(config: CityConfig) -> None:
    """Each brief recipient reads one of the city's languages."""
    for rid, recipient in config.brief.recipients.items():
        if recipient.language not in config.city.languages:
            raise ConfigError(
                config.file,
                f"brief.recipients.{rid}.language",
                f"the city does not offer {recipient.language!r} (city.languages: "
                f"{', '.join(config.city.languages)})",
            )


def _check_translations(config: CityConfig) -> None:
    """Each ``[translations.<lang>]`` is for a language the city offers and translates
    only the file's own words (a key that matches none is a typo that would stay
    English), into something."""
    texts = set(config.texts())
    for language, table in config.translations.items():
        key = f"translations.{language}"
        if language not in config.city.languages:
            raise ConfigError(
                config.file,
                key,
                f"the city does not offer {language!r} (city.languages: "
                f"{', '.join(config.city.languages)})",
            )
        for text, translated in table.items():
            if text not in texts:
                raise ConfigError(
                    config.file,
                    f"{key}.{text}",
                    "no title, label or name of this file reads so (translations are of "
                    "the file's own words)",
                )
            if not translated.strip():
                raise ConfigError(config.file, f"{key}.{text}", "the translation is empty")


def _check_references(config: CityConfig) -> None:
    for layer_id, layer in config.layers.items():
        for source in layer.sources:
            if source not in config.sources:
                raise ConfigError(
                    config.file,
                    f"layers.{layer_id}.sources",
                    f"names {source!r}, which is not under [sources] "
                    f"(have: {', '.join(config.sources)})",
                )
    for action in config.access.actions:
        if action not in DEFAULT_ACTIONS:
            raise ConfigError(
                config.file,
                f"access.actions.{action}",
                f"unknown action; expected one of {sorted(DEFAULT_ACTIONS)}",
            )
    for rule_id in config.alerts.rules:
        if rule_id in BUILTIN_RULES:
            raise ConfigError(
                config.file,
                f"alerts.rules.{rule_id}",
                "is a built-in rule; route it under [alerts.routes] instead",
            )
    routed: list[tuple[str, RuleConfig | RouteConfig]] = [
        (f"alerts.rules.{i}", r) for i, r in config.alerts.rules.items()
    ]
    routed += [(f"alerts.routes.{i}", r) for i, r in config.alerts.routes.items()]
    for where, rule in routed:
        for key in ("notify", "escalate_to"):
            for name in getattr(rule, key):
                if name != PHONE and name not in config.alerts.channels:
                    raise ConfigError(
                        config.file,
                        f"{where}.{key}",
                        f"names {name!r}, which is neither 'phone' nor under [alerts.channels]"
                        f" (have: {', '.join(config.alerts.channels) or 'none'})",
                    )
    known_kpis = registry.kpi_names()
    for name in config.kpis:
        if name not in known_kpis:
            raise ConfigError(
                config.file, f"kpis.{name}", f"unknown KPI; expected one of {known_kpis}"
            )


def _check_connectors(config: CityConfig) -> None:
    known = known_connectors()
    for source_id, source in config.sources.items():
        mapping_from_options(source.options, config.file, f"sources.{source_id}.options")
        if source.connector not in known:
            raise ConfigError(
                config.file,
                f"sources.{source_id}.connector",
                f"unknown connector {source.connector!r}; expected one of {sorted(known)}",
            )


def _check_files(config: CityConfig) -> None:
    if config.map.basemap and not config.resolve(config.map.basemap).is_file():
        raise ConfigError(config.file, "map.basemap", f"no such file {config.map.basemap!r}")
    for layer_id, layer in config.layers.items():
        if layer.domain not in DOMAINS:  # pragma: no cover - Literal already guards
            raise ConfigError(config.file, f"layers.{layer_id}.domain", "unknown domain")


def default_config_path() -> Path:
    """The embedded demo city's config, shipped in the repository's ``cities/`` folder."""
    return Path(__file__).resolve().parent.parent / "cities" / "demo-melbourne.toml"
