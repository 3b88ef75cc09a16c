"""Amazon's side of the marketplace sandbox: Login with Amazon and the
Selling Partner API Reports API (2021-06-30), with a storage host for the
pre-signed document URLs.

Routes (mount on a :class:`~tools.marketplace_sandbox.server.MarketplaceSandbox`):

``POST /auth/o2/token``
    ``grant_type=refresh_token``; wrong client id or secret -> 401
    ``invalid_client``; unknown or revoked refresh token -> 400
    ``invalid_grant``; access tokens expire after ``token_lifetime`` seconds.
``GET /reports/2021-06-30/reports``
    ``reportTypes``, ``processingStatuses``, ``marketplaceIds``, ``pageSize``
    (1-100, default 10), ``createdSince``, ``createdUntil``; newest first;
    ``nextToken`` must come alone (400 ``InvalidInput`` otherwise).
``GET /reports/2021-06-30/documents/{reportDocumentId}``
    ``{reportDocumentId, url, compressionAlgorithm?}``; the URL expires after
    ``url_lifetime`` seconds.
``GET /storage/{key}?X-Amz-...``
    the document bytes, streamed from disk; 403 ``AccessDenied`` once the URL
    has expired; 400 when SP-API or LWA credentials are sent along.

SP-API calls need ``x-amz-access-token``: 403 ``Unauthorized`` when it is
missing, unknown or expired (details say which), and for every call while
``deny_access`` is set (a seller asked on a region it does not sell in).
Each operation has its token bucket at Amazon's published rate times
``speedup``, answering 429 ``QuotaExceeded``.

Not emulated: Amazon's 90-day retention (``createdSince`` defaults to 90
days ago there; here to the beginning), so that data sets of any date stay
listable.

Amazon's names and numbers are written here apart from the client's
constants on purpose: a wrong value in the client then fails a test.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from tools.marketplace_sandbox import documents
from tools.marketplace_sandbox.server import Answer, SandboxApp
from tools.sandbox_http import TokenBucket

SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
# Reports a seller has beside its settlements: the client must ignore them.
OTHER_REPORT_TYPES = (
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA",
)
PROCESSING_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
OPERATION_GET_REPORTS = "getReports"
OPERATION_GET_REPORT_DOCUMENT = "getReportDocument"
# Amazon's published usage plans (requests per second, burst).
PUBLISHED_RATE_LIMITS = {
    OPERATION_GET_REPORTS: (0.0222, 10),
    OPERATION_GET_REPORT_DOCUMENT: (0.0167, 15),
}
DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.sandbox0000000000000000"
DEFAULT_CLIENT_SECRET = "amzn1.oa2-cs.v1.sandbox-client-secret-0000000000"
DEFAULT_REFRESH_TOKEN = "Atzr|sandbox-refresh-token-0000000000000000"
DEFAULT_MARKETPLACE_ID = "ATVPDKIKX0DER"  # amazon.com
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
MAX_LIST_VALUES = 10
FIRST_REPORT_ID = 50_001_000_001

PREFIX = "/reports/2021-06-30"
STORAGE_PREFIX = "/storage/"
CORRUPTIONS = ("flip", "truncate", "cut")

_DENIED = "Access to requested resource is denied."
_TOKEN_INVALID = "The access token you provided is revoked, malformed or invalid."
_TOKEN_EXPIRED = "The access token you provided has expired."


def _iso(moment):
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _parse_iso(text):
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def _errors(status, code, message, details="", headers=None):
    body = {"errors": [{"code": code, "message": message, "details": details}]}
    return Answer.json(status, body, headers)


def _s3_error(status, code, message):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()
    return Answer(status, body, content_type="application/xml")


class _BadInput(Exception):
    pass


@dataclass
class SandboxReport:
    """A report the sandbox lists; ``path`` is its document on disk."""

    report_id: str
    report_type: str
    status: str
    created_time: datetime
    marketplace_ids: list
    data_start: datetime | None = None
    data_end: datetime | None = None
    document_id: str | None = None
    path: Path | None = None
    compression: str | None = None
    settlement_id: str | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self):
        value = {
            "reportId": self.report_id,
            "reportType": self.report_type,
            "marketplaceIds": list(self.marketplace_ids),
            "createdTime": _iso(self.created_time),
            "processingStatus": self.status,
        }
        if self.data_start is not None:
            value["dataStartTime"] = _iso(self.data_start)
        if self.data_end is not None:
            value["dataEndTime"] = _iso(self.data_end)
        if self.status != "IN_QUEUE":
            value["processingStartTime"] = _iso(self.created_time)
        if self.status == "DONE":
            value["processingEndTime"] = _iso(self.created_time + timedelta(minutes=3))
            value["reportDocumentId"] = self.document_id
        return value


class AmazonApi(SandboxApp):
    """Login with Amazon + Reports API look-alike (see the module doc).

    :param client_id: the accepted LWA client id
    :param client_secret: the accepted LWA client secret
    :param refresh_token: the accepted refresh token
    :param token_lifetime: seconds an access token is accepted
    :param expires_in: what the token answer says (default: the lifetime);
        say 3600 with a short lifetime to make a client meet an early expiry
    :param url_lifetime: seconds a pre-signed download URL is accepted
    :param rate_limits: ``{operation: (rate per second, burst)}``;
        ``None`` = no limit
    :param speedup: multiplies every rate (tests)
    :param retry_after: send ``Retry-After`` (fractional seconds) on 429;
        Amazon does not promise it
    :param marketplace_id: the marketplace of added reports by default
    :param workdir: where gzip copies are written (default: a temporary
        directory removed by :meth:`close`)
    :param clock: monotonic clock (token, URL and rate-limit expiry)
    """

    def __init__(
        self,
        *,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        refresh_token=DEFAULT_REFRESH_TOKEN,
        token_lifetime=3600.0,
        expires_in=None,
        url_lifetime=300.0,
        rate_limits=PUBLISHED_RATE_LIMITS,
        speedup=1.0,
        retry_after=False,
        marketplace_id=DEFAULT_MARKETPLACE_ID,
        workdir=None,
        clock=time.monotonic,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        super().__init__(workdir, "amazon-sandbox-", token_lifetime, expires_in, clock)
        self.url_lifetime = float(url_lifetime)
        self.retry_after = retry_after
        self.marketplace_id = marketplace_id
        self.speedup = float(speedup)
        self.deny_access = False  # a seller asked on another region's endpoint
        self.ignored_filters = set()  # query parameters answered as if absent
        self.reports = []
        self._rate_limits = rate_limits
        self._buckets = {}
        self.set_rate_limits(rate_limits, speedup)
        self._urls = {}  # signature -> (document id, monotonic expiry)
        self._pages = {}  # nextToken -> (report ids, offset, size)
        self._corrupt = []  # kinds of the next downloads to spoil
        self._ids = itertools.count(FIRST_REPORT_ID)

    # -- mounting --

    def routes(self):
        return [
            ("POST", re.compile(r"/auth/o2/token"), self._token),
            ("GET", re.compile(PREFIX + r"/reports"), self._get_reports),
            (
                "GET",
                re.compile(PREFIX + r"/documents/(?P<document_id>[^/]+)"),
                self._get_document,
            ),
            ("GET", re.compile(STORAGE_PREFIX + r"(?P<key>[^/]+)"), self._download),
        ]

    @property
    def token_url(self):
        """The LWA token URL of the mounted app."""
        return f"{self.server.url}/auth/o2/token"

    # -- knobs --

    def set_rate_limits(self, rate_limits, speedup=None):
        """Token buckets per operation (``None`` = unlimited)."""
        if speedup is not None:
            self.speedup = float(speedup)
        self._rate_limits = rate_limits
        self._buckets = {
            operation: TokenBucket(rate * self.speedup, burst, self.clock)
            for operation, (rate, burst) in (rate_limits or {}).items()
        }

    def revoke_refresh_token(self):
        """The seller removed the app's authorisation: invalid_grant."""
        self.refresh_token = None

    def expire_urls(self):
        """Every download URL handed out so far is expired from now on."""
        with self._lock:
            for signature, (document_id, _until) in self._urls.items():
                self._urls[signature] = (document_id, float("-inf"))

    def corrupt_next_download(self, kind="flip", count=1):
        """Spoil the next ``count`` downloads.

        :param kind: ``flip`` (bytes of a gzip body changed), ``truncate``
            (half the body, complete as HTTP: the gzip is cut short) or
            ``cut`` (the connection drops half-way through the body)
        """
        if kind not in CORRUPTIONS:
            raise ValueError(f"kind is one of {CORRUPTIONS}")
        with self._lock:
            self._corrupt.extend([kind] * count)

    # -- reports --

    def add_report(
        self,
        path=None,
        *,
        report_type=SETTLEMENT_REPORT_TYPE,
        status="DONE",
        created_time=None,
        data_start=None,
        data_end=None,
        marketplace_ids=None,
        compression="GZIP",
        settlement_id=None,
    ):
        """List one more report; its document is ``path`` (plain or gzip).

        A plain file served with ``compression="GZIP"`` is gzipped into the
        work directory first (streamed); a gzip file is served as it is.
        Dates left out are read from a settlement's summary row: data start
        and end, and the creation time (its deposit date).

        :return: the :class:`SandboxReport`
        """
        if status not in PROCESSING_STATUSES:
            raise ValueError(f"status is one of {PROCESSING_STATUSES}")
        if compression not in (None, "GZIP"):
            raise ValueError("compression is 'GZIP' or None")
        report_id = str(next(self._ids))
        document_id = None
        if path is not None:
            path = Path(path)
            summary = documents.read_summary(path)
            if report_type == SETTLEMENT_REPORT_TYPE:
                settlement_id = settlement_id or summary.settlement_id
                data_start = data_start or summary.start
                data_end = data_end or summary.end
                created_time = created_time or summary.deposit or summary.end
            if compression == "GZIP" and not summary.gzipped:
                path = documents.gzip_file(
                    path, self.workdir / f"report-{report_id}.gz"
                )
            elif compression is None and summary.gzipped:
                raise ValueError(f"{path} is gzipped: serve it with GZIP")
            if status == "DONE":
                document_id = f"amzn1.spdoc.1.4.na.{uuid.uuid4()}"
        elif status == "DONE":
            raise ValueError("a DONE report needs its document (path)")
        report = SandboxReport(
            report_id=report_id,
            report_type=report_type,
            status=status,
            created_time=created_time or datetime.now(timezone.utc),
            marketplace_ids=list(marketplace_ids or [self.marketplace_id]),
            data_start=data_start,
            data_end=data_end,
            document_id=document_id,
            path=path,
            compression=compression if path is not None else None,
            settlement_id=settlement_id,
        )
        with self._lock:
            self.reports.append(report)
        return report

    def add_settlements(self, dataset, *, compression="GZIP", **options):
        """Generate and list one settlement report per period of a Goflow
        sandbox data set (see :func:`documents.settlements_from_dataset`).

        :param compression: ``GZIP``, ``None``, or ``"mixed"`` (gzip and
            plain in turn)
        :return: the :class:`SandboxReport` list, oldest first
        """
        files = documents.settlements_from_dataset(dataset, self.workdir, **options)
        added = []
        for index, item in enumerate(files):
            chosen = compression
            if compression == "mixed":
                chosen = "GZIP" if index % 2 == 0 else None
            added.append(self.add_report(item.path, compression=chosen))
        return added

    def add_distractors(self, near=None):
        """Reports a seller has beside its DONE settlements: one settlement
        IN_PROGRESS (no document yet) and one DONE report of each other type.

        :param near: their creation time (default: now)
        """
        near = near or datetime.now(timezone.utc)
        added = [
            self.add_report(
                status="IN_PROGRESS",
                created_time=near,
                data_start=near - timedelta(days=14),
                data_end=near,
            )
        ]
        for offset, report_type in enumerate(OTHER_REPORT_TYPES, start=1):
            path = self.workdir / f"{report_type.lower()}.txt"
            path.write_text("sku\tquantity\nSKU-00001\t3\n", encoding="utf-8")
            added.append(
                self.add_report(
                    path,
                    report_type=report_type,
                    compression=None,
                    created_time=near - timedelta(hours=offset),
                )
            )
        return added

    # -- LWA --

    def _token(self, request, _match):
        form = request.form()
        if form.get("grant_type") != "refresh_token":
            return Answer.json(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not "
                    "supported by the authorization server",
                },
            )
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return Answer.json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                },
            )
        if self.refresh_token is None or form.get("refresh_token") != (
            self.refresh_token
        ):
            return Answer.json(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant "
                    "parameter : refresh_token",
                },
            )
        token = "Atza|sandbox-" + secrets.token_urlsafe(24)
        expires_in = self.issue_token(token)
        return Answer.json(
            200,
            {
                "access_token": token,
                "refresh_token": form["refresh_token"],
                "token_type": "bearer",
                "expires_in": expires_in,
            },
        )

    def _authorise(self, request):
        state = self.token_state(request.header("x-amz-access-token"))
        if state == "unknown":
            return _errors(403, "Unauthorized", _DENIED, _TOKEN_INVALID)
        if state == "expired":
            return _errors(403, "Unauthorized", _DENIED, _TOKEN_EXPIRED)
        if self.deny_access:
            return _errors(403, "Unauthorized", _DENIED, "")
        return None

    def _throttle(self, operation):
        bucket = self._buckets.get(operation)
        if bucket is None:
            return None
        wait = bucket.take()
        if wait <= 0:
            return None
        headers = {"Retry-After": f"{wait:.3f}"} if self.retry_after else {}
        return _errors(
            429,
            "QuotaExceeded",
            "You exceeded your quota for the requested resource.",
            headers=headers,
        )

    def _rate_headers(self, operation):
        limit = (self._rate_limits or {}).get(operation)
        if limit is None:
            return {}
        return {"x-amzn-RateLimit-Limit": f"{limit[0] * self.speedup:g}"}

    # -- getReports --

    def _get_reports(self, request, _match):
        refused = self._authorise(request) or self._throttle(OPERATION_GET_REPORTS)
        if refused is not None:
            return refused
        query = request.query
        try:
            names = {key for key, _value in query}
            if "nextToken" in names:
                if len(query) > 1:
                    raise _BadInput(
                        "When nextToken is provided, no other query parameters "
                        "are allowed."
                    )
                with self._lock:
                    state = self._pages.pop(query[0][1], None)
                if state is None:
                    raise _BadInput("The nextToken is not valid or has expired.")
                ids, offset, size = state
            else:
                ids, size = self._query_reports(dict(query)), DEFAULT_PAGE_SIZE
                if "pageSize" in names:
                    size = self._page_size(dict(query)["pageSize"])
                offset = 0
        except _BadInput as error:
            return _errors(400, "InvalidInput", str(error))
        by_id = {report.report_id: report for report in self.reports}
        page = ids[offset : offset + size]
        chosen = [by_id[report_id].to_json() for report_id in page]
        body = {"reports": chosen}
        if offset + size < len(ids):
            token = secrets.token_urlsafe(32)
            with self._lock:
                self._pages[token] = (ids, offset + size, size)
            body["nextToken"] = token
        return Answer.json(200, body, self._rate_headers(OPERATION_GET_REPORTS))

    @staticmethod
    def _page_size(text):
        try:
            size = int(text)
        except ValueError:
            raise _BadInput("pageSize must be a whole number.") from None
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise _BadInput(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
        return size

    def _list_values(self, params, name, allowed=None):
        if name not in params or name in self.ignored_filters:
            return None
        values = [v.strip() for v in params[name].split(",") if v.strip()]
        if not 1 <= len(values) <= MAX_LIST_VALUES:
            raise _BadInput(f"{name} takes 1 to {MAX_LIST_VALUES} values.")
        if allowed is not None:
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise _BadInput(f"{name} has invalid values: {', '.join(unknown)}.")
        return set(values)

    def _moment(self, params, name):
        if name not in params or name in self.ignored_filters:
            return None
        moment = _parse_iso(params[name])
        if moment is None:
            raise _BadInput(f"{name} must be an ISO 8601 date-time.")
        return moment

    def _query_reports(self, params):
        types = self._list_values(params, "reportTypes")
        if types is None and "reportTypes" not in self.ignored_filters:
            raise _BadInput("reportTypes or nextToken must be provided.")
        statuses = self._list_values(params, "processingStatuses", PROCESSING_STATUSES)
        marketplaces = self._list_values(params, "marketplaceIds")
        since = self._moment(params, "createdSince")
        until = self._moment(params, "createdUntil")
        found = [
            report
            for report in self.reports
            if (types is None or report.report_type in types)
            and (statuses is None or report.status in statuses)
            and (marketplaces is None or marketplaces & set(report.marketplace_ids))
            and (since is None or report.created_time >= since)
            and (until is None or report.created_time <= until)
        ]
        found.sort(key=lambda r: (r.created_time, int(r.report_id)), reverse=True)
        return [report.report_id for report in found]

    # -- getReportDocument --

    def _get_document(self, request, match):
        refused = self._authorise(request) or self._throttle(
            OPERATION_GET_REPORT_DOCUMENT
        )
        if refused is not None:
            return refused
        document_id = match.group("document_id")
        report = self._report_of(document_id)
        if report is None:
            return _errors(404, "NotFound", "The report document was not found.")
        signature = secrets.token_hex(32)
        with self._lock:
            self._urls[signature] = (document_id, self.clock() + self.url_lifetime)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        credential = quote(f"SANDBOXKEY/{stamp[:8]}/us-east-1/s3/aws4_request", "")
        url = (
            f"http://{request.host}{STORAGE_PREFIX}{quote(document_id, '')}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}"
            f"&X-Amz-Date={stamp}&X-Amz-Expires={int(self.url_lifetime)}"
            f"&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )
        body = {"reportDocumentId": document_id, "url": url}
        if report.compression:
            body["compressionAlgorithm"] = report.compression
        return Answer.json(200, body, self._rate_headers(OPERATION_GET_REPORT_DOCUMENT))

    def _report_of(self, document_id):
        for report in self.reports:
            if report.document_id == document_id:
                return report
        return None

    # -- storage --

    def _download(self, request, match):
        if request.header("x-amz-access-token") or request.header("authorization"):
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                "parameter should be specified",
            )
        params = dict(request.query)
        with self._lock:
            granted = self._urls.get(params.get("X-Amz-Signature", ""))
        if granted is None or granted[0] != match.group("key"):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature "
                "you provided.",
            )
        document_id, until = granted
        if self.clock() >= until:
            return _s3_error(403, "AccessDenied", "Request has expired")
        report = self._report_of(document_id)
        content_type = (
            "application/octet-stream"
            if report.compression
            else "text/plain; charset=UTF-8"
        )
        answer = Answer(200, content_type=content_type, path=str(report.path))
        with self._lock:
            kind = self._corrupt.pop(0) if self._corrupt else None
        if kind == "flip":
            answer.path = str(self._flipped(report))
        return answer.spoil(kind)

    def _flipped(self, report):
        spoiled = self.workdir / f"report-{report.report_id}.flipped"
        if not spoiled.exists():
            data = bytearray(report.path.read_bytes())
            middle = len(data) // 2
            for offset in range(middle, min(middle + 64, len(data))):
                data[offset] ^= 0x5A
            spoiled.write_bytes(bytes(data))
        return spoiled
