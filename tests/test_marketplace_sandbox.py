"""The marketplace sandbox itself, seen with a plain HTTP client (urllib, no
Amazon or Walmart client): Login with Amazon, the Reports API's shapes,
paging, errors and rate limits, the pre-signed downloads, the settlement
files it writes, Walmart's token and recon report endpoints and the recon
files they serve, and its command line."""

import base64
import csv
import gzip
import io
import re
import signal
import time
import urllib.error
import urllib.request
import uuid
import zipfile
import zlib
from datetime import date, datetime, timezone
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from tools.goflow_sandbox.dataset import build_dataset
from tools.marketplace_sandbox import cli, documents, walmart_files
from tools.marketplace_sandbox.amazon import SETTLEMENT_REPORT_TYPE
from tools.sandbox_client import call, read_line, sandbox_process

REPORTS = "/reports/2021-06-30/reports"


def token(api):
    status, _head, body = call(
        api.token_url,
        method="POST",
        form={
            "grant_type": "refresh_token",
            "refresh_token": api.refresh_token,
            "client_id": api.client_id,
            "client_secret": api.client_secret,
        },
    )
    assert status == 200, body
    return body["access_token"]


def reports(api, access, **params):
    query = urlencode(params)
    return call(
        f"{api.server.url}{REPORTS}?{query}", headers={"x-amz-access-token": access}
    )


SETTLEMENTS_DONE = {"reportTypes": SETTLEMENT_REPORT_TYPE, "processingStatuses": "DONE"}


# -- Login with Amazon ----------------------------------------------------------


def test_token_exchange_answers_like_lwa(amazon_factory):
    api = amazon_factory(dataset=None, token_lifetime=3600)
    status, head, body = call(
        api.token_url,
        method="POST",
        form={
            "grant_type": "refresh_token",
            "refresh_token": api.refresh_token,
            "client_id": api.client_id,
            "client_secret": api.client_secret,
        },
    )
    assert status == 200 and head["Content-Type"].startswith("application/json")
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|other"}, 400, "invalid_grant"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_errors_are_oauth_shaped(amazon_factory, change, status, error):
    api = amazon_factory(dataset=None)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": api.refresh_token,
        "client_id": api.client_id,
        "client_secret": api.client_secret,
    }
    form.update(change)
    got, _head, body = call(api.token_url, method="POST", form=form)
    assert got == status
    assert body["error"] == error and body["error_description"]


def test_a_revoked_refresh_token_is_an_invalid_grant(amazon_factory):
    api = amazon_factory(dataset=None)
    old = api.refresh_token
    api.revoke_refresh_token()
    status, _head, body = call(
        api.token_url,
        method="POST",
        form={
            "grant_type": "refresh_token",
            "refresh_token": old,
            "client_id": api.client_id,
            "client_secret": api.client_secret,
        },
    )
    assert (status, body["error"]) == (400, "invalid_grant")


# -- SP-API authorisation ------------------------------------------------------------


def test_missing_expired_and_denied_tokens_are_403_unauthorized(amazon_factory):
    api = amazon_factory(token_lifetime=0.3)
    access = token(api)
    assert reports(api, access, **SETTLEMENTS_DONE)[0] == 200

    status, _head, body = reports(api, "Atza|forged", **SETTLEMENTS_DONE)
    assert status == 403 and body["errors"][0]["code"] == "Unauthorized"
    assert "revoked, malformed or invalid" in body["errors"][0]["details"]

    time.sleep(0.35)
    status, _head, body = reports(api, access, **SETTLEMENTS_DONE)
    assert status == 403 and "has expired" in body["errors"][0]["details"]

    api.deny_access = True
    status, _head, body = reports(api, token(api), **SETTLEMENTS_DONE)
    assert status == 403
    assert body["errors"][0] == {
        "code": "Unauthorized",
        "message": "Access to requested resource is denied.",
        "details": "",
    }


# -- getReports ---------------------------------------------------------------------


