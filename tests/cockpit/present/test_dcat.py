"""The city's catalogue as DCAT-AP 3.0 JSON-LD, validated offline with pyshacl against
the official DCAT-AP 3.0.0 SHACL shapes (tests/fixtures/dcat-ap/, see PROVENANCE.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyshacl
import pytest
from rdflib import RDF, Graph, Namespace, URIRef

from cockpit.config import default_config_path, load_config
from cockpit.present.dcat import catalogue_entries, dcat_catalog
from tests.browser import T0, Clock, demo_runtime
from wiring.runtime import Runtime

SHAPES = Path(__file__).resolve().parents[2] / "fixtures" / "dcat-ap" / "dcat-ap-3.0.0-SHACL.ttl"
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
BASE = "https://cockpit.example.org/"

# rdflib's own JSON-LD parser builds a ConjunctiveGraph inside and warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    config = load_config(default_config_path())
    config.sources["parking"].access = "internal"
    config.sources["traffic"].url = "https://user:pa55@scats.example.org/api?api_key=s3cret&x=1"
    rt = demo_runtime(tmp_path_factory.mktemp("data"), Clock(T0), config=config, backfill=False)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(SHAPES, format="turtle")


def _graph(doc: dict[str, object]) -> Graph:
    # The @context is inline: rdflib reads it without any network access.
    return Graph().parse(data=json.dumps(doc), format="json-ld")


@pytest.mark.parametrize("role", ["public", "staff"])
def test_catalogue_conforms_to_dcat_ap_3(runtime: Runtime, shapes: Graph, role: str) -> None:
    doc = dcat_catalog(runtime.city, runtime.city.view(role), BASE)
    conforms, _, text = pyshacl.validate(_graph(doc), shacl_graph=shapes)
    assert conforms, text


def test_catalogue_has_required_and_recommended_properties(runtime: Runtime) -> None:
    graph = _graph(dcat_catalog(runtime.city, runtime.city.view("public"), BASE))
    catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert len(catalogs) == 1
    catalog = catalogs[0]
    for prop in (DCT.title, DCT.description, DCT.publisher):
        assert graph.value(catalog, prop) is not None, prop
    datasets = list(graph.objects(catalog, DCAT.dataset))
    assert {str(graph.value(d, DCT.identifier)) for d in datasets} == {
        "pedestrians",
        "traffic",
        "air",
        "citizen-reports",
    }  # parking is internal: not in the public catalogue
    for dataset in datasets:
        for prop in (
            DCT.title,
            DCT.description,
            DCAT.contactPoint,
            DCAT.keyword,
            DCAT.theme,
            DCT.spatial,
            DCT.temporal,
            DCT.publisher,
        ):
            assert graph.value(dataset, prop) is not None, (dataset, prop)
        distributions = list(graph.objects(dataset, DCAT.distribution))
        assert distributions
        for dist in distributions:
            assert graph.value(dist, DCAT.accessURL) is not None
            assert graph.value(dist, DCT.license) is not None
            assert graph.value(dist, DCT["format"]) is not None
            assert graph.value(dist, DCAT.mediaType) is not None
    pedestrians = next(d for d in datasets if str(graph.value(d, DCT.identifier)) == "pedestrians")
    licences = {graph.value(d, DCT.license) for d in graph.objects(pedestrians, DCAT.distribution)}
    assert licences == {URIRef("https://creativecommons.org/licenses/by/4.0/")}
    urls = {
        str(graph.value(d, DCAT.accessURL)) for d in graph.objects(pedestrians, DCAT.distribution)
    }
    assert f"{BASE}export/pedestrians.csv" in urls
    assert f"{BASE}export/pedestrians.geojson" in urls


def test_catalogue_never_shows_credentials(runtime: Runtime) -> None:
    view = runtime.city.view("staff")
    entries = {e["id"]: e for e in catalogue_entries(runtime.city, view)}
    assert "parking" in entries
    endpoint = entries["traffic"]["endpoint"]
    assert "pa55" not in endpoint and "s3cret" not in endpoint and "user" not in endpoint
    assert endpoint.startswith("https://scats.example.org/api")
    doc = json.dumps(dcat_catalog(runtime.city, view, BASE))
    assert "pa55" not in doc and "s3cret" not in doc
    public = {e["id"] for e in catalogue_entries(runtime.city, runtime.city.view("public"))}
    assert public == {"pedestrians", "traffic", "air"}


def test_published_citizen_reports_are_a_dataset_without_photos_or_codes(
    runtime: Runtime,
) -> None:
    graph = _graph(dcat_catalog(runtime.city, runtime.city.view("public"), BASE))
    (reports,) = [
        d
        for d in graph.subjects(RDF.type, DCAT.Dataset)
        if str(graph.value(d, DCT.identifier)) == "citizen-reports"
    ]
    description = str(graph.value(reports, DCT.description))
    assert "No photo" in description and "rounded to about 100 m" in description
    urls = {str(graph.value(d, DCAT.accessURL)) for d in graph.objects(reports, DCAT.distribution)}
    assert urls == {f"{BASE}reports/published.csv", f"{BASE}reports/published.geojson"}
