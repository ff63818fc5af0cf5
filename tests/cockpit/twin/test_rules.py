"""Alert rules: each condition on constructed series with known answers, the built-in
rules as rules of the same kind, the config's rules with errors naming file and key, and
a backtest over a real history store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from cockpit.config import AlertsConfig, CityConfig, RuleConfig, default_config_path, load_config
from cockpit.errors import ConfigError
from cockpit.model import observations_frame, sites_frame
from cockpit.state.embedded import HistoryStore
from cockpit.twin.alerts import air_alerts
from cockpit.twin.rules import (
    Rule,
    RuleError,
    backtest,
    builtin_rules,
    check_rule,
    evaluate_rule,
    evaluate_rules,
    quiet_until,
    rule_alerts,
    rule_severity,
    selected_sites,
)

START = pd.Timestamp("2026-11-20 00:00", tz="UTC")
ALERTS = AlertsConfig()
SITES = sites_frame(
    [
        {"id": "air:1", "name": "Station 1", "domain": "air", "lat": 0, "lon": 0, "source": "air"},
        {"id": "air:2", "name": "Station 2", "domain": "air", "lat": 0, "lon": 0, "source": "air"},
        {"id": "park:9", "name": "Car park 9", "domain": "parking", "lat": 0, "lon": 0},
        {"id": "ped:3", "name": "Counter 3", "domain": "pedestrians", "lat": 0, "lon": 0},
    ]
)


def obs(
    site: str, metric: str, values: list[float], start: pd.Timestamp = START, freq: str = "h"
) -> pd.DataFrame:
    times = pd.date_range(start, periods=len(values), freq=freq)
    return observations_frame(
        pd.DataFrame({"site_id": site, "metric": metric, "time": times, "value": values})
    )


def rule(rule_id: str = "r", **spec: object) -> Rule:
    return Rule(rule_id, RuleConfig.model_validate({"name": "A rule", **spec}))


def run(r: Rule, frame: pd.DataFrame, now: pd.Timestamp, start: pd.Timestamp = START) -> list:
    return evaluate_rule(r, frame, SITES, ALERTS, start.to_pydatetime(), now.to_pydatetime())


def hours(n: float) -> pd.Timedelta:
    return pd.Timedelta(hours=n)


# -- conditions --------------------------------------------------------------------------


def test_above_a_limit_opens_and_closes_with_hysteresis() -> None:
    r = rule(domain="air", metric="no2", when="above", limit=40, severity="high")
    frame = obs("air:1", "no2", [30, 41, 39, 39, 39, 30, 45])
    found = run(r, frame, START + hours(6))
    assert [(a.opened, a.closed) for a in found] == [
        (START + hours(1), START + hours(4)),  # three in a row below 40 close it
        (START + hours(6), None),
    ]
    assert found[1].key == f"r:air:1:{(START + hours(6)):%Y-%m-%dT%H:%MZ}"
    assert rule_severity(r, found[1]) == "high"
    assert found[1].value == 45 and found[1].limit == 40 and found[1].unit == "µg/m³"


def test_below_a_limit_mirrors_the_hysteresis_band() -> None:
    r = rule(domain="parking", metric="occupancy", when="below", limit=20, hysteresis=0.25)
    # 25 is above 20 but inside the band (20 × 1.25 = 25 keeps it open); 26 closes it.
    frame = obs("park:9", "occupancy", [50, 19, 25, 26, 40, 10])
    found = run(r, frame, START + hours(5))
    assert [(a.opened, a.closed) for a in found] == [
        (START + hours(1), START + hours(3)),
        (START + hours(5), None),
    ]
    assert found[0].value == 26 and found[1].value == 10  # the true values, not mirrored


def test_a_running_mean_compares_like_the_air_standard() -> None:
    r = rule(domain="air", metric="pm25", when="above", limit=15, mean_hours=24)
    frame = obs("air:1", "pm25", [10.0] * 24 + [40.0] * 24, start=START - hours(24))
    found = run(r, frame, START + hours(23))
    # The 24-hour mean reaches 15 once a sixth of the hours are at 40: (20·10 + 4·40)/24.
    assert len(found) == 1 and found[0].opened == START + hours(3)


def test_against_typical_by_a_factor() -> None:
    usual = [100.0] * 24
    weeks = [obs("ped:3", "pedestrians", usual, START - k * pd.Timedelta(weeks=1)) for k in (1, 2)]
    today = obs("ped:3", "pedestrians", [100, 120, 310, 320, 100, 100, 100, 100])
    frame = pd.concat([*weeks, today], ignore_index=True)
    r = rule(domain="pedestrians", metric="pedestrians", when="typical", factor=3, minimum=50)
    found = run(r, frame, START + hours(7))
    assert len(found) == 1 and found[0].opened == START + hours(2)
    assert found[0].limit == pytest.approx(300)


def test_no_data_for_a_duration() -> None:
    frame = pd.concat(
        [
            obs("air:1", "no2", [1, 1, 1], freq="15min"),  # 00:00 .. 00:30, then nothing
            obs("air:2", "no2", [1] * 12, freq="15min"),  # reports throughout
        ],
        ignore_index=True,
    )
    r = rule(domain="air", when="no_data", minutes=60)
    found = run(r, frame, START + hours(2.75))
    assert [(a.site_id, a.opened, a.closed) for a in found] == [("air:1", START + hours(1.5), None)]
    # A silence that ended closes its alert when the next reading comes.
    back = obs("air:1", "no2", [1], start=START + hours(2))
    closed = run(r, pd.concat([frame, back], ignore_index=True), START + hours(2.75))
    assert [(a.opened, a.closed) for a in closed if a.site_id == "air:1"] == [
        (START + hours(1.5), START + hours(2))
    ]


def test_a_car_park_full_for_n_minutes() -> None:
    r = rule(domain="parking", metric="occupancy", when="full_for", minutes=30, limit=95)
    # Every 10 minutes: full for 20 minutes (no alert), then full for 50 (an alert 30 in).
    values = [80, 96, 97, 80, 80, 80, 99, 99, 99, 99, 99, 99]
    found = run(r, obs("park:9", "occupancy", values, freq="10min"), START + hours(2))
    assert [a.opened for a in found] == [START + pd.Timedelta(minutes=90)]
    assert found[0].active


def test_a_sensor_health_state() -> None:
    frame = obs("air:1", "no2", [5, 6, 7, 8], start=START - hours(4))
    r = rule("dead-stations", domain="air", when="health", state="stale")
    found = run(r, frame, START + hours(3))
    assert [(a.rule, a.site_id) for a in found] == [("dead-stations", "air:1")]
    assert found[0].key.startswith("dead-stations:air:1:")


def test_a_rule_watches_its_sites_or_districts_only() -> None:
    sites = SITES.assign(district=["North", "South", "North", "South"])
    r = rule(domain="air", metric="no2", when="above", limit=1, districts=["South"])
    assert list(selected_sites(r, sites)["id"]) == ["air:2"]
    r = rule(domain="air", metric="no2", when="above", limit=1, sites=["air:1"])
    assert list(selected_sites(r, sites)["id"]) == ["air:1"]
    both = pd.concat([obs("air:1", "no2", [5]), obs("air:2", "no2", [5])], ignore_index=True)
    assert [a.site_id for a in run(r, both, START)] == ["air:1"]


def test_the_builtin_air_rules_give_the_alerts_of_the_air_standard() -> None:
    frame = pd.concat(
        [
            obs("air:1", "pm10", [20.0] * 24 + [90.0] * 24 + [10.0] * 30, START - hours(24)),
            obs("air:2", "no2", [10.0] * 24 + [70.0] * 40, START - hours(24)),
            obs("air:2", "o3", [150.0] * 30, START - hours(8)),
        ],
        ignore_index=True,
    )
    for standard in ("who2021", "eu"):
        config = AlertsConfig(air_standard=standard, air_limits={"pm25": 12})
        rules = [r for r in builtin_rules(config) if r.id.startswith("air.")]
        assert {r.id for r in rules} == {"air.pm25", "air.pm10", "air.no2", "air.o3"}
        mine = [
            a
            for r in rules
            for a in evaluate_rule(r, frame, SITES, config, START, START + hours(60))
        ]
        theirs = air_alerts(frame, SITES, config, START.to_pydatetime())
        assert sorted(mine, key=lambda a: a.key) == sorted(theirs, key=lambda a: a.key)
        assert theirs, "the series must open some alerts"
    health = [r.id for r in builtin_rules(ALERTS) if r.spec.when == "health"]
    assert health == ["sensor.stale", "sensor.silent", "sensor.flat", "sensor.impossible"]


def test_the_builtin_sensor_rules_give_the_sensor_health_alerts(tmp_path: Path) -> None:
    from cockpit.twin.sensor_health import health_alerts, read_health

    now = START + hours(30)
    history = HistoryStore(tmp_path)
    history.append(obs("air:1", "no2", [5, 6, 7, 8, 9, 10], start=now - hours(12)))  # stale
    history.append(obs("air:2", "no2", [7.0] * 12, start=now - hours(11)))  # flat
    history.append(obs("ped:3", "pedestrians", [-4, 10, 12, 30], start=now - hours(3)))
    try:
        start = START.to_pydatetime()
        theirs = health_alerts(read_health(history, SITES, now.to_pydatetime(), ALERTS), start)
        config = CityConfig.model_construct(alerts=ALERTS)
        mine = [
            a
            for r in builtin_rules(ALERTS)
            if r.spec.when == "health"
            for a in rule_alerts(r, config, history, SITES, start, now.to_pydatetime())
        ]
        assert {a.rule for a in theirs} >= {"sensor.stale", "sensor.flat", "sensor.impossible"}
        assert sorted(a.key for a in mine) == sorted(a.key for a in theirs)
    finally:
        history.close()


# -- quiet hours -------------------------------------------------------------------------


def test_quiet_hours_span_midnight_in_the_citys_time() -> None:
    spec = RuleConfig(name="x", domain="air", metric="no2", when="above", limit=1)
    spec.quiet_hours = "22:00-07:00"
    zone = "Europe/Berlin"  # UTC+1 in November
    at = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # 22:30 local
    assert quiet_until(spec, at, zone) == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    early = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)  # 06:00 local
    assert quiet_until(spec, early, zone) == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert quiet_until(spec, datetime(2026, 11, 21, 12, tzinfo=UTC), zone) is None
    spec.quiet_hours = ""
    assert quiet_until(spec, at, zone) is None


# -- what a rule must say ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"domain": "air", "metric": "no2", "when": "above"}, "needs limit"),
        ({"domain": "air", "metric": "no2", "when": "typical"}, "needs factor"),
        ({"domain": "air", "when": "no_data"}, "needs minutes"),
        ({"domain": "air", "when": "health"}, "needs state"),
        ({"domain": "air", "when": "above", "limit": 1}, "needs a metric"),
        ({"domain": "air", "metric": "occupancy", "when": "above", "limit": 1}, "not of the"),
        ({"domain": "air", "metric": "smog", "when": "above", "limit": 1}, "unknown metric"),
        ({"domain": "sky", "metric": "no2", "when": "above", "limit": 1}, "unknown domain"),
        (
            {"domain": "air", "metric": "no2", "when": "above", "limit": 1, "quiet_hours": "22-7"},
            "quiet_hours",
        ),
        (
            {"domain": "air", "metric": "no2", "when": "above", "limit": 1, "escalate_minutes": 5},
            "needs escalate_to",
        ),
    ],
)
def test_an_incomplete_rule_is_refused(spec: dict, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        RuleConfig.model_validate({"name": "x", **spec})


def test_check_rule_refuses_builtin_ids_and_unknown_channels() -> None:
    spec = RuleConfig(name="x", domain="air", metric="no2", when="above", limit=1)
    check_rule("no2-high", spec, ALERTS)
    with pytest.raises(RuleError, match="built-in"):
        check_rule("air.no2", spec, ALERTS)
    with pytest.raises(RuleError, match="rule id"):
        check_rule("No2 High", spec, ALERTS)
    spec.notify = ["phone", "ops-mail"]
    with pytest.raises(RuleError, match="'ops-mail' is no channel"):
        check_rule("no2-high", spec, ALERTS)


RULES_TOML = """
[alerts.channels.ops]
kind = "email"
to = ["ops@city.example"]

