"""City config files: the demo city loads, and every kind of mistake a person can make in a
city's TOML file stops the cockpit with a ``ConfigError`` that names the file, the dotted
key and what was expected.

Each broken file is the demo city's text with exactly one change, written to a temporary
folder; its data paths point back at the shipped ``cities/demo-melbourne/`` folder so the
only mistake in it is the one under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cockpit.config import CityConfig, KioskScreenConfig, default_config_path, load_config
from cockpit.errors import ConfigError
from cockpit.model import METRICS
from cockpit.present.i18n import available_languages, untranslated, use_city_texts
from tests.city_toml import city_tables

DEMO = default_config_path()
DEMO_DATA = DEMO.parent / "demo-melbourne"
CITIES = DEMO.parent  # the shipped city files


def demo_text() -> str:
    """The demo city's TOML with its data paths made absolute."""
    return DEMO.read_text(encoding="utf-8").replace("demo-melbourne/", f"{DEMO_DATA}/")


def write_variant(folder: Path, old: str, new: str) -> Path:
    """The demo city's file with the one occurrence of ``old`` replaced by ``new``."""
    text = demo_text()
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the demo config"
    path = folder / "city.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def assert_config_error(error: ConfigError, path: Path, key: str, reason: str) -> None:
    """The error names the file and the key, says what was expected, and prints all three."""
    assert error.file == str(path)
    assert error.key == key
    assert reason in error.reason
    assert str(path) in str(error)
    assert key in str(error)
    assert error.reason in str(error)


# --- the demo city --------------------------------------------------------------------------


def test_default_config_path_is_the_shipped_demo_city() -> None:
    assert DEMO.is_file()
    assert DEMO.name == "demo-melbourne.toml"
    assert DEMO_DATA.is_dir()


def test_demo_config_loads_and_is_complete() -> None:
    config = load_config(DEMO)
    assert isinstance(config, CityConfig)
    assert config.file == str(DEMO)
    assert config.base_dir == DEMO.parent.resolve()
    assert config.city.timezone == "Australia/Melbourne"
    min_lon, min_lat, max_lon, max_lat = config.city.bbox
    # The map centre (lat, lon) lies inside the city's bounding box.
    lat, lon = config.map.center
    assert min_lon < lon < max_lon and min_lat < lat < max_lat
    assert set(config.sources) == {"pedestrians", "traffic", "air", "parking"}
    assert set(config.layers) == {"pedestrians", "traffic", "air", "parking"}
    assert all(s.connector == "melbourne-replay" for s in config.sources.values())
    for layer in config.layers.values():
        assert set(layer.sources) <= set(config.sources)
        assert layer.metric == "eaqi" or layer.metric in METRICS
    assert config.resolve(config.map.basemap).is_file()
    # Every data file a source names ships with the demo city.
    for source in config.sources.values():
        for relative in source.options["files"].values():
            assert config.resolve(relative).is_file(), relative
    assert config.kpis["parking"].warn == 85
    assert config.kpis["parking"].alert == 95


def test_demo_text_with_absolute_data_paths_loads(tmp_path: Path) -> None:
    """The variant files below differ from a valid file only by the change each one makes."""
    path = tmp_path / "city.toml"
    path.write_text(demo_text(), encoding="utf-8")
    config = load_config(path)
    assert config.base_dir == tmp_path.resolve()
    assert config.resolve(config.map.basemap) == DEMO_DATA / "clue-small-areas.geojson"


def test_credentials_naming_an_environment_variable_are_accepted(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path, "[sources.air]\n", '[sources.air]\ncredentials = { api_key = "EPA_API_KEY" }\n'
    )
    assert load_config(path).sources["air"].credentials == {"api_key": "EPA_API_KEY"}


# --- one mistake each -----------------------------------------------------------------------

# The air source's refresh line, with enough context to occur only once in the file.
AIR_REFRESH = (
    "refresh_seconds = 60\nstale_after_seconds = 7200\nbackfill_hours = 672\n"
    'options = { dataset = "air"'
)

