"""Amazon SP-API client against the marketplace sandbox over real HTTP: token
exchange and its errors, the access token's life, paging with nextToken
alone, what is skipped, gzip and plain downloads, expired URLs, throttling,
the max_wait option and the secrecy of every credential."""

import gzip
import io
import logging
import time
import traceback
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import pytest

from connectbooks_goflow.core import amazon_const as const
from connectbooks_goflow.core.amazon_client import (
    AmazonAuthError,
    AmazonClient,
    AmazonConfigError,
    AmazonDocumentError,
    AmazonError,
    AmazonNetworkError,
    AmazonRequestError,
    AmazonServerError,
    AmazonThrottledError,
    ReportDocument,
    parse_amazon_time,
)
from connectbooks_goflow.core.http_policy import AuthError, ThrottledError
from tools.marketplace_sandbox.amazon import PUBLISHED_RATE_LIMITS

US = ["ATVPDKIKX0DER"]
REPORTS = "/reports/2021-06-30/reports"
DOCUMENTS = "/reports/2021-06-30/documents/"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def token_requests(api):
    return api.server.requests_to("/auth/o2/token")


def settlement_reports(api):
    return [r for r in api.reports if r.settlement_id]


# -- listing --------------------------------------------------------------------


def test_lists_done_settlements_only_with_amazon_query(
    amazon_factory, amazon_client_factory
):
    api = amazon_factory()
    client = amazon_client_factory(api)

    since = datetime(2024, 12, 1, tzinfo=timezone.utc)
    listed = list(client.list_settlement_reports(US, since))

    expected = sorted(settlement_reports(api), key=lambda r: r.created_time)
    assert [r.report_id for r in listed] == [r.report_id for r in reversed(expected)]
    first = listed[0]
    assert first.processing_status == "DONE" and first.document_id
    assert first.report_type == const.REPORT_TYPE_SETTLEMENT_V2
    assert first.marketplace_ids == tuple(US)
    assert first.created_time.tzinfo is timezone.utc
    (request,) = api.server.requests_to(REPORTS)
    assert dict(parse_qsl(request.query)) == {
        "reportTypes": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
        "processingStatuses": "DONE",
        "marketplaceIds": "ATVPDKIKX0DER",
        "pageSize": "100",
        "createdSince": "2024-12-01T00:00:00Z",
    }


def test_later_pages_send_next_token_alone(amazon_factory, amazon_client_factory):
    api = amazon_factory()
    client = amazon_client_factory(api)

    listed = list(client.list_settlement_reports(US, page_size=1))

    assert len(listed) == 2
    queries = [parse_qsl(r.query) for r in api.server.requests_to(REPORTS)]
    assert len(queries) == 2
    assert len(queries[0]) == 4, "first page: the filters"
    assert [key for key, _value in queries[1]] == ["nextToken"], "then alone"
    assert all(r.status == 200 for r in api.server.requests_to(REPORTS))


def test_in_progress_and_other_types_are_skipped_by_the_client(
    amazon_factory, amazon_client_factory
):
    # Even when the server ignores the filters, only DONE settlements come out.
    api = amazon_factory()
    api.ignored_filters = {"reportTypes", "processingStatuses"}
    client = amazon_client_factory(api)

    listed = list(client.list_settlement_reports(US))

    assert {r.report_id for r in listed} == {
        r.report_id for r in settlement_reports(api)
    }
    assert len(api.reports) == 5


def test_test_connection_counts_one_page(amazon_factory, amazon_client_factory):
    api = amazon_factory()
    assert amazon_client_factory(api).test_connection(US) == {"reports": 2}


@pytest.mark.parametrize(
    ("marketplaces", "message"),
    [
        ([], "1 to 10"),
        ([f"M{n}" for n in range(11)], "1 to 10"),
    ],
)
def test_marketplace_ids_are_checked_before_any_request(
    amazon_factory, amazon_client_factory, marketplaces, message
):
    api = amazon_factory(dataset=None)
    client = amazon_client_factory(api)
    with pytest.raises(AmazonConfigError, match=message):
        list(client.list_settlement_reports(marketplaces))
    with pytest.raises(AmazonConfigError, match="not an Amazon marketplace id"):
        list(client.list_settlement_reports(["ATVPDKIKX0DER&x=1"]))
    assert api.server.requests == []


# -- Login with Amazon ------------------------------------------------------------