def test_reports_are_filtered_newest_first_with_amazon_shapes(amazon_factory):
    api = amazon_factory()
    access = token(api)

    status, head, body = reports(api, access, **SETTLEMENTS_DONE)

    assert status == 200 and "x-amzn-RateLimit-Limit" not in head
    listed = body["reports"]
    assert "nextToken" not in body
    assert len(listed) == 2, "two 14-day periods of settlements"
    created = [item["createdTime"] for item in listed]
    assert created == sorted(created, reverse=True)
    for item in listed:
        assert item["reportType"] == SETTLEMENT_REPORT_TYPE
        assert item["processingStatus"] == "DONE"
        assert item["marketplaceIds"] == ["ATVPDKIKX0DER"]
        assert item["reportDocumentId"].startswith("amzn1.spdoc.")
        assert {"reportId", "dataStartTime", "dataEndTime", "processingEndTime"} <= set(
            item
        )

    _status, _head, body = reports(
        api, access, reportTypes=SETTLEMENT_REPORT_TYPE, pageSize=100
    )
    statuses = sorted(item["processingStatus"] for item in body["reports"])
    assert statuses == ["DONE", "DONE", "IN_PROGRESS"]
    in_progress = next(
        item for item in body["reports"] if item["processingStatus"] == "IN_PROGRESS"
    )
    assert "reportDocumentId" not in in_progress

    _status, _head, body = reports(
        api,
        access,
        reportTypes="GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA,"
        "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
    )
    assert len(body["reports"]) == 2


def test_marketplace_and_creation_filters(amazon_factory):
    api = amazon_factory()
    access = token(api)
    _status, _head, body = reports(api, access, **SETTLEMENTS_DONE)
    newest, oldest = body["reports"]

    _status, _head, body = reports(
        api, access, **SETTLEMENTS_DONE, createdSince=newest["createdTime"]
    )
    assert [item["reportId"] for item in body["reports"]] == [newest["reportId"]]
    _status, _head, body = reports(
        api, access, **SETTLEMENTS_DONE, createdUntil=oldest["createdTime"]
    )
    assert [item["reportId"] for item in body["reports"]] == [oldest["reportId"]]
    _status, _head, body = reports(
        api, access, **SETTLEMENTS_DONE, marketplaceIds="A1PA6795UKMFR9"
    )
    assert body["reports"] == []


def test_next_token_pages_and_must_come_alone(amazon_factory):
    api = amazon_factory()
    access = token(api)

    seen = []
    pages = 0
    status, _head, body = reports(
        api, access, reportTypes=SETTLEMENT_REPORT_TYPE, pageSize=2
    )
    while True:
        assert status == 200, body
        pages += 1
        seen += [item["reportId"] for item in body["reports"]]
        if "nextToken" not in body:
            break
        status, _head, body = reports(api, access, nextToken=body["nextToken"])
    assert len(seen) == len(set(seen)) == 3 and pages == 2

    _status, _head, first = reports(api, access, **SETTLEMENTS_DONE, pageSize=1)
    status, _head, body = reports(api, access, nextToken=first["nextToken"], pageSize=1)
    assert status == 400 and body["errors"][0]["code"] == "InvalidInput"
    assert "nextToken" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"processingStatuses": "DONE"},  # no reportTypes
        {**SETTLEMENTS_DONE, "pageSize": "101"},
        {**SETTLEMENTS_DONE, "pageSize": "0"},
        {**SETTLEMENTS_DONE, "processingStatuses": "FINISHED"},
        {**SETTLEMENTS_DONE, "createdSince": "yesterday"},
        {"nextToken": "never-given"},
    ],
)
def test_bad_report_queries_are_400_invalid_input(amazon_factory, params):
    api = amazon_factory(dataset=None)
    status, _head, body = reports(api, token(api), **params)
    assert status == 400 and body["errors"][0]["code"] == "InvalidInput"


def test_ignored_filters_let_other_reports_through(amazon_factory):
    api = amazon_factory()
    api.ignored_filters = {"reportTypes", "processingStatuses"}
    _status, _head, body = reports(api, token(api), **SETTLEMENTS_DONE, pageSize=10)
    assert len(body["reports"]) == 5, "2 settlements + IN_PROGRESS + 2 other types"


