"""Walmart Marketplace client against the marketplace sandbox over real HTTP:
the access token's life (renewed before its end, once on a 401), Walmart's
headers on every request, the recon dates listed, the zip streamed to a file,
the typed errors of every failure and the secrecy of every credential."""

import base64
import io
import logging
import tempfile
import time
import uuid
from datetime import date
from urllib.parse import parse_qsl

import pytest

from connectbooks_goflow.core import http_policy
from connectbooks_goflow.core import walmart_const as const
from connectbooks_goflow.core.walmart_client import (
    WalmartAuthError,
    WalmartClient,
    WalmartConfigError,
    WalmartError,
    WalmartMalformedResponse,
    WalmartNetworkError,
    WalmartNotFoundError,
    WalmartServerError,
    WalmartThrottledError,
    format_report_date,
    open_recon_csv,
    parse_report_date,
)
from tools.marketplace_sandbox import walmart_files

TOKEN = "/v3/token"
AVAILABLE = "/v3/report/reconreport/availableReconFiles"
RECON = "/v3/report/reconreport/reconFile"


class ChunkRecorder(io.BytesIO):
    """A file object that remembers the size of every write."""

    def __init__(self):
        super().__init__()
        self.writes = []

    def write(self, data):
        self.writes.append(len(data))
        return super().write(data)


def token_requests(api):
    return api.server.requests_to(TOKEN)


def recon_rows(path):
    with open_recon_csv(path) as stream:
        return stream.read().decode().splitlines()


@pytest.fixture
def recon_dir(tmp_path):
    """Two recon CSV files of our own, a fortnight apart."""
    folder = tmp_path / "recon"
    folder.mkdir()
    walmart_files.write_sample_recon(
        folder / "a.csv", period_end=date(2026, 7, 10), currency="USD"
    )
    walmart_files.write_sample_recon(folder / "b.csv", period_end=date(2026, 7, 24))
    return folder


# -- listing --------------------------------------------------------------------


def test_lists_the_recon_dates_as_dates(
    walmart_factory, walmart_client_factory, recon_dir
):
    api = walmart_factory()
    api.add_folder(recon_dir)
    client = walmart_client_factory(api)

    dates = client.available_recon_dates()

    assert dates == [date(2026, 7, 13), date(2026, 7, 27)], "period end + 3 days"
    (request,) = api.server.requests_to(AVAILABLE)
    assert dict(parse_qsl(request.query)) == {"reportVersion": "v1"}
    assert request.headers["accept"] == "application/json"
    assert request.headers["wm_svc.name"] == "Walmart Marketplace"
    assert request.headers["wm_sec.access_token"]
    assert request.status == 200


@pytest.mark.parametrize("style", ["MMDDYYYY", "YYYYMMDD", "ISO"])
def test_the_date_forms_walmart_may_answer_are_read(
    walmart_factory, walmart_client_factory, style
):
    api = walmart_factory(date_style=style)
    api.add_sample(period_end=date(2026, 1, 9))
    client = walmart_client_factory(api)

    assert client.available_recon_dates() == [date(2026, 1, 12)]


def test_no_file_yet_is_an_empty_list(walmart_factory, walmart_client_factory):
    api = walmart_factory(sample=False)
    client = walmart_client_factory(api)

    assert client.available_recon_dates() == []
    assert client.test_connection() == {"dates": 0, "latest": None}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"availableApReportDates": "07012026"}, "is not a list"),
        ({"availableApReportDates": ["13452026"]}, "'13452026' is not a date"),
        ({"availableApReportDates": [None]}, "is not a date"),
        (42, "is not a list"),
    ],
)
def test_an_unreadable_list_is_a_malformed_answer(
    walmart_factory, walmart_client_factory, body, words
):
    api = walmart_factory()
    client = walmart_client_factory(api)
    client.access_token()
    api.server.script_responses([{"status": 200, "body": body}])

    with pytest.raises(WalmartMalformedResponse) as caught:
        client.available_recon_dates()

    assert words in str(caught.value)
    assert isinstance(caught.value, http_policy.MalformedResponse)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07012018", date(2018, 7, 1)),
        ("20180701", date(2018, 7, 1)),
        ("2018-07-01", date(2018, 7, 1)),
        ("07/01/2018", date(2018, 7, 1)),
        (7012018, date(2018, 7, 1)),
        (date(2018, 7, 1), date(2018, 7, 1)),
        ("2018-07-01T00:00:00Z", date(2018, 7, 1)),
    ],
)
def test_report_dates_are_parsed_in_every_form(text, expected):
    assert parse_report_date(text) == expected
    assert format_report_date(text) == "07012018"