def test_a_revoked_refresh_token_says_so(amazon_factory, amazon_client_factory):
    api = amazon_factory()
    api.revoke_refresh_token()
    client = amazon_client_factory(api, refresh_token="Atzr|was-valid-yesterday")

    with pytest.raises(AmazonAuthError) as caught:
        client.test_connection(US)

    error = caught.value
    assert error.reason == "invalid_grant" and error.status == 400
    assert isinstance(error, AuthError) and isinstance(error, AmazonError)
    assert "refresh token" in str(error) and "Authorise the app again" in str(error)
    assert len(api.server.requests) == 1, "a 400 from LWA is not retried"


def test_a_wrong_client_secret_says_so(amazon_factory, amazon_client_factory):
    api = amazon_factory()
    client = amazon_client_factory(api, client_secret="amzn1.oa2-cs.v1.wrong-one")

    with pytest.raises(AmazonAuthError) as caught:
        client.test_connection(US)

    assert caught.value.reason == "invalid_client" and caught.value.status == 401
    assert "client secret" in str(caught.value)
    assert "Client authentication failed" in str(caught.value)


def test_the_access_token_is_kept_until_shortly_before_it_expires(
    amazon_factory, amazon_client_factory
):
    api = amazon_factory(token_lifetime=100_000, expires_in=3600)
    clock = FakeClock()
    client = amazon_client_factory(api, clock=clock)

    client.test_connection(US)
    clock.now += 3600 - 61
    client.test_connection(US)
    assert len(token_requests(api)) == 1, "still valid: kept"
    clock.now += 2
    client.test_connection(US)
    assert len(token_requests(api)) == 2, "within a minute of expiry: renewed"


def test_an_access_token_expired_early_is_renewed_once(
    amazon_factory, amazon_client_factory
):
    api = amazon_factory()
    client = amazon_client_factory(api)
    client.test_connection(US)
    api.expire_tokens()

    assert client.test_connection(US) == {"reports": 2}

    assert client.token_renewals == 1
    assert len(token_requests(api)) == 2
    assert [r.status for r in api.server.requests_to(REPORTS)] == [200, 403, 200]


def test_an_access_token_that_keeps_expiring_is_renewed_only_once(
    amazon_factory, amazon_client_factory
):
    # Every token dies at once although LWA says an hour: no endless loop.
    api = amazon_factory(token_lifetime=0.000001, expires_in=3600)
    client = amazon_client_factory(api)

    with pytest.raises(AmazonAuthError, match="has expired"):
        client.test_connection(US)

    assert len(token_requests(api)) == 2
    assert [r.status for r in api.server.requests_to(REPORTS)] == [403, 403]


def test_a_region_the_seller_is_not_in_says_check_the_region(
    amazon_factory, amazon_client_factory
):
    api = amazon_factory()
    api.deny_access = True
    client = amazon_client_factory(api)

    with pytest.raises(AmazonAuthError) as caught:
        client.test_connection(US)

    message = str(caught.value)
    assert caught.value.reason == "access_denied" and caught.value.status == 403
    assert "Check the region" in message and "North America" in message
    assert "Finance and Accounting" in message
    assert "Access to requested resource is denied" in message
    assert client.token_renewals == 0, "not an expired token"


# -- documents -------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["GZIP", None])
def test_gzip_and_plain_documents_arrive_as_the_plain_file(
    amazon_factory, amazon_client_factory, compression
):
    api = amazon_factory(compression=compression)
    client = amazon_client_factory(api)
    report = next(iter(client.list_settlement_reports(US)))
    served = next(r for r in api.reports if r.report_id == report.report_id)
    plain = served.path.read_bytes()
    if compression:
        plain = gzip.decompress(plain)

    dest = io.BytesIO()
    result = client.download_report(report, dest, chunk_size=4096)

    assert dest.getvalue() == plain
    assert result.compression == compression
    assert result.bytes_written == len(plain)
    assert result.bytes_received == served.path.stat().st_size
    assert result.url_renewals == 0
    if compression:
        assert result.bytes_received < result.bytes_written / 3


def test_the_download_carries_no_sp_api_or_lwa_header(
    amazon_factory, amazon_client_factory
):
    api = amazon_factory()
    client = amazon_client_factory(api)
    report = next(iter(client.list_settlement_reports(US)))

    client.download_report(report, io.BytesIO())

    (download,) = api.server.requests_to("/storage/")
    assert "x-amz-access-token" not in download.headers
    assert "authorization" not in download.headers
    (document,) = api.server.requests_to(DOCUMENTS)
    assert document.headers["x-amz-access-token"].startswith("Atza|")