MISTAKES = [
    pytest.param(
        AIR_REFRESH,
        AIR_REFRESH.replace("refresh_seconds", "refresh_second"),
        "sources.air.refresh_second",
        "unknown key",
        id="typo-in-source-key",
    ),
    pytest.param(
        "[kpis.traffic]",
        "[kpis.trafic]",
        "kpis.trafic",
        "unknown",
        id="typo-in-kpi-name",
    ),
    pytest.param(
        'name = "Melbourne (demo)"\n',
        "",
        "city.name",
        "required key is missing",
        id="missing-city-name",
    ),
    pytest.param(
        'publisher = "EPA Victoria"\n',
        "",
        "sources.air.publisher",
        "required key is missing",
        id="missing-source-publisher",
    ),
    pytest.param(
        AIR_REFRESH,
        AIR_REFRESH.replace("refresh_seconds = 60", "refresh_seconds = -5"),
        "sources.air.refresh_seconds",
        "greater than or equal to 1",
        id="negative-refresh",
    ),
    pytest.param(
        AIR_REFRESH,
        AIR_REFRESH.replace("refresh_seconds = 60", "refresh_seconds = true"),
        "sources.air.refresh_seconds",
        "",  # any wording; a boolean is not a number of seconds
        id="boolean-refresh",
    ),
    pytest.param("zoom = 12", "zoom = 40", "map.zoom", "less than or equal to 20", id="zoom-40"),
    pytest.param(
        "zoom = 12", 'zoom = "twelve"', "map.zoom", "valid integer", id="zoom-not-a-number"
    ),
    pytest.param(
        'timezone = "Australia/Melbourne"',
        'timezone = "Australia/Melborne"',
        "city.timezone",
        "unknown IANA time zone",
        id="timezone-typo",
    ),
    pytest.param(
        'timezone = "Australia/Melbourne"',
        'timezone = "Australia"',
        "city.timezone",
        "unknown IANA time zone",
        id="timezone-region-only",
    ),
    pytest.param(
        "bbox = [144.55, -38.05, 145.40, -37.55]",
        "bbox = [145.40, -38.05, 144.55, -37.55]",
        "city.bbox",
        "[min_lon, min_lat, max_lon, max_lat]",
        id="bbox-unordered",
    ),
    pytest.param(
        'sources = ["traffic"]',
        'sources = ["trafic"]',
        "layers.traffic.sources",
        "'trafic', which is not under [sources]",
        id="layer-names-unknown-source",
    ),
    pytest.param(
        'domain = "traffic"',
        'domain = "transport"',
        "layers.traffic.domain",
        "'traffic'",
        id="layer-unknown-domain",
    ),
    pytest.param(
        'connector = "melbourne-replay"\nname = "SCATS',
        'connector = "melbourne-replai"\nname = "SCATS',
        "sources.traffic.connector",
        "unknown connector 'melbourne-replai'; expected one of",
        id="unknown-connector",
    ),
    pytest.param(
        "[sources.air]\n",
        '[sources.air]\ncredentials = { api_key = "sk-live-12345" }\n',
        "sources.air.credentials",
        "credentials.api_key must name an environment variable",
        id="credentials-hold-a-secret",
    ),
    pytest.param(
        'labels = ["quiet", "busy", "crowded"]',
        'labels = ["quiet", "busy"]',
        "layers.pedestrians.labels",
        "labels must have one more entry than thresholds",
        id="labels-thresholds-mismatch",
    ),
    pytest.param(
        'labels = ["quiet", "busy", "crowded"]',
        "",
        "layers.pedestrians",
        "labels are missing",
        id="labels-missing",
    ),
    pytest.param(
        'metric = "vehicle_flow"',
        'metric = "vehicle_flows"',
        "layers.traffic.metric",
        "metric 'vehicle_flows' is unknown",
        id="unknown-layer-metric",
    ),
    pytest.param(
        "clue-small-areas.geojson",
        "clue-small-area.geojson",
        "map.basemap",
        "no such file",
        id="basemap-missing",
    ),
    pytest.param("zoom = 12", "zoom = = 12", "(syntax)", "not valid TOML", id="toml-syntax"),
    pytest.param(
        "hexagon_km = 0.5",
        "hexagon_km = 0",
        "twin.hexagon_km",
        "greater than or equal to 0.05",
        id="hexagon-size-zero",
    ),
    pytest.param(
        "hexagon_km = 0.5",
        'hexagon_km = "half a km"',
        "twin.hexagon_km",
        "valid number",
        id="hexagon-size-not-a-number",
    ),
    pytest.param(
        "hexagon_km = 0.5",
        "hexagon_km = 80",
        "twin.hexagon_km",
        "less than or equal to 50",
        id="hexagon-size-beyond-a-city",
    ),
    pytest.param(
        "max_columns = 300",
        "max_columns = 0",
        "twin.max_columns",
        "greater than or equal to 1",
        id="max-columns-zero",
    ),
    pytest.param(
        "max_columns = 300",
        "max_columns = 2.5",
        "twin.max_columns",
        "valid integer",
        id="max-columns-fraction",
    ),
    pytest.param(
        "max_columns = 300",
        "max_columns = true",
        "twin.max_columns",
        "expected a number, got a boolean",
        id="max-columns-boolean",
    ),
    pytest.param(
        "max_columns = 300",
        "max_column = 300",
        "twin.max_column",
        "unknown key",
        id="max-columns-typo",
    ),
    pytest.param(
        "[translations.de]",
        "[translations.fr]",
        "translations.fr",
        "the city does not offer 'fr'",
        id="translation-unoffered-language",
    ),
    pytest.param(
        '"SCATS traffic signal volumes" =',
        '"SCATS trafic signal volumes" =',
        "translations.de.SCATS trafic signal volumes",
        "no title, label or name of this file reads so",
        id="translation-of-no-text",
    ),
    pytest.param(
        '"Luftmessnetz, Stundenmittel"',
        '"  "',
        "translations.de.Air monitoring, hourly averages",
        "the translation is empty",
        id="translation-empty",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "reason"), MISTAKES)
