"""Walmart's side of the marketplace sandbox: the Marketplace token endpoint
and the reconciliation report (v1) endpoints.

Routes (mount on a :class:`~tools.marketplace_sandbox.server.MarketplaceSandbox`):

``POST /v3/token``
    ``grant_type=client_credentials`` with ``Authorization: Basic
    base64(client id:client secret)``; wrong or missing credentials -> 401;
    another grant -> 400. Answers JSON when asked ``Accept:
    application/json``, else XML (as Walmart does). Access tokens expire
    after ``token_lifetime`` seconds (900, as Walmart's).
``GET /v3/report/reconreport/availableReconFiles?reportVersion=v1``
    ``{"availableApReportDates": ["MMDDYYYY", ...]}``, oldest first
    (``date_style`` answers another form, to test a reader's tolerance).
``GET /v3/report/reconreport/reconFile?reportDate=MMDDYYYY&reportVersion=v1``
    the zip of that date (one CSV inside), streamed from disk; 404 for a
    date without a file; 400 for a date that is no date.

Every call needs ``WM_SVC.NAME`` and ``WM_QOS.CORRELATION_ID`` (400
``INVALID_REQUEST_HEADER`` otherwise); the correlation ids received are kept
in :attr:`WalmartApi.correlation_ids`. API calls need ``WM_SEC.ACCESS_TOKEN``:
401 when it is missing, unknown or expired, 403 for every call while
``deny_access`` is set (an API key without the Reports permission).

Faults, beside the server's own (``fail_next``, ``reset_next``,
``script_responses`` with delays, ``latency_ms``): :meth:`throttle_next`
(429 with ``Retry-After``), :meth:`server_error_next` (5xx),
:meth:`html_next` (a maintenance page answered 200), per-operation rate
limits, :meth:`expire_tokens` and :meth:`corrupt_next_download`.

Walmart's names and numbers are written here apart from the client's
constants on purpose: a wrong value in the client then fails a test.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from tools.marketplace_sandbox import walmart_files
from tools.marketplace_sandbox.server import Answer, SandboxApp
from tools.sandbox_http import TokenBucket

DEFAULT_CLIENT_ID = "8c1e4b8a-sandbox-0000-0000-walmart00001"
DEFAULT_CLIENT_SECRET = "AKw-sandbox-walmart-client-secret-000000000000000000"
SERVICE_NAME = "Walmart Marketplace"
TOKEN_LIFETIME = 900.0
PREFIX = "/v3/report/reconreport"
OPERATION_TOKEN = "token"
OPERATION_AVAILABLE = "availableReconFiles"
OPERATION_RECON_FILE = "reconFile"
DATE_STYLES = {
    "MMDDYYYY": "%m%d%Y",
    "YYYYMMDD": "%Y%m%d",
    "ISO": "%Y-%m-%d",
}
CORRUPTIONS = ("truncate", "cut")
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    "<body><h1>We'll be back soon</h1><p>Walmart Marketplace is under "
    "maintenance.</p></body></html>"
)

_THROTTLED = (
    "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API",
    "Too Many Requests",
    "Request Threshold Violation",
)
_INTERNAL = (
    "INTERNAL_SERVER_ERROR.GMP_REPORT_API",
    "Internal Server Error",
    "System encountered some internal error.",
)


def _errors(status, code, description, info="", headers=None, field="", key="errors"):
    """Walmart's error body."""
    body = {
        key: [
            {
                "code": code,
                "field": field,
                "description": description,
                "info": info,
                "severity": "ERROR",
                "category": "DATA",
                "causes": [],
                "errorIdentifiers": {},
            }
        ]
    }
    return Answer.json(status, body, headers)


def _unauthorized(info="Unauthorized token or invalid client id/secret"):
    return _errors(
        401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized", info, field="UNAUTHORIZED"
    )


@dataclass
class ReconFile:
    """A recon file the sandbox serves: ``path`` is its zip on disk."""

    report_date: date
    path: Path
    member: str
    summary: walmart_files.ReconSummary