def test_an_expired_url_is_asked_again_once(amazon_factory, amazon_client_factory):
    api = amazon_factory()
    client = amazon_client_factory(api)
    report = next(iter(client.list_settlement_reports(US)))
    document = client.get_report_document(report.document_id)
    api.expire_urls()

    dest = io.BytesIO()
    result = client.download_document(document, dest)

    assert result.url_renewals == 1
    assert dest.getvalue().startswith(b"settlement-id\t")
    assert len(api.server.requests_to(DOCUMENTS)) == 2
    assert [r.status for r in api.server.requests_to("/storage/")] == [403, 200]


def test_a_url_that_expires_again_is_a_clear_error(
    amazon_factory, amazon_client_factory
):
    api = amazon_factory(url_lifetime=0.000001)
    client = amazon_client_factory(api)
    report = next(iter(client.list_settlement_reports(US)))

    with pytest.raises(AmazonRequestError, match="even with a new link"):
        client.download_report(report, io.BytesIO())

    assert len(api.server.requests_to(DOCUMENTS)) == 2


@pytest.mark.parametrize(
    ("kind", "words"), [("flip", "corrupt or cut short"), ("truncate", "cut short")]
)
def test_corrupt_gzip_is_a_document_error(
    amazon_factory, amazon_client_factory, kind, words
):
    api = amazon_factory(compression="GZIP")
    client = amazon_client_factory(api)
    report = next(iter(client.list_settlement_reports(US)))
    api.corrupt_next_download(kind)

    with pytest.raises(AmazonDocumentError, match=words) as caught:
        client.download_report(report, io.BytesIO())

    assert report.document_id in str(caught.value)
    assert "downloaded again at the next fetch" in str(caught.value)


def test_a_download_cut_short_restarts_in_a_seekable_file(
    amazon_factory, amazon_client_factory, tmp_path
):
    api = amazon_factory(compression="GZIP")
    client = amazon_client_factory(api)
    report = next(iter(client.list_settlement_reports(US)))
    served = next(r for r in api.reports if r.report_id == report.report_id)
    api.corrupt_next_download("cut")

    with open(tmp_path / "report.txt", "w+b") as dest:
        dest.write(b"kept before")
        client.download_report(report, dest)
        dest.seek(0)
        data = dest.read()

    assert data == b"kept before" + gzip.decompress(served.path.read_bytes())
    assert [r.status for r in api.server.requests_to("/storage/")] == [200, 200]