[alerts.channels.chat]
kind = "webhook"
url = "https://chat.example/hook"
secret_env = "CHAT_HOOK_SECRET"
format = "teams"

[alerts.rules.no2-high]
name = "NO2 high on the ring road"
domain = "air"
metric = "no2"
when = "above"
limit = 40
mean_hours = 1
severity = "high"
quiet_hours = "22:00-06:00"
notify = ["phone", "ops", "chat"]
escalate_minutes = 30
escalate_to = ["chat"]
"""


def city_file(tmp_path: Path, extra: str) -> Path:
    text = default_config_path().read_text(encoding="utf-8")
    demo = default_config_path().parent
    # Paths in the demo's file are relative to its folder.
    path = demo / f".rules-test-{tmp_path.name}.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_the_config_declares_rules_and_channels(tmp_path: Path) -> None:
    path = city_file(tmp_path, RULES_TOML)
    try:
        config = load_config(path)
    finally:
        path.unlink()
    spec = config.alerts.rules["no2-high"]
    assert spec.when == "above" and spec.limit == 40 and spec.notify == ["phone", "ops", "chat"]
    assert config.alerts.channels["chat"].format == "teams"


def test_the_config_routes_builtin_rules_to_channels(tmp_path: Path) -> None:
    extra = '\n[alerts.routes."air.pm25"]\nnotify = ["ops"]\nescalate_minutes = 60\n'
    path = city_file(tmp_path, RULES_TOML + extra + 'escalate_to = ["chat"]\n')
    try:
        config = load_config(path)
    finally:
        path.unlink()
    rules = {r.id: r for r in builtin_rules(config.alerts)}
    pm25 = rules["air.pm25"].spec
    assert pm25.notify == ["phone", "ops"] and pm25.escalate_to == ["chat"]
    assert pm25.escalate_minutes == 60 and pm25.limit == 15 and pm25.mean_hours == 24
    assert rules["air.no2"].spec.notify == ["phone"]


@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        (RULES_TOML.replace('"ops", "chat"]', '"ops", "pager"]'), "notify", "'pager'"),
        (RULES_TOML.replace("limit = 40\n", ""), "alerts.rules.no2-high", "needs limit"),
        (RULES_TOML.replace('to = ["ops@city.example"]', 'to = ["ops"]'), "to", "e-mail"),
        (RULES_TOML.replace("mean_hours", "mean_hour"), "mean_hour", "unknown key"),
        (RULES_TOML.replace('secret_env = "CHAT_HOOK_SECRET"\n', ""), "chat", "secret_env"),
        (RULES_TOML.replace("rules.no2-high", 'rules."air.no2"'), "air.no2", "[alerts.routes]"),
        (
            RULES_TOML + '\n[alerts.routes."air.pm25"]\nnotify = ["pager"]\n',
            "alerts.routes.air.pm25.notify",
            "'pager'",
        ),
        (RULES_TOML + '\n[alerts.routes."air.so2"]\nnotify = ["ops"]\n', "air.so2", "air.pm25"),
    ],
)
def test_a_wrong_rule_names_the_file_and_key(
    tmp_path: Path, extra: str, key: str, reason: str
) -> None:
    path = city_file(tmp_path, extra)
    try:
        with pytest.raises(ConfigError) as caught:
            load_config(path)
    finally:
        path.unlink()
    message = str(caught.value)
    assert path.name in message and key in message and reason in message


# -- over the history ----------------------------------------------------------------------


def test_backtest_counts_what_would_have_fired_last_week(
    tmp_path: Path, demo_config: CityConfig
) -> None:
    now = pd.Timestamp("2026-11-27 12:00", tz="UTC")
    history = HistoryStore(tmp_path)
    # Eight days of hourly NO2 at 20, with three afternoons at 60: two of them inside the
    # last seven days, one before.
    values = [20.0] * (8 * 24)
    start = now - pd.Timedelta(days=8)
    for day in (0, 3, 6):
        for hour in range(14, 18):
            values[day * 24 + hour] = 60.0
    history.append(obs("air:1", "no2", values, start))
    try:
        r = rule("no2-40", domain="air", metric="no2", when="above", limit=40)
        result = backtest(r, demo_config, history, SITES, now.to_pydatetime())
        assert result.fired == 2 and result.sites == 1
        expected = [start + pd.Timedelta(days=d, hours=14) for d in (3, 6)]
        assert [a.opened for a in result.alerts] == expected
        quieter = rule("no2-70", domain="air", metric="no2", when="above", limit=70)
        assert backtest(quieter, demo_config, history, SITES, now.to_pydatetime()).fired == 0
        # Live: only the enabled rules, over the alert window.
        assert evaluate_rules([r], demo_config, history, SITES, now.to_pydatetime())
        r.spec.enabled = False
        assert evaluate_rules([r], demo_config, history, SITES, now.to_pydatetime()) == []
    finally:
        history.close()


# -- the rule book -------------------------------------------------------------------------


def test_rules_written_in_the_browser_join_the_books_and_every_change_is_audited(
    tmp_path: Path, demo_config: CityConfig
) -> None:
    from cockpit.state.journal import Journal
    from cockpit.twin.rules import all_rules, save_rule, set_enabled

    demo_config.alerts.rules = {
        "crowd": RuleConfig(
            name="Crowd", domain="pedestrians", metric="pedestrians", when="typical", factor=3
        )
    }
    journal = Journal(tmp_path)
    try:
        spec = RuleConfig(name="NO2", domain="air", metric="no2", when="above", limit=40)
        save_rule(journal, demo_config, "no2-high", spec, "ada", "10.0.0.1", START)
        with pytest.raises(RuleError, match="built-in"):
            save_rule(journal, demo_config, "air.pm25", spec, "ada")
        books = {r.id: r for r in all_rules(demo_config, journal)}
        assert books["no2-high"].origin == "journal" and books["no2-high"].spec == spec
        assert books["crowd"].origin == "config" and books["air.pm25"].origin == "builtin"
        assert set_enabled(journal, demo_config, "crowd", False, "ada").enabled is False
        assert {r.id: r for r in all_rules(demo_config, journal)}["crowd"].enabled is False
        with pytest.raises(RuleError, match="always on"):
            set_enabled(journal, demo_config, "sensor.stale", False, "ada")
        log = [(e.actor, e.action, e.detail.split(" ")[0]) for e in journal.audit_log()]
        assert log == [
            ("ada", "rule disabled", "crowd"),
            ("ada", "rule saved", "no2-high"),
        ]
        assert journal.audit_log()[-1].address == "10.0.0.1"
    finally:
        journal.close()


def test_the_citys_phone_rules_join_the_alert_board_with_their_severity(
    tmp_path: Path, demo_config: CityConfig
) -> None:
    from cockpit.model import empty_observations
    from cockpit.twin.alerts import severity
    from cockpit.twin.panels import alert_board
    from cockpit.twin.rules import phone_rules

    now = pd.Timestamp("2026-11-21 12:00", tz="UTC")
    history = HistoryStore(tmp_path)
    history.append(obs("air:2", "no2", [10.0] * 11 + [30.0], start=now - hours(11)))
    shown = rule("no2-20", domain="air", metric="no2", when="above", limit=20)
    shown.spec.severity = "critical"
    mail_only = rule("no2-mail", domain="air", metric="no2", when="above", limit=20, notify=[])
    off = rule("no2-off", domain="air", metric="no2", when="above", limit=20, enabled=False)
    try:
        own = phone_rules([shown, mail_only, off, *builtin_rules(ALERTS)])
        assert [r.id for r in own] == ["no2-20"]
        board = alert_board(
            demo_config, history, SITES, empty_observations(), now.to_pydatetime(), own
        )
        (found,) = [a for a in board.alerts if a.rule == "no2-20"]
        assert found.site_id == "air:2" and found.active and severity(found) == "critical"
        assert not any(a.rule in ("no2-mail", "no2-off") for a in board.alerts)
    finally:
        history.close()
