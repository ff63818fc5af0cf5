"""One source's HTTP session over real HTTP on 127.0.0.1: answers, typed errors for every
transport fault, bounded retries, capped Retry-After and no secret in any message."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from cockpit.errors import ConnectorError, FetchError, ResponseTooLarge, UpstreamStatusError
from connectors.http import HttpClient, HttpLimits, _CappedRetry
from tests.connectors.faults import (
    TEST_LIMITS,
    TEST_OPTIONS,
    TRANSPORT_FAULTS,
    closed_port_url,
    serve_fault,
)

BODY = json.dumps({"value": [{"id": 1}, {"id": 2}]}).encode()


@pytest.fixture
def client() -> Iterator[HttpClient]:
    client = HttpClient("air", TEST_LIMITS, headers={"X-City": "Melbourne"}, secrets=("k3y",))
    yield client
    client.close()


def test_json_comes_back_with_its_headers(httpserver: HTTPServer, client: HttpClient) -> None:
    httpserver.expect_request("/v1.1/Things", query_string={"$top": "2"}).respond_with_data(
        BODY, content_type="application/json", headers={"X-Total": "2"}
    )
    data, headers = client.get_json(httpserver.url_for("/v1.1/Things"), params={"$top": 2})
    assert data == {"value": [{"id": 1}, {"id": 2}]}
    assert headers["X-Total"] == "2"


def test_the_client_names_itself_and_sends_the_source_headers(
    httpserver: HTTPServer, client: HttpClient
) -> None:
    httpserver.expect_request(
        "/h", headers={"User-Agent": "city-cockpit", "X-City": "Melbourne"}
    ).respond_with_data(b"plain text", content_type="text/plain")
    body, _ = client.get_bytes(httpserver.url_for("/h"))
    assert body == b"plain text"


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULTS))
def test_every_transport_fault_is_its_typed_error(
    httpserver: HTTPServer, client: HttpClient, kind: str
) -> None:
    serve_fault(httpserver, "/data", kind, good_body=BODY)
    with pytest.raises(TRANSPORT_FAULTS[kind]) as caught:
        client.get_json(httpserver.url_for("/data"))
    assert caught.value.source == "air"
    assert caught.value.url == httpserver.url_for("/data")


def test_an_unreachable_platform_is_a_fetch_error(client: HttpClient) -> None:
    with pytest.raises(FetchError, match="could not connect"):
        client.get_json(closed_port_url() + "/data")


def test_an_error_status_keeps_its_code(httpserver: HTTPServer, client: HttpClient) -> None:
    httpserver.expect_request("/gone").respond_with_data("gone", status=404)
    with pytest.raises(UpstreamStatusError) as caught:
        client.get_json(httpserver.url_for("/gone"))
    assert caught.value.status == 404 and "HTTP 404" in str(caught.value)


def test_retries_are_bounded(httpserver: HTTPServer, client: HttpClient) -> None:
    httpserver.expect_request("/busy").respond_with_data("busy", status=503)
    with pytest.raises(UpstreamStatusError):
        client.get_json(httpserver.url_for("/busy"))
    assert len(httpserver.log) == TEST_LIMITS.retries + 1


def test_a_client_error_is_not_retried(httpserver: HTTPServer, client: HttpClient) -> None:
    httpserver.expect_request("/bad").respond_with_data("bad", status=400)
    with pytest.raises(UpstreamStatusError):
        client.get_json(httpserver.url_for("/bad"))
    assert len(httpserver.log) == 1


def test_a_recovering_platform_is_read_after_a_retry(
    httpserver: HTTPServer, client: HttpClient
) -> None:
    httpserver.expect_ordered_request("/flaky").respond_with_data("oops", status=502)
    httpserver.expect_ordered_request("/flaky").respond_with_data(
        BODY, content_type="application/json"
    )
    data, _ = client.get_json(httpserver.url_for("/flaky"))
    assert data["value"][0] == {"id": 1}


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    retry = _CappedRetry(total=2)
    retry.cap_s = 0.2
    assert retry.parse_retry_after("3600") == 0.2
    assert retry.parse_retry_after("0") == 0.0
    assert retry.new(total=1).cap_s == 0.2  # the cap survives each retry's copy


def test_an_answer_over_the_size_limit_is_refused(httpserver: HTTPServer) -> None:
    small = HttpClient("air", dataclasses.replace(TEST_LIMITS, max_bytes=10))
    httpserver.expect_request("/big").respond_with_data(BODY, content_type="application/json")
    with pytest.raises(ResponseTooLarge, match="over 10"):
        small.get_json(httpserver.url_for("/big"))
    small.close()


def test_no_secret_reaches_an_error_message(httpserver: HTTPServer, client: HttpClient) -> None:
    httpserver.expect_request("/k3y/data").respond_with_data("error", status=500)
    url = httpserver.url_for("/k3y/data") + "?token=t0ken&limit=5"
    with pytest.raises(ConnectorError) as caught:
        client.get_json(url)
    message = str(caught.value)
    assert "k3y" not in message and "t0ken" not in message
    assert "limit=5" in message


def test_limits_come_from_the_source_options() -> None:
    assert HttpLimits.from_options(TEST_OPTIONS) == TEST_LIMITS
    limits = HttpLimits.from_options({"retries": 0, "page_size": 500})  # not a limit: ignored
    assert limits.retries == 0 and limits.read_timeout_s == HttpLimits().read_timeout_s