def test_a_download_cut_short_into_a_stream_is_a_network_error(
    amazon_factory, amazon_client_factory
):
    class Pipe(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            return len(data)

    api = amazon_factory(compression="GZIP")
    client = amazon_client_factory(api)
    report = next(iter(client.list_settlement_reports(US)))
    api.corrupt_next_download("cut")

    with pytest.raises(AmazonNetworkError, match="cut short"):
        client.download_report(report, Pipe())


def test_document_repr_hides_the_presigned_url(amazon_factory, amazon_client_factory):
    api = amazon_factory()
    client = amazon_client_factory(api)
    report = next(iter(client.list_settlement_reports(US)))
    document = client.get_report_document(report.document_id)
    assert isinstance(document, ReportDocument)
    assert "X-Amz-Signature" in document.url
    assert "X-Amz" not in repr(document) and "storage" not in repr(document)


# -- throttling and faults ---------------------------------------------------------


def test_429_backs_off_exponentially_then_succeeds(
    amazon_factory, amazon_client_factory, sleeps
):
    api = amazon_factory()
    client = amazon_client_factory(api, backoff_base=1.0)
    client.access_token()
    api.server.fail_next(2, status=429)

    assert client.test_connection(US) == {"reports": 2}

    assert len(sleeps.waits) == 2
    assert 0.5 <= sleeps.waits[0] <= 1.0 and 1.0 <= sleeps.waits[1] <= 2.0


def test_429_with_a_fractional_retry_after_is_honoured(
    amazon_factory, amazon_client_factory, sleeps
):
    api = amazon_factory()
    client = amazon_client_factory(api)
    client.access_token()
    api.server.fail_next(1, status=429, retry_after="0.25")
    client.test_connection(US)
    assert sleeps.waits == [0.25]


def test_the_sandbox_token_bucket_is_backed_off_for_real(
    amazon_factory, amazon_client_factory
):
    # getReports at 0.0222/s x 200 = a token every 225 ms after a burst of 10;
    # no client-side limit here, so the client meets 429s and backs off.
    api = amazon_factory(rate_limits=PUBLISHED_RATE_LIMITS, speedup=200)
    client = amazon_client_factory(
        api, sleep=time.sleep, backoff_base=0.1, backoff_max=0.4
    )
    for _round in range(8):
        assert len(list(client.list_settlement_reports(US, page_size=1))) == 2

    statuses = [r.status for r in api.server.requests_to(REPORTS)]
    assert 429 in statuses and statuses.count(200) == 16


def test_the_client_side_bucket_keeps_below_the_published_rate(
    amazon_factory, amazon_client_factory
):
    # The client paces at half the sandbox's rate: network jitter cannot
    # bring two requests closer than the sandbox's interval.
    api = amazon_factory(rate_limits=PUBLISHED_RATE_LIMITS, speedup=2000)
    client = amazon_client_factory(
        api, sleep=time.sleep, rate_limits=None, rate_speedup=1000
    )
    for _round in range(8):
        list(client.list_settlement_reports(US, page_size=1))

    statuses = [r.status for r in api.server.requests_to(REPORTS)]
    assert statuses == [200] * 16, "paced by the client, never throttled"


def test_max_wait_raises_throttled_instead_of_sleeping(
    amazon_factory, amazon_client_factory, sleeps
):
    # Published rate, a clock that does not move: after the burst of 10, the
    # next getReports would wait 45 s; a cron passes max_wait=5.
    api = amazon_factory()
    client = amazon_client_factory(api, rate_limits=None, max_wait=5, clock=FakeClock())
    for _call in range(10):
        client.test_connection(US)

    with pytest.raises(AmazonThrottledError) as caught:
        client.test_connection(US)

    error = caught.value
    assert isinstance(error, ThrottledError)
    assert 44 < error.retry_after < 46
    assert "continues at the next run" in str(error)
    assert sleeps.waits == [], "never slept"
    assert len(api.server.requests_to(REPORTS)) == 10


def test_a_long_retry_after_is_not_slept_with_max_wait(
    amazon_factory, amazon_client_factory, sleeps
):
    api = amazon_factory()
    client = amazon_client_factory(api, max_wait=5)
    client.access_token()
    api.server.fail_next(1, status=429, retry_after="600")

    with pytest.raises(AmazonThrottledError, match="600 seconds") as caught:
        client.test_connection(US)

    assert caught.value.retry_after == 600 and caught.value.status == 429
    assert sleeps.waits == []


def test_server_errors_html_pages_and_resets_are_retried(
    amazon_factory, amazon_client_factory, sleeps
):
    api = amazon_factory()
    client = amazon_client_factory(api)
    client.access_token()
    api.server.fail_next(1, status=503)
    api.server.script_responses(
        [
            {
                "status": 200,
                "body": "<html>Service Unavailable</html>",
                "headers": {"Content-Type": "text/html"},
            },
            "reset",
        ]
    )

    assert client.test_connection(US) == {"reports": 2}

    assert [r.status for r in api.server.requests_to(REPORTS)] == [503, 200, -1, 200]
    assert len(sleeps.waits) == 3


def test_server_errors_beyond_the_bound(amazon_factory, amazon_client_factory):
    api = amazon_factory()
    client = amazon_client_factory(api, max_retries=2)
    client.access_token()
    api.server.fail_next(5, status=500)

    with pytest.raises(AmazonServerError, match=r"HTTP 500.*3 time\(s\) in a row"):
        client.test_connection(US)


def test_a_400_is_not_retried(amazon_factory, amazon_client_factory, sleeps):
    api = amazon_factory()
    client = amazon_client_factory(api)
    client.access_token()
    api.server.fail_next(3, status=400)

    with pytest.raises(AmazonRequestError, match="HTTP 400") as caught:
        client.test_connection(US)

    assert caught.value.status == 400 and sleeps.waits == []
    assert len(api.server.requests_to(REPORTS)) == 1


# -- configuration -------------------------------------------------------------------


def test_region_endpoints():
    for region, host in [
        ("NA", "https://sellingpartnerapi-na.amazon.com"),
        ("eu", "https://sellingpartnerapi-eu.amazon.com"),
        ("FE", "https://sellingpartnerapi-fe.amazon.com"),
    ]:
        client = AmazonClient("id", "secret-123", "Atzr|token", region)
        assert client.endpoint == host and client.region == region.upper()
    with pytest.raises(AmazonConfigError, match="not an Amazon selling region"):
        AmazonClient("id", "secret-123", "Atzr|token", "SA")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "http://sellingpartnerapi-na.amazon.com"}, "must use https"),
        ({"token_url": "http://10.1.2.3/auth/o2/token"}, "must use https"),
        ({"endpoint": "ftp://example.com"}, "not a web address"),
        ({"endpoint": "https://u:p@example.com"}, "must not contain"),
        ({"rate_speedup": 0}, "speed-up"),
        ({"timeout": 0}, "timeouts"),
    ],
)
def test_settings_are_checked(options, message):
    with pytest.raises(AmazonConfigError, match=message):
        AmazonClient("id", "secret-123", "Atzr|token", **options)