def test_rate_limit_per_operation_with_speedup(amazon_factory):
    # getReports: burst 10, then 0.0222/s; x 100 = a token every 450 ms.
    api = amazon_factory(
        dataset=None,
        rate_limits={"getReports": (0.0222, 10), "getReportDocument": (0.0167, 15)},
        speedup=100,
    )
    access = token(api)
    statuses = [reports(api, access, **SETTLEMENTS_DONE)[0] for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    status, head, body = reports(api, access, **SETTLEMENTS_DONE)
    assert status == 429 and body["errors"][0]["code"] == "QuotaExceeded"
    assert "Retry-After" not in head, "Amazon does not promise Retry-After"
    time.sleep(0.5)
    status, head, _body = reports(api, access, **SETTLEMENTS_DONE)
    assert status == 200 and head["x-amzn-RateLimit-Limit"] == "2.22"

    api.retry_after = True
    while True:
        status, head, _body = reports(api, access, **SETTLEMENTS_DONE)
        if status == 429:
            break
    assert 0 < float(head["Retry-After"]) <= 0.46


# -- documents and downloads -------------------------------------------------------


def _document(api, access, report):
    status, _head, body = call(
        f"{api.server.url}/reports/2021-06-30/documents/{report.document_id}",
        headers={"x-amz-access-token": access},
    )
    assert status == 200, body
    return body


def test_documents_gzip_and_plain_with_a_presigned_url(amazon_factory):
    api = amazon_factory(compression="mixed")
    access = token(api)
    gz_report, plain_report = [r for r in api.reports if r.settlement_id]

    body = _document(api, access, gz_report)
    assert body["compressionAlgorithm"] == "GZIP"
    assert body["reportDocumentId"] == gz_report.document_id
    assert "X-Amz-Signature=" in body["url"] and "X-Amz-Expires=300" in body["url"]
    status, head, data = call(body["url"])
    assert status == 200 and head["Content-Type"] == "application/octet-stream"
    text = gzip.decompress(data).decode()
    assert text.startswith("settlement-id\tsettlement-start-date")
    assert text.splitlines()[1].split("\t")[0] == gz_report.settlement_id

    body = _document(api, access, plain_report)
    assert "compressionAlgorithm" not in body
    status, head, data = call(body["url"])
    assert status == 200 and head["Content-Type"].startswith("text/plain")
    assert data.decode().splitlines()[1].split("\t")[0] == plain_report.settlement_id


def test_download_urls_expire_and_refuse_api_credentials(amazon_factory):
    api = amazon_factory(url_lifetime=0.3)
    access = token(api)
    report = next(r for r in api.reports if r.settlement_id)
    url = _document(api, access, report)["url"]

    status, _head, body = call(url, headers={"x-amz-access-token": access})
    assert status == 400 and b"<Code>InvalidArgument</Code>" in body
    status, _head, body = call(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    assert status == 403 and b"SignatureDoesNotMatch" in body
    assert call(url)[0] == 200
    time.sleep(0.35)
    status, head, body = call(url)
    assert status == 403 and head["Content-Type"] == "application/xml"
    assert b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body


def test_corruption_knobs(amazon_factory):
    api = amazon_factory(compression="GZIP")
    access = token(api)
    report = next(r for r in api.reports if r.settlement_id)

    api.corrupt_next_download("flip")
    _status, _head, data = call(_document(api, access, report)["url"])
    with pytest.raises((zlib.error, OSError)):
        gzip.decompress(data)

    api.corrupt_next_download("truncate")
    status, _head, data = call(_document(api, access, report)["url"])
    assert status == 200
    with pytest.raises(EOFError):
        gzip.decompress(data)

    api.corrupt_next_download("cut")
    with pytest.raises((urllib.error.URLError, OSError, ValueError)):
        with urllib.request.urlopen(_document(api, access, report)["url"]) as answer:
            answer.read()

    _status, _head, data = call(_document(api, access, report)["url"])
    assert gzip.decompress(data).startswith(b"settlement-id"), "one spoiled only"


# -- settlement files ----------------------------------------------------------------


def test_settlements_match_the_goflow_sandbox_orders(tmp_path):
    dataset = build_dataset(orders=300, skus=30, seed=4)
    files = documents.settlements_from_dataset(
        dataset, tmp_path, first_settlement_id=777
    )

    assert [f.settlement_id for f in files] == ["777", "778"]
    assert files[0].start == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert files[1].start == datetime(2025, 1, 15, tzinfo=timezone.utc)
    order_ids = []
    for item in files:
        rows = item.path.read_text().splitlines()[2:]
        ids = {row.split("\t")[7] for row in rows if row.split("\t")[6] == "Order"}
        order_ids.append(ids)
    assert not order_ids[0] & order_ids[1], "each order settles once"
    with_products = {
        order["order_number"]
        for order in dataset.orders
        if any(line.get("product") for line in order["lines"])
    }
    assert order_ids[0] | order_ids[1] == with_products


def test_gzip_copy_and_summary_of_either_form(tmp_path):
    plain = documents.settlements_from_dataset(
        build_dataset(orders=40, skus=10, seed=2), tmp_path
    )[0]
    packed = documents.gzip_file(plain.path, tmp_path / "copy.gz")
    assert gzip.decompress(packed.read_bytes()) == plain.path.read_bytes()
    summary = documents.read_summary(packed)
    assert summary.gzipped and not plain.gzipped
    assert (summary.settlement_id, summary.end) == (plain.settlement_id, plain.end)


def test_bench_settlement_is_generated_once(tmp_path):
    first = documents.bench_settlement(orders=300, seed=3, directory=tmp_path)
    stamp = first.stat().st_mtime_ns
    again = documents.bench_settlement(orders=300, seed=3, directory=tmp_path)

    assert again == first and again.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name], "no partial left"
    with gzip.open(first, "rt") as handle:
        rows = sum(1 for _line in handle)
    assert rows > 300 * 4
    assert documents.read_summary(first).gzipped


def test_a_served_file_is_gzipped_streamed_and_listed(amazon_factory, tmp_path):
    plain = documents.settlements_from_dataset(
        build_dataset(orders=40, skus=10, seed=2), tmp_path, first_settlement_id=42
    )[0]
    api = amazon_factory(dataset=None, distractors=False)
    report = api.add_report(plain.path, compression="GZIP")

    assert report.settlement_id == "42" and report.created_time == plain.deposit
    assert report.path.parent == api.workdir
    url = _document(api, token(api), report)["url"]
    assert gzip.decompress(call(url)[2]) == plain.path.read_bytes()


# -- command line ----------------------------------------------------------------------


def test_command_line_options_build_the_served_reports(tmp_path):
    plain = documents.settlements_from_dataset(
        build_dataset(orders=40, skus=10, seed=2), tmp_path, first_settlement_id=5
    )[0]
    args = cli.build_parser().parse_args(
        [
            "--port",
            "0",
            "--orders",
            "0",
            "--report-file",
            str(plain.path),
            "--compression",
            "none",
            "--no-distractors",
            "--bench-orders",
            "200",
            "--bench-dir",
            str(tmp_path / "bench"),
            "--no-rate-limit",
        ]
    )
    sandbox = cli.build_sandbox(args)
    try:
        api = sandbox.apps[0]
        served, bench = api.reports
        assert (served.settlement_id, served.compression) == ("5", None)
        assert bench.compression == "GZIP"
        assert bench.path.parent == tmp_path / "bench"
        assert api._buckets == {}
    finally:
        sandbox.stop()


def test_created_now_lists_report_files_as_new(tmp_path):
    plain = documents.settlements_from_dataset(
        build_dataset(orders=40, skus=10, seed=2), tmp_path
    )[0]
    args = cli.build_parser().parse_args(
        [
            "--port",
            "0",
            "--orders",
            "0",
            "--no-distractors",
            "--created-now",
            "--report-file",
            str(plain.path),
        ]
    )
    before = datetime.now(timezone.utc)
    sandbox = cli.build_sandbox(args)
    try:
        (served,) = sandbox.apps[0].reports
        assert served.created_time >= before, "created now, not at the deposit"
        assert served.data_end == plain.end
    finally:
        sandbox.stop()


def test_command_line_serves_and_stops_on_sigterm():
    args = ["--port", "0", "--orders", "120", "--skus", "20", "--seed", "3"]
    with sandbox_process(
        "tools.marketplace_sandbox", *args, "--speedup", "100"
    ) as process:
        line = read_line(process.stdout, timeout=15)
        assert line, "the sandbox printed no URL line"
        match = re.search(r"serving (http://127\.0\.0\.1:\d+) ", line)
        assert match and "2 settlement report(s) of 5" in line, line
        url = match.group(1)
        status, _head, body = call(
            f"{url}/auth/o2/token",
            method="POST",
            form={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|sandbox-refresh-token-0000000000000000",
                "client_id": "amzn1.application-oa2-client.sandbox0000000000000000",
                "client_secret": "amzn1.oa2-cs.v1.sandbox-client-secret-0000000000",
            },
        )
        assert status == 200, body
        status, _head, listed = call(
            f"{url}{REPORTS}?{urlencode(SETTLEMENTS_DONE)}",
            headers={"x-amz-access-token": body["access_token"]},
        )
        assert status == 200 and len(listed["reports"]) == 2

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0


# -- Walmart ------------------------------------------------------------------------


WM_AVAILABLE = "/v3/report/reconreport/availableReconFiles?reportVersion=v1"
WM_RECON = "/v3/report/reconreport/reconFile"


def wm_headers(**extra):
    headers = {
        "WM_SVC.NAME": "Walmart Marketplace",
        "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
        "Accept": "application/json",
    }
    headers.update(extra)
    return headers


def wm_basic(client_id, client_secret):
    pair = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    return f"Basic {pair}"


def wm_token(api, **headers):
    return call(
        api.token_url,
        method="POST",
        form={"grant_type": "client_credentials"},
        headers=wm_headers(
            Authorization=wm_basic(api.client_id, api.client_secret), **headers
        ),
    )


def wm_access(api):
    status, _head, body = wm_token(api)
    assert status == 200, body
    return body["access_token"]


def test_walmart_token_answers_json_or_xml_by_accept(walmart_factory):
    api = walmart_factory()

    status, head, body = wm_token(api)
    assert status == 200 and head["Content-Type"].startswith("application/json")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900

    status, head, xml = wm_token(api, Accept="application/xml")
    assert status == 200 and head["Content-Type"] == "application/xml"
    assert b"<accessToken>" in xml and b"<expiresIn>900</expiresIn>" in xml


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"Authorization": "Basic bm90OnJpZ2h0"}, 401, "UNAUTHORIZED"),
        ({"Authorization": "Bearer abc"}, 401, "UNAUTHORIZED"),
        ({"WM_SVC.NAME": ""}, 400, "INVALID_REQUEST_HEADER"),
        ({"WM_QOS.CORRELATION_ID": ""}, 400, "INVALID_REQUEST_HEADER"),
    ],
)
def test_walmart_token_checks_credentials_and_headers(
    walmart_factory, change, status, code
):
    api = walmart_factory()
    headers = wm_headers(Authorization=wm_basic(api.client_id, api.client_secret))
    headers.update(change)
    headers = {name: value for name, value in headers.items() if value}

    got, _head, body = call(
        api.token_url,
        method="POST",
        form={"grant_type": "client_credentials"},
        headers=headers,
    )

    assert got == status
    assert body["errors"][0]["code"].startswith(code)


