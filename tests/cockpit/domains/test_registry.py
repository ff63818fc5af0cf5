"""The domain registry: the four built-in domains, each declared once, and the rules for
registering, finding and loading more."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from cockpit import domains
from cockpit.domains import (
    AGGREGATIONS,
    Domain,
    KpiSpec,
    MapRule,
    PhoneSummary,
    SlideSpec,
    all_domains,
    domain_names,
    domain_of_kpi,
    get,
    kpi_names,
    kpi_spec,
    load_domain_module,
    register,
    translation,
    unregister,
)
from cockpit.errors import ConfigError
from cockpit.model import DOMAINS, METRICS, Metric
from cockpit.present.i18n import available_languages

BUILT_IN = ("traffic", "air", "parking", "pedestrians")


def ferry(name: str = "ferries", kpi: str = "ferry_load") -> Domain:
    return Domain(
        name=name,
        title="Ferries",
        metrics=(Metric(f"{name}_passengers", "Passengers", "persons/h", name, 0, 5_000),),
        kpis=(
            KpiSpec(
                key=kpi,
                title="Ferry passengers",
                metrics=(f"{name}_passengers",),
                unit="persons/h",
                aggregation="sum",
            ),
        ),
        map=MapRule(f"{name}_passengers", (100,), ("calm", "busy")),
        slide=SlideSpec(question="Is the ferry busy?", short="Ferries"),
        phone=PhoneSummary(title="Ferries", kpi=kpi),
        labels={"de": {"Is the ferry busy?": "Ist die Fähre voll?"}},
    )


@pytest.fixture
def clean() -> Iterator[None]:
    before = domain_names()
    yield
    for name in domain_names():
        if name not in before:
            unregister(name)


def test_the_built_in_domains_in_their_order() -> None:
    assert domain_names()[:4] == BUILT_IN
    assert tuple(DOMAINS[:4]) == BUILT_IN
    assert [d.name for d in all_domains()[:4]] == list(BUILT_IN)
    assert kpi_names()[:4] == ("traffic", "air", "parking", "footfall")


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_built_in_domain_is_declared_once_and_whole(name: str) -> None:
    domain = get(name)
    assert getattr(domains, name).DOMAIN is domain
    for metric in domain.metrics:
        assert METRICS[metric.name] is metric
        assert metric.domain == name and metric.unit
    for spec in domain.kpis:
        assert spec.aggregation in AGGREGATIONS
        assert set(spec.metrics) <= set(METRICS)
        assert domain_of_kpi(spec.key) is domain
        assert kpi_spec(spec.key) is spec
        if spec.warn is not None and spec.alert is not None:
            assert spec.warn < spec.alert
    assert domain.kpi.key == domain.phone.kpi
    assert domain.map.metric == "eaqi" or domain.map.metric in domain.metric_names
    assert len(domain.map.labels) in (0, len(domain.map.thresholds) + 1)
    assert domain.slide.question.endswith("?")


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_built_in_domain_speaks_every_language_the_app_ships(name: str) -> None:
    domain = get(name)
    words = {domain.title, domain.slide.question, domain.slide.short, domain.phone.title}
    words |= {k.title for k in domain.kpis}
    for language in available_languages():
        if language == "en":
            continue
        assert language in domain.labels, language
        missing = sorted(w for w in words if not domain.labels[language].get(w))
        assert missing == [], (language, missing)


def test_the_aggregations_are_documented_with_their_reasons() -> None:
    doc = KpiSpec.__doc__ or ""
    for aggregation in AGGREGATIONS:
        assert f'``"{aggregation}"``' in doc


def test_register_get_and_unregister(clean: None) -> None:
    domain = register(ferry())

    assert get("ferries") is domain
    assert domain_names()[-1] == "ferries"
    assert "ferries" in DOMAINS
    assert METRICS["ferries_passengers"].domain == "ferries"
    assert kpi_spec("ferry_load").aggregation == "sum"
    assert translation("de", "Is the ferry busy?") == "Ist die Fähre voll?"
    assert register(ferry()) is not None  # the same declaration again: nothing changes
    assert domain_names().count("ferries") == 1

    unregister("ferries")

    assert "ferries" not in domain_names()
    assert "ferries" not in DOMAINS
    assert "ferries_passengers" not in METRICS
    with pytest.raises(KeyError, match="unknown domain 'ferries'"):
        get("ferries")
    unregister("ferries")  # unknown: a no-op


def test_a_name_a_metric_or_a_kpi_is_declared_once(clean: None) -> None:
    register(ferry())

    with pytest.raises(ValueError, match="already registered"):
        register(replace(ferry(), title="Other ferries"))
    with pytest.raises(ValueError, match="KPI 'ferry_load' is already declared"):
        register(ferry("boats", kpi="ferry_load"))
    taken = replace(
        ferry("boats", kpi="boat_load"),
        metrics=(Metric("pedestrians", "People", "persons/h", "boats", 0, 1),),
        kpis=(KpiSpec("boat_load", "Boats", ("pedestrians",), "persons/h", "sum"),),
        map=MapRule("pedestrians"),
    )
    with pytest.raises(ValueError, match="metric 'pedestrians' already belongs to domain"):
        register(taken)
    assert "boats" not in domain_names()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "bike share"}, "plain identifier"),
        ({"phone": PhoneSummary("Ferries", "nothing")}, "phone summary names KPI"),
        (
            {"kpis": (KpiSpec("k", "K", ("ferries_passengers",), "x", "median"),)},  # type: ignore[arg-type]
            "aggregation must be one of",
        ),
        ({"kpis": (KpiSpec("ferry_load", "K", ("no_such",), "x", "sum"),)}, "unknown metric"),
        (
            {"metrics": (Metric("ferries_passengers", "P", "persons/h", "air", 0, 1),)},
            "names domain 'air'",
        ),
    ],
)
def test_a_wrong_declaration_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(ferry(), **change)


def test_a_domain_module_is_loaded_by_its_import_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean: None
) -> None:
    (tmp_path / "city_ferries.py").write_text(
        "from tests.cockpit.domains.test_registry import ferry\nDOMAIN = ferry()\n",
        encoding="utf-8",
    )
    (tmp_path / "city_nothing.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        (loaded,) = load_domain_module("city_ferries", "city.toml")
        assert loaded is get("ferries")
        with pytest.raises(ConfigError) as caught:
            load_domain_module("city_nothing", "city.toml")
        assert (caught.value.file, caught.value.key) == ("city.toml", "domains")
        assert "declares no DOMAIN" in caught.value.reason
        with pytest.raises(ConfigError, match="cannot import the domain module 'city_nowhere'"):
            load_domain_module("city_nowhere", "city.toml")
    finally:
        for name in ("city_ferries", "city_nothing"):
            sys.modules.pop(name, None)