@pytest.mark.parametrize("secret", ["", "  ", None, "two words", "line\nbreak"])
def test_unusable_secrets_are_refused_without_echo(secret):
    with pytest.raises(AmazonConfigError) as caught:
        AmazonClient("id", secret, "Atzr|token")
    if secret and secret.strip():
        assert secret.strip() not in str(caught.value)


def test_amazon_dates():
    assert parse_amazon_time("2025-01-15T08:00:00+00:00") == datetime(
        2025, 1, 15, 8, tzinfo=timezone.utc
    )
    assert parse_amazon_time("2025-01-15T08:00:00.1Z") == datetime(
        2025, 1, 15, 8, 0, 0, 100_000, tzinfo=timezone.utc
    )
    assert parse_amazon_time("2025-01-15T10:00:00+02:00").hour == 8
    assert parse_amazon_time(None) is None


# -- no secret anywhere ----------------------------------------------------------------


def test_secrets_absent_from_logs_errors_and_reprs(
    amazon_factory, amazon_client_factory, caplog
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    secret = "amzn1.oa2-cs.v1.TOP-SECRET-4c1d9e"
    refresh = "Atzr|IwEBREFRESH-SECRET-77aa01"
    api = amazon_factory(client_secret=secret, refresh_token=refresh)
    client = amazon_client_factory(api, max_retries=1)
    errors = []

    def attempt(call):
        try:
            call()
        except AmazonError as error:
            errors.append(error)

    reports = list(client.list_settlement_reports(US))
    client.download_report(reports[0], io.BytesIO())
    document = client.get_report_document(reports[1].document_id)
    api.expire_urls()
    client.download_document(document, io.BytesIO())
    echo = f"secret {secret} refresh {refresh} token {client.access_token()}"
    api.server.fail_next(2, status=503, body={"errors": [{"message": echo}]})
    attempt(lambda: client.test_connection(US))
    api.server.fail_next(1, status=400, body={"errors": [{"message": echo}]})
    attempt(lambda: client.test_connection(US))
    api.deny_access = True
    attempt(lambda: client.test_connection(US))
    api.deny_access = False
    wrong = amazon_client_factory(api, client_secret=secret + "x")
    attempt(lambda: wrong.test_connection(US))
    api.revoke_refresh_token()
    revoked = amazon_client_factory(api, refresh_token=refresh)
    attempt(lambda: revoked.test_connection(US))

    assert len(errors) == 5, [type(e).__name__ for e in errors]
    access_tokens = list(api._tokens)
    signatures = [
        dict(parse_qsl(r.query))["X-Amz-Signature"]
        for r in api.server.requests_to("/storage/")
    ]
    assert access_tokens and signatures
    hidden = [secret, refresh, *access_tokens, *signatures]
    for error in errors:
        text = "".join(traceback.format_exception(error))
        for value in hidden:
            assert value not in text, f"secret in {type(error).__name__}: {error}"
    assert "***" in str(errors[0]) and "***" in str(errors[1]), "echoes are masked"
    for value in hidden:
        assert value not in repr(client) and value not in caplog.text
    assert caplog.records, "the client and urllib3 should have logged something"
    assert any("/storage/" in r.getMessage() for r in caplog.records)