def test_walmart_token_wants_client_credentials(walmart_factory):
    api = walmart_factory()
    status, _head, body = call(
        api.token_url,
        method="POST",
        form={"grant_type": "refresh_token"},
        headers=wm_headers(Authorization=wm_basic(api.client_id, api.client_secret)),
    )
    assert status == 400 and body["errors"][0]["field"] == "grant_type"


def test_walmart_api_refuses_missing_and_expired_tokens(walmart_factory):
    api = walmart_factory(token_lifetime=0.3)
    url = api.base_url + WM_AVAILABLE
    access = wm_access(api)

    assert call(url, headers=wm_headers(**{"WM_SEC.ACCESS_TOKEN": access}))[0] == 200
    assert call(url, headers=wm_headers())[0] == 401
    time.sleep(0.35)
    status, _head, body = call(
        url, headers=wm_headers(**{"WM_SEC.ACCESS_TOKEN": access})
    )
    assert status == 401 and body["errors"][0]["description"] == "Unauthorized"

    access = wm_access(api)
    api.deny_access = True
    assert call(url, headers=wm_headers(**{"WM_SEC.ACCESS_TOKEN": access}))[0] == 403


def test_walmart_lists_and_serves_recon_zips(walmart_factory, tmp_path):
    api = walmart_factory()
    folder = tmp_path / "recon"
    folder.mkdir()
    walmart_files.write_sample_recon(folder / "a.csv", period_end=date(2026, 3, 6))
    csv_path = tmp_path / "b.csv"
    walmart_files.write_sample_recon(csv_path, period_end=date(2026, 3, 20))
    walmart_files.zip_recon(csv_path, folder / "b.zip", date(2026, 3, 23))
    api.add_folder(folder)
    api.add_recon_file(csv_path.read_bytes(), report_date=date(2026, 4, 6))
    token = {"WM_SEC.ACCESS_TOKEN": wm_access(api)}

    status, _head, body = call(api.base_url + WM_AVAILABLE, headers=wm_headers(**token))
    assert status == 200
    assert body == {"availableApReportDates": ["03092026", "03232026", "04062026"]}

    url = f"{api.base_url}{WM_RECON}?reportDate=03092026&reportVersion=v1"
    status, head, data = call(
        url, headers=wm_headers(Accept="application/octet-stream", **token)
    )
    assert status == 200 and head["Content-Type"] == "application/octet-stream"
    assert "_MP_03092026_reconciliationreport_v1.zip" in head["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode()
    assert name == "Sandbox_Seller_10000000001_MP_03092026_reconciliationreport_v1.csv"
    assert text == (folder / "a.csv").read_text()

    for query, expected in (
        ("reportDate=01012020&reportVersion=v1", 404),
        ("reportDate=someday&reportVersion=v1", 400),
        ("reportDate=03092026", 400),
    ):
        got = call(f"{api.base_url}{WM_RECON}?{query}", headers=wm_headers(**token))
        assert got[0] == expected, query


def test_walmart_records_the_correlation_ids(walmart_factory):
    api = walmart_factory()
    headers = wm_headers(**{"WM_SEC.ACCESS_TOKEN": wm_access(api)})
    call(api.base_url + WM_AVAILABLE, headers=headers)

    assert len(api.correlation_ids) == 2
    assert api.correlation_ids[1] == headers["WM_QOS.CORRELATION_ID"]
    assert api.service_names == ["Walmart Marketplace"] * 2


def test_walmart_faults_are_walmart_shaped(walmart_factory):
    api = walmart_factory()
    url = api.base_url + WM_AVAILABLE

    api.throttle_next(1, retry_after=2.5)
    status, head, body = call(url, headers=wm_headers())
    assert (status, head["Retry-After"]) == (429, "2.5")
    assert body["errors"][0]["description"] == "Too Many Requests"

    api.server_error_next(1, status=503)
    assert call(url, headers=wm_headers())[0] == 503

    api.html_next(1)
    status, head, page = call(url, headers=wm_headers())
    assert status == 200 and head["Content-Type"].startswith("text/html")
    assert page.startswith(b"<!DOCTYPE html>")


def test_the_builtin_recon_file_is_a_recon_v1_file(tmp_path):
    path = tmp_path / "sample.csv"
    written = walmart_files.write_sample_recon(path, period_end=date(2026, 2, 13))

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, preamble, summary, *transactions = rows
    assert len(header) == 43 and header[:3] == [
        "Period Start Date",
        "Period End Date",
        "Total Payable",
    ]
    assert preamble[0].rstrip() == f"Number of Lines in file {len(rows) - 2}"
    assert len(summary) == 34 and summary[6] == "PaymentSummary"
    assert all(len(row) == 43 for row in transactions)
    amount = header.index("Amount")
    total = sum(Decimal(row[amount]) for row in transactions)
    assert total == written.total_payable == Decimal(summary[2])
    kinds = {row[header.index("Transaction Type")] for row in transactions}
    assert kinds == {"Sale", "Refund", "Adjustment", "Service Fee"}
    assert walmart_files.read_recon_summary(path) == written
    assert path.read_text().splitlines()[3].startswith('"",')


def test_command_line_serves_walmart_alone_or_beside_amazon(tmp_path):
    walmart_files.write_sample_recon(tmp_path / "a.csv")
    both = cli.build_sandbox(
        cli.build_parser().parse_args(
            ["--port", "0", "--orders", "0", "--recon-file", str(tmp_path)]
        )
    )
    alone = cli.build_sandbox(
        cli.build_parser().parse_args(
            ["--port", "0", "--marketplace", "walmart", "--walmart-rate-limit", "2"]
        )
    )
    try:
        assert [type(app).__name__ for app in both.apps] == ["AmazonApi", "WalmartApi"]
        assert len(both.apps[1].files) == 1
        line = cli.describe(both)
        assert "Amazon SP-API endpoint" in line and "1 recon file(s)" in line
        (api,) = alone.apps
        assert type(api).__name__ == "WalmartApi" and len(api._buckets) == 2
        assert "Amazon" not in cli.describe(alone)
    finally:
        both.stop()
        alone.stop()