def test_one_mistake_gives_config_error(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    path = write_variant(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_config_error(caught.value, path, key, reason)


def test_syntax_error_says_where(tmp_path: Path) -> None:
    """The TOML reason carries the parser's line, so a person finds the broken line."""
    path = write_variant(tmp_path, "zoom = 12", "zoom = = 12")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = demo_text().splitlines().index("zoom = 12") + 1
    assert f"line {line}" in caught.value.reason


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "no-such-city.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_config_error(caught.value, path, "(file)", "no such file")


@pytest.mark.parametrize("reserved", ["base_dir", "file"])
def test_reserved_keys_are_refused(tmp_path: Path, reserved: str) -> None:
    """``base_dir`` and ``file`` are set by the cockpit, never by the city's file."""
    path = write_variant(tmp_path, "[city]\n", f'{reserved} = "/etc"\n\n[city]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_config_error(caught.value, path, reserved, "unknown key")


# -- push = { … }: how a platform pushes, checked like the rest -------------------------


def push_city(folder: Path, connector: str, push: str) -> Path:
    """A one-source city whose ``connector`` source has ``push = {push}``."""
    text = city_tables("Test city", "Europe/Madrid", [-4.8, 41.58, -4.66, 41.7], (41.65, -4.73), 13)
    text += (
        f'[sources.s]\nconnector = "{connector}"\nname = "S"\npublisher = "P"\n'
        f'licence = "CC BY 4.0"\nurl = "http://127.0.0.1:9/v1.1"\npush = {{ {push} }}\n'
        '\n[layers.t]\ndomain = "traffic"\ntitle = "T"\nsources = ["s"]\n'
        'metric = "vehicle_flow"\n'
    )
    path = folder / "city.toml"
    path.write_text(text, encoding="utf-8")
    return path


NOTIFY = 'notify_url = "https://cockpit.example.org/push/ngsi/s", secret_env = "S_PUSH"'


@pytest.mark.parametrize(
    ("connector", "push", "key", "reason"),
    [
        ("sensorthings", 'mqtt = "mqtt://127.0.0.1:1883", qoss = 1', "sources.s.push.qoss",
         "unknown key"),
        ("sensorthings", 'mqtt = "mqtt://127.0.0.1:1883", qos = 3', "sources.s.push.qos", "1"),
        ("sensorthings", 'mqtt = "http://127.0.0.1:1883"', "sources.s.push.mqtt", "pattern"),
        ("sensorthings", "qos = 1", "sources.s.push", "exactly one of mqtt or notify_url"),
        ("sensorthings", NOTIFY, "sources.s", "pushes through push.mqtt"),
        ("ngsi-ld", 'mqtt = "mqtt://127.0.0.1:1883"', "sources.s",
         "pushes through push.notify_url"),
        ("ngsi-v2", 'notify_url = "https://c.example/push/ngsi/s"', "sources.s.push",
         "needs secret_env"),
        ("ngsi-v2", NOTIFY.replace("S_PUSH", "s3cret value"), "sources.s.push.secret_env",
         "must name an environment variable"),
        ("ngsi-ld", NOTIFY + ', signature = "md5"', "sources.s.push.signature", "hmac-sha256"),
        ("ngsi-ld", NOTIFY + ", renew_seconds = 1", "sources.s.push.renew_seconds", "10"),
        ("ckan", 'mqtt = "mqtt://127.0.0.1:1883"', "sources.s", "cannot receive pushes"),
    ],
)  # fmt: skip
def test_push_mistakes_give_config_errors(
    tmp_path: Path, connector: str, push: str, key: str, reason: str
) -> None:
    path = push_city(tmp_path, connector, push)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_config_error(caught.value, path, key, reason)


def test_a_pushed_source_polls_at_its_safety_net_interval(tmp_path: Path) -> None:
    path = push_city(tmp_path, "ngsi-ld", NOTIFY + ", poll_seconds = 900")
    source = load_config(path).sources["s"]
    assert source.push is not None and source.push.kind == "notify"
    assert (source.refresh_seconds, source.poll_seconds) == (60, 900)
    assert source.push.secret_header == "X-Cockpit-Push-Secret"
    assert (source.push.renew_seconds, source.push.lease_seconds) == (3600, 30)


@pytest.mark.parametrize("position", [[-37.8], [-37.8, 144.9, 3.0], [-137.8, 144.9], [37.8, 244.9]])
def test_a_kiosk_screen_stands_at_a_latitude_and_longitude(position: list[float]) -> None:
    assert KioskScreenConfig(position=[-37.8179, 144.967]).position == [-37.8179, 144.967]
    with pytest.raises(ValidationError, match="latitude, longitude"):
        KioskScreenConfig(position=position)


def test_a_screens_unknown_slide_is_an_error_naming_the_file_and_the_key(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path,
        'slides = ["overview", "traffic", "parking", "reports", "notices"]',
        'slides = ["overview", "trafic", "parking"]',
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert_config_error(error.value, path, "kiosk.screens.station.slides", "unknown slide 'trafic'")
    assert "'traffic'" in error.value.reason and "'reports'" in error.value.reason


def test_the_demo_station_screen_says_where_it_stands() -> None:
    station = load_config(default_config_path()).kiosk.screens["station"]
    assert station.position == [-37.8179, 144.967] and station.place == "Flinders Street Station"


def test_the_files_own_words_are_its_names_titles_and_labels() -> None:
    config = load_config(default_config_path())
    texts = config.texts()
    assert len(texts) == len(set(texts))
    for words in (
        "Pedestrian Counting System",
        "Air quality",
        "crowded",
        "Flinders Street Station",
    ):
        assert words in texts, words
    assert config.translations["de"]["SCATS traffic signal volumes"] == ("SCATS-Ampelzählungen")


@pytest.mark.parametrize("path", sorted(CITIES.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_city_speaks_each_of_its_languages(path: Path) -> None:
    """No word of a shipped city's file stays English for a viewer in one of its other
    languages: the cockpit's catalogue, a domain's labels or the file's own translations
    give each."""
    config = load_config(path)
    use_city_texts(config.translations)
    try:
        offered = [lang for lang in config.city.languages if lang in available_languages()]
        for language in offered:
            assert untranslated(config.texts(), language) == [], language
    finally:
        use_city_texts({})


# -- [brief]: the daily brief and who gets it ---------------------------------------------


def test_demo_brief_recipients() -> None:
    brief = load_config(DEMO).brief
    assert brief.as_of == "07:00"
    assert brief.recipients["mayor"].time == "07:30"
    assert brief.recipients["delegation"].language == "de"


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        (
            'time = "07:30"',
            'time = "7.30"',
            "brief.recipients.mayor.time",
            "should match pattern",
        ),
        (
            'time = "08:00"\nlanguage = "de"',
            'time = "08:00"\nlanguage = "fr"',
            "brief.recipients.delegation.language",
            "the city does not offer 'fr'",
        ),
        (
            'to = ["lord.mayor@melbourne.example"]',
            'to = ["lord mayor"]',
            "brief.recipients.mayor.to",
            "is not an e-mail address",
        ),
        ('as_of = "07:00"', 'as_of = "25:00"', "brief.as_of", "should match pattern"),
        (
            "[brief.recipients.mayor]",
            "[brief.recipients.Mayor]",
            "brief.recipients.Mayor.[key]",
            "pattern",
        ),
        ("items = 5\n", "items = 5\npages = 2\n", "brief.pages", "unknown key"),
    ],
)
def test_brief_mistake_names_file_key_and_reason(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    path = write_variant(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_config_error(caught.value, path, key, reason)


# -- [access.oidc]: single sign-on through the city's OpenID Connect provider ------------

OIDC = """
[access.oidc]
issuer = "https://login.example.org/realms/city"
client_id = "city-cockpit"
client_secret_env = "CITY_OIDC_SECRET"
groups_claim = "realm_access.roles"
label = "City account"

[access.oidc.roles]
traffic-officers = "staff"
mayors-office = "executive"
"""


def oidc_city(folder: Path, old: str = "", new: str = "") -> Path:
    """The demo city with ``OIDC`` appended, ``old`` replaced by ``new`` in it."""
    assert not old or OIDC.count(old) == 1
    path = folder / "city.toml"
    path.write_text(demo_text() + OIDC.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_city_with_single_sign_on_loads(tmp_path: Path) -> None:
    oidc = load_config(oidc_city(tmp_path)).access.oidc
    assert oidc is not None
    assert oidc.discovery_url == (
        "https://login.example.org/realms/city/.well-known/openid-configuration"
    )
    assert oidc.roles == {"traffic-officers": "staff", "mayors-office": "executive"}
    assert oidc.scopes == ["openid", "profile", "email"] and oidc.user_claim == "preferred_username"
    assert load_config(DEMO).access.oidc is None  # the demo city has only local users


def test_the_single_sign_on_label_is_one_of_the_files_words(tmp_path: Path) -> None:
    """The button's label is the city's word: it is translated like the rest of them."""
    path = oidc_city(tmp_path)
    config = load_config(path)
    assert "City account" in config.texts()
    use_city_texts(config.translations)
    try:
        assert untranslated(config.texts(), "de") == ["City account"]
        text = path.read_text(encoding="utf-8")
        translated = '[translations.de]\n"City account" = "Stadtkonto"\n'
        path.write_text(text.replace("[translations.de]\n", translated, 1), encoding="utf-8")
        config = load_config(path)
        use_city_texts(config.translations)
        assert untranslated(config.texts(), "de") == []
    finally:
        use_city_texts({})


OIDC_MISTAKES = [
    (
        'client_secret_env = "CITY_OIDC_SECRET"',
        'client_secret = "hunter2"',
        "access.oidc.client_secret",
        "unknown key",
    ),
    (
        'client_secret_env = "CITY_OIDC_SECRET"',
        'client_secret_env = "my secret"',
        "access.oidc.client_secret_env",
        "must name an environment variable",
    ),
    (
        '"https://login.example.org/realms/city"',
        '"http://login.example.org/realms/city"',
        "access.oidc.issuer",
        "must be an https:// URL",
    ),
    ('issuer = "https://login.example.org/realms/city"\n', "", "access.oidc.issuer", "missing"),
    (
        'mayors-office = "executive"',
        'mayors-office = "mayor"',
        "access.oidc.roles.mayors-office",
        "'staff' or 'executive'",
    ),
    (
        'mayors-office = "executive"',
        'mayors-office = "public"',
        "access.oidc.roles.mayors-office",
        "'staff' or 'executive'",
    ),
    (
        '[access.oidc.roles]\ntraffic-officers = "staff"\nmayors-office = "executive"\n',
        "roles = {}\n",
        "access.oidc.roles",
        "at least 1 item",
    ),
    (
        'label = "City account"',
        'label = "City account"\nscopes = ["profile"]',
        "access.oidc.scopes",
        "must include 'openid'",
    ),
    (
        'label = "City account"',
        'label = "City account"\nleeway_seconds = 3600',
        "access.oidc.leeway_seconds",
        "less than or equal to 600",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "reason"), OIDC_MISTAKES)
def test_a_single_sign_on_mistake_names_its_key(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    path = oidc_city(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_config_error(caught.value, path, key, reason)


def test_plain_http_issuer_is_allowed_on_this_machine_only(tmp_path: Path) -> None:
    path = oidc_city(tmp_path, "https://login.example.org", "http://127.0.0.1:8080")
    oidc = load_config(path).access.oidc
    assert oidc is not None and oidc.issuer == "http://127.0.0.1:8080/realms/city"