@pytest.mark.parametrize("text", ["", "13012018", "yesterday", None, True])
def test_what_is_no_date_is_refused(text):
    with pytest.raises(ValueError):
        parse_report_date(text)


# -- download -----------------------------------------------------------------------


def test_download_streams_the_zip_to_a_file(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    recon = api.add_sample(period_end=date(2026, 7, 24))
    client = walmart_client_factory(api)

    dest = ChunkRecorder()
    result = client.download_recon_file(date(2026, 7, 27), dest, chunk_size=256)

    served = recon.path.read_bytes()
    assert dest.getvalue() == served, "the zip, byte for byte"
    assert len(dest.writes) > 1 and max(dest.writes) <= 256, "written as it came"
    assert result.report_date == date(2026, 7, 27)
    assert (result.bytes_written, result.zipped) == (len(served), True)
    assert result.member == recon.member
    assert result.filename.endswith("_07272026_reconciliationreport_v1.zip")
    (request,) = api.server.requests_to(RECON)
    assert dict(parse_qsl(request.query)) == {
        "reportDate": "07272026",
        "reportVersion": "v1",
    }
    assert request.headers["accept"] == "application/octet-stream"


def test_the_downloaded_csv_is_read_from_disk(
    walmart_factory, walmart_client_factory, tmp_path
):
    api = walmart_factory()
    client = walmart_client_factory(api)
    (day,) = client.available_recon_dates()

    with tempfile.TemporaryFile(dir=tmp_path) as handle:
        client.download_recon_file(day, handle)
        with open_recon_csv(handle) as stream:
            lines = stream.read().decode().splitlines()

    assert lines[0].startswith("Period Start Date,Period End Date,Total Payable")
    assert lines[1].startswith("Number of Lines in file")
    assert ",PaymentSummary," in lines[2]


def test_a_bare_csv_is_accepted_too(walmart_factory, walmart_client_factory, tmp_path):
    api = walmart_factory()
    client = walmart_client_factory(api)
    client.access_token()
    path = tmp_path / "plain.csv"
    walmart_files.write_sample_recon(path)
    api.server.script_responses(
        [
            {
                "status": 200,
                "body": path.read_bytes(),
                "headers": {"Content-Type": "application/octet-stream"},
            }
        ]
    )

    dest = io.BytesIO()
    result = client.download_recon_file("07272026", dest)

    assert (result.zipped, result.member) == (False, "")
    assert dest.getvalue() == path.read_bytes()
    with open_recon_csv(dest) as stream:
        assert stream.readline().startswith(b"Period Start Date")


def test_a_date_without_file_is_not_found(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    client = walmart_client_factory(api)

    with pytest.raises(WalmartNotFoundError) as caught:
        client.download_recon_file(date(2020, 1, 1), io.BytesIO())

    assert caught.value.status == 404
    assert isinstance(caught.value, http_policy.NotFoundError)
    assert "2020-01-01" in str(caught.value)
    assert caught.value.correlation_id == client.last_correlation_id


def test_a_download_cut_short_starts_again(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    recon = api.add_sample()
    client = walmart_client_factory(api)
    api.corrupt_next_download("cut")

    dest = io.BytesIO(b"kept")
    dest.seek(4)
    result = client.download_recon_file(recon.report_date, dest)

    assert result.restarts == 1
    assert dest.getvalue() == b"kept" + recon.path.read_bytes()
    assert len(api.server.requests_to(RECON)) == 2


def test_a_download_cut_short_into_a_stream_is_a_network_error(
    walmart_factory, walmart_client_factory
):
    api = walmart_factory()
    recon = api.add_sample()
    client = walmart_client_factory(api)
    api.corrupt_next_download("cut")

    class Pipe(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            return len(data)

    with pytest.raises(WalmartNetworkError, match="cut short"):
        client.download_recon_file(recon.report_date, Pipe())


def test_a_zip_that_does_not_open_is_malformed(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    recon = api.add_sample()
    client = walmart_client_factory(api)
    api.corrupt_next_download("truncate")

    with pytest.raises(WalmartMalformedResponse, match="zip does not open"):
        client.download_recon_file(recon.report_date, io.BytesIO())


def test_an_empty_answer_is_malformed(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    client = walmart_client_factory(api)
    client.access_token()
    api.server.script_responses(
        [{"status": 200, "body": b"", "headers": {"Content-Type": "text/csv"}}]
    )

    with pytest.raises(WalmartMalformedResponse, match="empty"):
        client.download_recon_file("07272026", io.BytesIO())


# -- the access token ------------------------------------------------------------------


def test_one_token_serves_many_calls_and_is_renewed_before_its_end(
    walmart_factory, walmart_client_factory, fake_clock
):
    api = walmart_factory()
    clock = fake_clock
    client = walmart_client_factory(api, clock=clock)

    client.available_recon_dates()
    client.available_recon_dates()
    assert len(token_requests(api)) == 1

    clock.now += const.TOKEN_LIFETIME - const.TOKEN_RENEW_MARGIN - 1
    client.available_recon_dates()
    assert len(token_requests(api)) == 1, "still valid"

    clock.now += 2  # within the margin: renewed before Walmart refuses it
    client.available_recon_dates()
    assert len(token_requests(api)) == 2
    assert all(r.status == 200 for r in api.server.requests), "never a 401"
    assert client.token_renewals == 0


def test_the_token_request_is_walmart_shaped(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    client = walmart_client_factory(api)

    client.access_token()

    (request,) = token_requests(api)
    basic = base64.b64encode(f"{api.client_id}:{api.client_secret}".encode())
    assert request.headers["authorization"] == "Basic " + basic.decode()
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["wm_svc.name"] == "Walmart Marketplace"
    assert "wm_sec.access_token" not in request.headers


def test_a_refused_token_is_renewed_once(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    client = walmart_client_factory(api)
    client.available_recon_dates()

    api.expire_tokens()
    assert client.available_recon_dates()

    statuses = [r.status for r in api.server.requests]
    assert statuses == [200, 200, 401, 200, 200], "token, list, 401, token, list"
    assert client.token_renewals == 1


def test_a_token_refused_after_renewal_is_an_auth_error(
    walmart_factory, walmart_client_factory
):
    # Tokens that die at once while announced for 900 s: every call is 401.
    api = walmart_factory(token_lifetime=0.000001, expires_in=900)
    client = walmart_client_factory(api)

    with pytest.raises(WalmartAuthError) as caught:
        client.available_recon_dates()

    assert caught.value.status == 401 and caught.value.reason == "invalid_client"
    assert len(token_requests(api)) == 2, "renewed once, not more"
    assert len(api.server.requests_to(AVAILABLE)) == 2


def test_wrong_credentials_are_an_auth_error_without_the_secret(
    walmart_factory, walmart_client_factory
):
    api = walmart_factory()
    secret = "AKw-wrong-secret-that-must-stay-hidden-0000"
    client = walmart_client_factory(api, client_secret=secret)

    with pytest.raises(WalmartAuthError) as caught:
        client.available_recon_dates()

    error = caught.value
    assert (error.status, error.reason) == (401, "invalid_client")
    assert "client id or client secret" in str(error)
    assert secret not in str(error) and secret not in repr(error.args)
    assert isinstance(error, http_policy.AuthError) and isinstance(error, WalmartError)
    assert len(token_requests(api)) == 1, "a refused secret is not retried"


def test_an_api_key_without_the_reports_permission_is_denied(
    walmart_factory, walmart_client_factory
):
    api = walmart_factory()
    api.deny_access = True
    client = walmart_client_factory(api)

    with pytest.raises(WalmartAuthError) as caught:
        client.available_recon_dates()

    assert (caught.value.status, caught.value.reason) == (403, "access_denied")
    assert "Reports permission" in str(caught.value)


# -- headers ------------------------------------------------------------------------


def test_every_request_carries_a_fresh_correlation_id(
    walmart_factory, walmart_client_factory
):
    api = walmart_factory()
    client = walmart_client_factory(api)
    api.server_error_next(1)  # the token request is retried
    (day,) = client.available_recon_dates()
    api.throttle_next(1, retry_after=0.01)  # the download is retried
    client.download_recon_file(day, io.BytesIO())

    sent = [r.headers.get("wm_qos.correlation_id") for r in api.server.requests]
    assert len(sent) == 5 == client.request_count
    assert len(set(sent)) == len(sent), "one per request, retries too"
    assert all(uuid.UUID(value).version == 4 for value in sent)
    assert list(client.correlation_ids) == sent
    assert client.last_correlation_id == sent[-1]
    assert api.service_names == ["Walmart Marketplace"] * 3


def test_the_service_name_and_channel_type_are_configurable(
    walmart_factory, walmart_client_factory
):
    api = walmart_factory()
    client = walmart_client_factory(
        api, service_name="Walmart Marketplace", channel_type="0f3e4dd4-0514"
    )

    client.available_recon_dates()

    (request,) = api.server.requests_to(AVAILABLE)
    assert request.headers["wm_consumer.channel.type"] == "0f3e4dd4-0514"


# -- faults -----------------------------------------------------------------------


def test_429_waits_retry_after_then_goes_on(
    walmart_factory, walmart_client_factory, sleeps
):
    api = walmart_factory()
    client = walmart_client_factory(api)
    client.access_token()
    api.throttle_next(2, retry_after=1.5)

    assert client.available_recon_dates()

    assert sleeps.waits == [1.5, 1.5]
    assert [r.status for r in api.server.requests_to(AVAILABLE)] == [429, 429, 200]


def test_429_beyond_the_bound_is_a_throttled_error(
    walmart_factory, walmart_client_factory
):
    api = walmart_factory()
    client = walmart_client_factory(api, max_retries=2)
    client.access_token()
    api.throttle_next(3, retry_after=2)

    with pytest.raises(WalmartThrottledError) as caught:
        client.available_recon_dates()

    assert caught.value.retry_after == 2.0 and caught.value.status == 429
    assert "next run" in str(caught.value)


def test_a_retry_after_longer_than_max_wait_stops_at_once(
    walmart_factory, walmart_client_factory, sleeps
):
    api = walmart_factory()
    client = walmart_client_factory(api, max_wait=5)
    client.access_token()
    api.throttle_next(1, retry_after=60)

    with pytest.raises(WalmartThrottledError) as caught:
        client.available_recon_dates()

    assert caught.value.retry_after == 60.0
    assert sleeps.waits == []


def test_the_sandbox_rate_limit_is_honoured(walmart_factory, walmart_client_factory):
    # 5 a second, no burst: back-to-back calls meet 429 and wait Retry-After.
    api = walmart_factory(
        rate_limits={"availableReconFiles": (5.0, 1)}, retry_after=0.2
    )
    client = walmart_client_factory(api, sleep=time.sleep)

    for _ in range(3):
        client.available_recon_dates()

    listed = [r.status for r in api.server.requests_to(AVAILABLE)]
    assert listed.count(200) == 3 and 429 in listed


def test_server_errors_are_retried_then_named(
    walmart_factory, walmart_client_factory, sleeps
):
    api = walmart_factory()
    client = walmart_client_factory(api, max_retries=3)
    client.access_token()
    api.server_error_next(2, status=503)
    assert client.available_recon_dates()
    assert len(sleeps.waits) == 2

    api.server_error_next(4)
    with pytest.raises(WalmartServerError) as caught:
        client.available_recon_dates()

    text = str(caught.value)
    assert caught.value.status == 500
    assert "Walmart answered HTTP 500" in text and "4 time(s) in a row" in text
    assert "Internal Server Error" in text, "Walmart's own words quoted"


def test_a_maintenance_page_is_retried_then_named(
    walmart_factory, walmart_client_factory
):
    api = walmart_factory()
    recon = api.add_sample()
    client = walmart_client_factory(api, max_retries=2)
    client.access_token()

    api.html_next(2)
    assert client.available_recon_dates() == [recon.report_date]
    api.html_next(2)
    dest = io.BytesIO()
    client.download_recon_file(recon.report_date, dest)
    assert dest.getvalue() == recon.path.read_bytes(), "the page never written"

    api.html_next(3)
    with pytest.raises(WalmartMalformedResponse) as caught:
        client.download_recon_file(recon.report_date, io.BytesIO())
    assert "web page" in str(caught.value) and "3 time(s)" in str(caught.value)


def test_a_reset_connection_is_retried(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    client = walmart_client_factory(api)
    api.server.reset_next(1)

    assert client.available_recon_dates()


def test_a_slow_answer_is_a_network_error(walmart_factory, walmart_client_factory):
    api = walmart_factory()
    client = walmart_client_factory(api, timeout=0.2, max_retries=1)
    client.access_token()
    api.server.script_responses([{"delay_ms": 600}, {"delay_ms": 600}])

    with pytest.raises(WalmartNetworkError, match="did not answer within"):
        client.available_recon_dates()


# -- secrets --------------------------------------------------------------------------


def test_no_secret_in_errors_or_logs(walmart_factory, walmart_client_factory, caplog):
    caplog.set_level(logging.DEBUG)
    api = walmart_factory()
    client = walmart_client_factory(api, max_retries=1)
    token = client.access_token()
    basic = base64.b64encode(f"{api.client_id}:{api.client_secret}".encode()).decode()
    echo = f"token {token} secret {api.client_secret} auth Basic {basic}"
    api.server.script_responses(
        [
            {"status": 500, "body": {"errors": [{"code": "X", "description": echo}]}},
            {"status": 500, "body": {"errors": [{"code": "X", "description": echo}]}},
        ]
    )

    with pytest.raises(WalmartServerError) as caught:
        client.available_recon_dates()
    api.server.script_responses(
        [{"status": 400, "body": {"errors": [{"code": "X", "description": echo}]}}]
    )
    with pytest.raises(WalmartError) as again:
        client.available_recon_dates()

    texts = [str(caught.value), str(again.value), caplog.text, repr(client)]
    for text in texts:
        for secret in (token, api.client_secret, basic):
            assert secret not in text
    assert "***" in str(caught.value), "masked, not dropped"


# -- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"client_secret": ""}, "client secret is empty"),
        ({"client_secret": "two words"}, "spaces or line breaks"),
        ({"client_id": None}, "client id is empty"),
        ({"base_url": "http://walmart.example.com"}, "must use https"),
        ({"base_url": "ftp://localhost"}, "is not a web address"),
        ({"token_url": "https://user:pw@example.com/token"}, "user name"),
        ({"service_name": "two\nlines"}, "service name"),
    ],
)
def test_settings_that_cannot_work_are_refused(options, words):
    values = {"client_id": "id-0001", "client_secret": "secret-0001"}
    values.update(options)
    with pytest.raises(WalmartConfigError, match=words):
        WalmartClient(values.pop("client_id"), values.pop("client_secret"), **values)


def test_addresses_default_to_walmart_and_follow_the_base_url():
    with WalmartClient("id-0001", "secret-0001") as client:
        assert client.base_url == "https://marketplace.walmartapis.com"
        assert client.token_url == "https://marketplace.walmartapis.com/v3/token"
    with WalmartClient(
        "id-0001", "secret-0001", base_url="http://127.0.0.1:8098/"
    ) as client:
        assert client.token_url == "http://127.0.0.1:8098/v3/token"
        assert "secret-0001" not in repr(client)


def test_a_date_that_is_no_date_is_a_config_error(
    walmart_factory, walmart_client_factory
):
    client = walmart_client_factory(walmart_factory())

    with pytest.raises(WalmartConfigError, match="not a date"):
        client.download_recon_file("someday", io.BytesIO())
    assert client.request_count == 0