class WalmartApi(SandboxApp):
    """Walmart token + recon report look-alike (see the module doc).

    :param client_id: the accepted client id
    :param client_secret: the accepted client secret
    :param token_lifetime: seconds an access token is accepted
    :param expires_in: what the token answer says (default: the lifetime);
        say 900 with a short lifetime to make a client meet an early expiry
    :param rate_limits: ``{operation: (rate per second, burst)}``;
        ``None`` = no limit
    :param retry_after: ``Retry-After`` seconds sent on 429 (``None``: none)
    :param date_style: how listed dates are written (:data:`DATE_STYLES`)
    :param sample: serve the built-in recon file when no other was added
        by the first request
    :param workdir: where zips are written (default: a temporary directory
        removed by :meth:`close`)
    :param clock: monotonic clock (token expiry, rate limits)
    """

    def __init__(
        self,
        *,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        token_lifetime=TOKEN_LIFETIME,
        expires_in=None,
        rate_limits=None,
        retry_after=1.0,
        date_style="MMDDYYYY",
        sample=True,
        workdir=None,
        clock=time.monotonic,
    ):
        if date_style not in DATE_STYLES:
            raise ValueError(f"date_style is one of {sorted(DATE_STYLES)}")
        super().__init__(workdir, "walmart-sandbox-", token_lifetime, expires_in, clock)
        self.client_id = client_id
        self.client_secret = client_secret
        self.retry_after = retry_after
        self.date_style = date_style
        self.deny_access = False
        self.files = {}  # date -> ReconFile
        self.correlation_ids = []  # every WM_QOS.CORRELATION_ID received
        self.service_names = []  # every WM_SVC.NAME received
        self._buckets = {}
        self.set_rate_limits(rate_limits)
        self._corrupt = []
        self._sample = sample

    # -- mounting --

    def routes(self):
        return [
            ("POST", re.compile(r"/v3/token"), self._token),
            ("GET", re.compile(PREFIX + r"/availableReconFiles"), self._available),
            ("GET", re.compile(PREFIX + r"/reconFile"), self._recon_file),
        ]

    @property
    def base_url(self):
        """The Marketplace API base URL of the mounted app."""
        return self.server.url

    @property
    def token_url(self):
        """The token URL of the mounted app."""
        return f"{self.server.url}/v3/token"

    # -- knobs --

    def set_rate_limits(self, rate_limits):
        """Token buckets per operation (``None`` = unlimited)."""
        self._buckets = {
            operation: TokenBucket(rate, burst, self.clock)
            for operation, (rate, burst) in (rate_limits or {}).items()
        }

    def corrupt_next_download(self, kind="truncate", count=1):
        """Spoil the next ``count`` downloads.

        :param kind: ``truncate`` (half the zip, complete as HTTP: a zip that
            does not open) or ``cut`` (the connection drops half-way)
        """
        if kind not in CORRUPTIONS:
            raise ValueError(f"kind is one of {CORRUPTIONS}")
        with self._lock:
            self._corrupt.extend([kind] * count)

    def throttle_next(self, count=1, retry_after=None):
        """Answer the next ``count`` requests 429, Walmart-shaped, with
        ``Retry-After`` (default: the app's)."""
        wait = self.retry_after if retry_after is None else retry_after
        headers = {} if wait is None else {"Retry-After": f"{wait:g}"}
        self._script(count, 429, self._error_body(*_THROTTLED), headers)

    def server_error_next(self, count=1, status=500):
        """Answer the next ``count`` requests with a Walmart-shaped 5xx."""
        self._script(count, status, self._error_body(*_INTERNAL))

    def html_next(self, count=1, status=200):
        """Answer the next ``count`` requests with a maintenance web page."""
        headers = {"Content-Type": "text/html; charset=utf-8"}
        self._script(count, status, MAINTENANCE_PAGE, headers)

    def _script(self, count, status, body, headers=None):
        answer = {"status": status, "body": body, "headers": dict(headers or {})}
        self.server.script_responses([answer] * count)

    @staticmethod
    def _error_body(code, description, info):
        return {
            "errors": [
                {
                    "code": code,
                    "description": description,
                    "info": info,
                    "severity": "ERROR",
                    "category": "SYSTEM",
                }
            ]
        }

    # -- files --

    def add_recon_file(self, source, report_date=None):
        """Serve one recon file.

        :param source: a recon CSV or zip on disk, or its bytes
        :param report_date: the date it is listed under (default: a few
            days after the period end of its summary row)
        :return: the :class:`ReconFile`
        """
        if isinstance(source, bytes | bytearray):
            staged = self.workdir / f"upload-{uuid.uuid4().hex}"
            staged.write_bytes(bytes(source))
            source = staged
        source = Path(source)
        summary = walmart_files.read_recon_summary(source)
        if report_date is None:
            report_date = walmart_files.report_date_of(summary)
            if report_date is None:
                raise ValueError(f"{source}: no period end; give the report date")
        stamp = report_date.strftime("%m%d%Y")
        with open(source, "rb") as probe:
            zipped = probe.read(4) == b"PK\x03\x04"
        if zipped:
            path = self.workdir / f"recon-{stamp}.zip"
            if source.resolve() != path:
                shutil.copyfile(source, path)
        else:
            path = walmart_files.zip_recon(
                source, self.workdir / f"recon-{stamp}.zip", report_date
            )
        recon = ReconFile(
            report_date, path, walmart_files.member_name(report_date), summary
        )
        with self._lock:
            self.files[report_date] = recon
        return recon

    def add_folder(self, folder):
        """Serve every ``*.csv`` and ``*.zip`` recon file of a folder.

        :return: the :class:`ReconFile` list, in name order
        """
        found = sorted(
            path
            for path in Path(folder).iterdir()
            if path.suffix.lower() in (".csv", ".zip") and path.is_file()
        )
        return [self.add_recon_file(path) for path in found]

    def add_sample(self, period_end=None, report_date=None):
        """Serve the built-in recon file (see :mod:`.walmart_files`)."""
        path = self.workdir / f"sample-{uuid.uuid4().hex[:8]}.csv"
        walmart_files.write_sample_recon(path, period_end=period_end)
        return self.add_recon_file(path, report_date)

    def _served(self):
        with self._lock:
            empty = not self.files
        if empty and self._sample:
            self._sample = False
            self.add_sample()
        return self.files

    # -- checks --

    def _headers_missing(self, request):
        correlation_id = request.header("WM_QOS.CORRELATION_ID")
        service_name = request.header("WM_SVC.NAME")
        with self._lock:
            if correlation_id:
                self.correlation_ids.append(correlation_id)
            if service_name:
                self.service_names.append(service_name)
        for name, value in (
            ("WM_QOS.CORRELATION_ID", correlation_id),
            ("WM_SVC.NAME", service_name),
        ):
            if not value:
                return _errors(
                    400,
                    "INVALID_REQUEST_HEADER.GMP_GATEWAY_API",
                    "Invalid request header",
                    f"Missing required header {name}",
                    field=name,
                )
        return None

    def _throttle(self, operation):
        bucket = self._buckets.get(operation)
        if bucket is None or bucket.take() <= 0:
            return None
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = f"{self.retry_after:g}"
        return Answer.json(429, self._error_body(*_THROTTLED), headers)

    def _authorise(self, request):
        if self.token_state(request.header("WM_SEC.ACCESS_TOKEN")) != "valid":
            return _unauthorized()
        if self.deny_access:
            return _errors(
                403,
                "FORBIDDEN.GMP_GATEWAY_API",
                "Forbidden",
                "Access to the Reports API is not granted to this key",
            )
        return None

    def _version(self, request):
        version = dict(request.query).get("reportVersion")
        if version != "v1":
            return _errors(
                400,
                "INVALID_REQUEST_PARAM.GMP_REPORT_API",
                "Invalid request parameter",
                "reportVersion must be v1",
                field="reportVersion",
            )
        return None

    # -- token --

    def _token(self, request, _match):
        refused = self._headers_missing(request) or self._throttle(OPERATION_TOKEN)
        if refused is not None:
            return refused
        if not self._basic_ok(request.header("Authorization")):
            return _unauthorized()
        if request.form().get("grant_type") != "client_credentials":
            return _errors(
                400,
                "INVALID_REQUEST_PARAM.GMP_GATEWAY_API",
                "Invalid request parameter",
                "grant_type must be client_credentials",
                field="grant_type",
            )
        token = "eyJraWQiOiJzYW5kYm94In0." + secrets.token_urlsafe(32)
        expires_in = self.issue_token(token)
        if "application/json" not in (request.header("Accept") or ""):
            body = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f"<OAuthTokenDTO><accessToken>{token}</accessToken>"
                f"<tokenType>Bearer</tokenType><expiresIn>{expires_in}</expiresIn>"
                "</OAuthTokenDTO>"
            ).encode()
            return Answer(200, body, content_type="application/xml")
        return Answer.json(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": expires_in},
        )

    def _basic_ok(self, header):
        scheme, _sep, value = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            pair = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _sep, client_secret = pair.partition(":")
        return (client_id, client_secret) == (self.client_id, self.client_secret)

    # -- reports --

    def _available(self, request, _match):
        refused = (
            self._headers_missing(request)
            or self._authorise(request)
            or self._throttle(OPERATION_AVAILABLE)
            or self._version(request)
        )
        if refused is not None:
            return refused
        form = DATE_STYLES[self.date_style]
        dates = [day.strftime(form) for day in sorted(self._served())]
        return Answer.json(200, {"availableApReportDates": dates})

    def _recon_file(self, request, _match):
        refused = (
            self._headers_missing(request)
            or self._authorise(request)
            or self._throttle(OPERATION_RECON_FILE)
            or self._version(request)
        )
        if refused is not None:
            return refused
        text = dict(request.query).get("reportDate", "")
        day = None
        for form in ("%m%d%Y", "%Y%m%d"):
            try:
                day = datetime.strptime(text, form).date()
                break
            except ValueError:
                continue
        if day is None:
            return _errors(
                400,
                "INVALID_REQUEST_PARAM.GMP_REPORT_API",
                "Invalid request parameter",
                "reportDate must be a date (MMDDYYYY)",
                field="reportDate",
            )
        recon = self._served().get(day)
        if recon is None:
            return _errors(
                404,
                "CONTENT_NOT_FOUND.GMP_REPORT_API",
                "Content not found",
                f"No reconciliation report for {text}",
            )
        answer = Answer(
            200,
            content_type="application/octet-stream",
            path=str(recon.path),
            headers={
                "Content-Disposition": 'attachment; filename="'
                + recon.member.replace(".csv", ".zip")
                + '"'
            },
        )
        with self._lock:
            kind = self._corrupt.pop(0) if self._corrupt else None
        return answer.spoil(kind)
