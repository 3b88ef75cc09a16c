"""Amazon Selling Partner API client: settlement reports, listed and downloaded.

Login with Amazon (LWA) turns the seller's refresh token into an access token
(kept until shortly before it expires, renewed once when Amazon answers 403
"expired"); the Reports API lists the settlement reports Amazon generated
(``getReports``, following ``nextToken`` alone) and hands out a pre-signed URL
per document (``getReportDocument``), which is streamed to a file, gunzipped
on the way when Amazon compressed it. The add-on's one HTTP policy
(:mod:`.http_policy`) sends every request: Amazon's published rate per
operation, retries, timeouts, typed errors, no secret in any message or log.

Nothing here is held in memory whole: a report of a million rows goes from
the socket to the file chunk by chunk.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from . import amazon_const as const
from . import http_policy

_logger = logging.getLogger(__name__)


# -- Errors -----------------------------------------------------------------


class AmazonError(http_policy.ApiError):
    """Base of every Amazon failure; ``str(error)`` is a sentence to act on.

    :ivar status: the HTTP status when Amazon answered, else ``None``
    """


class AmazonConfigError(AmazonError, http_policy.ConfigError):
    """The connection settings cannot work (empty secret, unknown region...)."""


class AmazonAuthError(AmazonError, http_policy.AuthError):
    """Amazon refused the credentials or their access to the reports.

    :ivar reason: ``invalid_grant`` (refresh token revoked or expired),
        ``invalid_client`` (client id or secret wrong), ``access_denied``
        (region, role or authorisation), or LWA's own error code
    """


class AmazonThrottledError(AmazonError, http_policy.ThrottledError):
    """The rate limit stopped the work; ``retry_after`` says for how long."""


class AmazonServerError(AmazonError, http_policy.ServerError):
    """5xx answers or unreadable pages beyond the retry bound."""


class AmazonNetworkError(AmazonServerError, http_policy.NetworkError):
    """Timeouts or lost connections beyond the retry bound."""


class AmazonRequestError(AmazonError, http_policy.RequestError):
    """Amazon rejected the request itself (a 4xx that retrying cannot fix)."""


class AmazonMalformedResponse(AmazonError, http_policy.MalformedResponse):
    """Amazon's answer is not what the connector can read."""


class AmazonDocumentError(AmazonMalformedResponse):
    """A report document could not be decompressed (corrupt or cut short)."""


def amazon_message(response):
    """Amazon's own words in an error body, on one line, or "".

    SP-API answers ``{"errors": [{"code", "message", "details"}]}``; LWA
    answers OAuth's ``{"error", "error_description"}``.
    """
    body = http_policy.json_object(response)
    if body is None:
        return ""
    errors = body.get(const.ERRORS_KEY)
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        parts = [first.get("code"), first.get("message")]
        text = ": ".join(str(part) for part in parts if part)
        details = first.get("details")
        if details:
            text += f" ({details})"
        return http_policy.quote_message(text)
    if isinstance(body.get("error"), str):
        return http_policy.oauth_message(body["error"], body)
    return http_policy.quote_message(body.get("message"))


_SERVICE = http_policy.Service(
    name="Amazon",
    errors=http_policy.ErrorKinds.of(AmazonError),
    **http_policy.fetch_hints("Amazon"),
    settings_hint="Check the region and addresses of the Amazon connection.",
    logger=_logger,
    reach_hint="check the region and this server's internet access",
    support_hint="Please send this message to the support of the Amazon "
    "connector so the answer can be checked.",
    body_message=amazon_message,
)


# -- Records ------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementReport:
    """One settlement report Amazon lists (``getReports``), DONE.

    Times are aware UTC :class:`datetime` objects (``None`` when absent).
    """

    report_id: str
    report_type: str
    processing_status: str
    created_time: datetime | None
    data_start_time: datetime | None
    data_end_time: datetime | None
    marketplace_ids: tuple
    document_id: str | None


@dataclass(frozen=True)
class ReportDocument:
    """Where to download a report document; the ``url`` is a credential for
    minutes and is kept out of ``repr``."""

    document_id: str
    url: str = field(repr=False)
    compression: str | None = None

    @property
    def gzipped(self):
        """True when Amazon compressed the document with gzip."""
        return self.compression == const.COMPRESSION_GZIP


@dataclass(frozen=True)
class DownloadResult:
    """What :meth:`AmazonClient.download_document` wrote.

    :ivar bytes_received: bytes read from the network (compressed size)
    :ivar bytes_written: bytes written to the file (the report itself)
    :ivar url_renewals: times the expired URL was asked again (0 or 1)
    """

    document_id: str
    compression: str | None
    bytes_received: int
    bytes_written: int
    url_renewals: int = 0


# -- Helpers ----------------------------------------------------------------


def format_amazon_time(moment):
    """ISO 8601 UTC text Amazon takes in ``createdSince``: ``...T00:00:00Z``.

    :param moment: a :class:`datetime`; naive ones are taken as UTC
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_amazon_time(text):
    """Aware UTC datetime of Amazon's ISO 8601 text; ``None`` for null/"".

    :raise ValueError: when the text is not such a date
    """
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise ValueError(f"not a date: {text!r}")
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    head, dot, rest = value.partition(".")
    if dot:
        # Python 3.10 reads 3 or 6 fraction digits only.
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction = rest[:digits][:6].ljust(6, "0")
        value = f"{head}.{fraction}{rest[digits:]}"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _gunzip(chunks, size):
    """Decompress a gzip stream chunk by chunk (several members allowed).

    :raise zlib.error: corrupt data; :raise EOFError: cut short
    """
    wbits = 16 + zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    seen = False
    for chunk in chunks:
        data = chunk
        while data:
            seen = True
            if decompressor.eof:
                decompressor = zlib.decompressobj(wbits)  # the next member
            out = decompressor.decompress(data, size)
            if out:
                yield out
            data = (
                decompressor.unused_data
                if decompressor.eof
                else decompressor.unconsumed_tail
            )
    tail = decompressor.flush()
    if tail:
        yield tail
    if not seen or not decompressor.eof:
        raise EOFError("the gzip data ends before its end marker")


# -- The client -------------------------------------------------------------


class AmazonClient(http_policy.AccessTokenClient):
    """List and download the settlement reports of one seller account.

    :param client_id: the LWA client id of the app (Seller Central > Apps >
        Develop Apps > View LWA credentials)
    :param client_secret: its LWA client secret
    :param refresh_token: the refresh token of the app's self-authorisation
    :param region: ``NA``, ``EU`` or ``FE``: the seller's selling region
    :param endpoint: instead of the region's, an SP-API base URL (https, or
        http on loopback: the local sandbox)
    :param token_url: instead of Amazon's, an LWA token URL (same rules)
    :param rate_limits: ``{operation: (requests per second, burst)}`` of the
        client-side buckets; ``None`` = Amazon's published rates, ``{}`` = none
    :param rate_speedup: multiplies every rate (tests and the sandbox)
    :param policy_options: the HTTP policy's ``timeout``, ``max_retries``,
        ``backoff_base``, ``backoff_max``, ``max_wait`` (a longer wait raises
        :class:`AmazonThrottledError` with ``retry_after``; a scheduled job
        passes a few seconds), ``session`` (reused, not closed here),
        ``sleep`` and ``clock`` (rate limit, token expiry): see
        :class:`.http_policy.HttpPolicy`; Amazon's bounds by default
    """

    _service = _SERVICE
    _secret_source = "Seller Central > Apps > Develop Apps"
    _policy_defaults = {
        "timeout": const.DEFAULT_TIMEOUT,
        "max_retries": const.DEFAULT_MAX_RETRIES,
        "backoff_base": const.DEFAULT_BACKOFF_BASE,
        "backoff_max": const.DEFAULT_BACKOFF_MAX,
        "max_wait": const.DEFAULT_MAX_WAIT,
    }

    def __init__(
        self,
        client_id,
        client_secret,
        refresh_token,
        region=const.REGION_NA,
        *,
        endpoint=None,
        token_url=None,
        rate_limits=None,
        rate_speedup=1.0,
        **policy_options,
    ):
        self._client_id = self._check_secret(client_id, "client id")
        self._client_secret = self._check_secret(client_secret, "client secret")
        self._refresh_token = self._check_secret(refresh_token, "refresh token")
        region = (region or "").strip().upper()
        if region not in const.ENDPOINTS:
            known = ", ".join(
                f"{code} ({name})" for code, name in const.REGION_NAMES.items()
            )
            raise AmazonConfigError(
                f"'{region}' is not an Amazon selling region; choose one of {known}."
            )
        self._region = region
        self._endpoint = self._check_url(
            endpoint or const.ENDPOINTS[region], "SP-API endpoint"
        )
        self._token_url = self._check_url(
            token_url or const.LWA_TOKEN_URL, "LWA token URL"
        )
        self._open_policy(
            [self._client_secret, self._refresh_token],
            [self._endpoint, self._token_url],
            policy_options,
        )
        # urllib3 logs request lines with their query: a pre-signed URL's.
        http_policy.install_log_redaction()
        if not rate_speedup > 0:
            raise AmazonConfigError("The rate speed-up must be a positive number.")
        self._limiters = self._policy.limiters(
            const.RATE_LIMITS if rate_limits is None else rate_limits, rate_speedup
        )
        self._headers = {
            const.HEADER_ACCEPT: const.ACCEPT_JSON,
            const.HEADER_USER_AGENT: const.USER_AGENT,
        }
        self._start_tokens(const.LWA_DEFAULT_EXPIRES_IN, const.TOKEN_RENEW_MARGIN)

    # -- public API --

    @property
    def endpoint(self):
        """The SP-API base URL requests go to."""
        return self._endpoint

    @property
    def region(self):
        """``NA``, ``EU`` or ``FE``."""
        return self._region

    def __repr__(self):
        return f"<AmazonClient {self._region} {self._endpoint}>"

    def test_connection(self, marketplace_ids):
        """Exchange the refresh token and list one page of settlement reports.

        :return: ``{"reports": <settlement reports on the first page>}``
        :raise AmazonError: with the reason the connection does not work
        """
        reports = list(self.list_settlement_reports(marketplace_ids, max_pages=1))
        return {"reports": len(reports)}

    def list_settlement_reports(
        self,
        marketplace_ids,
        created_since=None,
        created_until=None,
        *,
        page_size=const.MAX_PAGE_SIZE,
        max_pages=None,
    ):
        """Yield the settlement reports Amazon has ready (DONE), in Amazon's
        order (newest first).

        Asks ``getReports`` for ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``,
        ``processingStatuses=DONE``, these marketplaces, ``createdSince``;
        later pages send ``nextToken`` alone, as Amazon requires. Reports of
        another type, not DONE or without a document are skipped (Amazon
        should not send them; the sandbox can).

        :param marketplace_ids: 1 to 10 marketplace ids (``ATVPDKIKX0DER``)
        :param created_since: earliest creation time (:class:`datetime`, naive
            = UTC); ``None`` = Amazon's default, 90 days ago
        :param created_until: latest creation time, ``None`` = now
        :param page_size: reports per page, 1 to 100
        :param max_pages: stop after this many pages (``None`` = all)
        :return: iterator of :class:`SettlementReport`
        :raise AmazonError: any failure, typed
        """
        marketplaces = self._check_marketplaces(marketplace_ids)
        if not 1 <= page_size <= const.MAX_PAGE_SIZE:
            raise AmazonConfigError(
                f"An Amazon report page holds 1 to {const.MAX_PAGE_SIZE} reports, "
                f"not {page_size}."
            )
        params = {
            const.PARAM_REPORT_TYPES: const.REPORT_TYPE_SETTLEMENT_V2,
            const.PARAM_PROCESSING_STATUSES: const.STATUS_DONE,
            const.PARAM_MARKETPLACE_IDS: ",".join(marketplaces),
            const.PARAM_PAGE_SIZE: str(page_size),
        }
        if created_since is not None:
            params[const.PARAM_CREATED_SINCE] = format_amazon_time(created_since)
        if created_until is not None:
            params[const.PARAM_CREATED_UNTIL] = format_amazon_time(created_until)
        seen_tokens = set()
        page = 1
        while True:
            what = f"the settlement report list (page {page})"
            payload = self._sp_get(
                const.PATH_REPORTS, params, what, const.OPERATION_GET_REPORTS
            )
            reports, next_token = self._reports_page(payload, what)
            for report in reports:
                if (
                    report.report_type != const.REPORT_TYPE_SETTLEMENT_V2
                    or report.processing_status != const.STATUS_DONE
                    or not report.document_id
                ):
                    _logger.debug(
                        "Amazon report %s skipped: %s, %s",
                        report.report_id,
                        report.report_type,
                        report.processing_status,
                    )
                    continue
                yield report
            if not next_token or (max_pages is not None and page >= max_pages):
                return
            if next_token in seen_tokens:
                raise self._error(
                    AmazonMalformedResponse,
                    "Amazon's paging of the settlement reports points back to a "
                    "page already read; the list was stopped to avoid an endless "
                    "loop. " + _SERVICE.support_hint,
                )
            seen_tokens.add(next_token)
            params = {const.PARAM_NEXT_TOKEN: next_token}
            page += 1

    def get_report_document(self, document_id):
        """Where to download a report document (``getReportDocument``).

        :param document_id: a report's ``reportDocumentId``
        :return: :class:`ReportDocument`; its URL is valid for about 5 minutes
        :raise AmazonError: any failure, typed
        """
        document_id = self._check_id(document_id, "report document id")
        what = f"report document {document_id}"
        payload = self._sp_get(
            const.PATH_DOCUMENT.format(document_id=document_id),
            None,
            what,
            const.OPERATION_GET_REPORT_DOCUMENT,
        )
        if not isinstance(payload, dict):
            raise self._malformed(what, "it is not an object")
        url = payload.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise self._malformed(what, "its 'url' is not a web address")
        compression = payload.get("compressionAlgorithm")
        if compression not in (None, const.COMPRESSION_GZIP):
            raise self._malformed(
                what, f"its compression '{compression}' is not one the connector reads"
            )
        answered_id = payload.get("reportDocumentId")
        if answered_id not in (None, document_id):
            raise self._malformed(what, f"it describes document {answered_id}")
        return ReportDocument(document_id, url, compression)

    def download_document(self, document, dest, *, chunk_size=const.DOWNLOAD_CHUNK):
        """Stream a report document into ``dest``, gunzipped when Amazon
        compressed it.

        The pre-signed URL gets no SP-API or LWA header. When it has expired
        (the storage answers 403), the document is asked again once with
        ``getReportDocument``. A download cut short is started again from
        the beginning when ``dest`` can seek, within the retry bound.

        :param document: a :class:`ReportDocument`, or a document id
        :param dest: a binary file object, written from its current position
        :param chunk_size: bytes read and written at a time
        :return: :class:`DownloadResult`
        :raise AmazonDocumentError: corrupt or cut-short gzip data
        :raise AmazonError: any other failure, typed
        """
        if not isinstance(document, ReportDocument):
            document = self.get_report_document(document)
        start = dest.tell() if http_policy.seekable(dest) else None
        renewals = failures = 0
        while True:
            what = f"the download of report document {document.document_id}"
            response = self._policy.request(
                "GET",
                document.url,
                what=what,
                stream=True,
                headers={const.HEADER_USER_AGENT: const.USER_AGENT},
                auth=http_policy.NoAuth(),
            )
            with response:
                status = response.status_code
                if status == const.STATUS_FORBIDDEN and not renewals:
                    _logger.info(
                        "Amazon report document %s: download URL refused (expired?),"
                        " asking for a new one",
                        document.document_id,
                    )
                    renewals += 1
                    document = self.get_report_document(document.document_id)
                    continue
                if status >= 300:
                    raise self._download_refused(response, document, renewals)
                try:
                    received, written = self._write(
                        response, document, dest, chunk_size
                    )
                except http_policy.STREAM_ERRORS as exc:
                    failures += 1
                    self._restart_download(
                        dest,
                        start,
                        failures,
                        exc,
                        f"report document {document.document_id}",
                    )
                    continue
            return DownloadResult(
                document.document_id,
                document.compression,
                received,
                written,
                renewals,
            )

    def download_report(self, report, dest, *, chunk_size=const.DOWNLOAD_CHUNK):
        """``getReportDocument`` then :meth:`download_document` of a report.

        :param report: a :class:`SettlementReport` (or a document id)
        """
        document_id = getattr(report, "document_id", report)
        return self.download_document(
            self.get_report_document(document_id), dest, chunk_size=chunk_size
        )

    # -- LWA --

    def _obtain_token(self):
        """Exchange the refresh token for an access token.

        :raise AmazonAuthError: ``invalid_grant`` / ``invalid_client`` / ...
        """
        what = "the access token (Login with Amazon)"
        response, payload = self._policy.request(
            "POST",
            self._token_url,
            what=what,
            expect_json=True,
            data={
                "grant_type": const.LWA_GRANT_REFRESH_TOKEN,
                "refresh_token": self._refresh_token,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers=dict(self._headers),
            auth=http_policy.NoAuth(),
        )
        return self._keep_token(response, payload, what)

    def _token_refused(self, response):
        code = description = ""
        body = http_policy.json_object(response)
        if body is not None:
            code = str(body.get("error") or "")
            description = http_policy.quote_message(body.get("error_description"))
        detail = f" ({description})" if description else ""
        if code == const.LWA_INVALID_GRANT:
            text = (
                f"Amazon refused the refresh token{detail}: it was revoked, has "
                "expired, or belongs to another app. Authorise the app again in "
                "Seller Central (Apps > Develop Apps > Authorize) and paste the new "
                "refresh token into the Amazon connection."
            )
        elif code == const.LWA_INVALID_CLIENT:
            text = (
                f"Amazon refused the app's client id or client secret{detail}. Copy "
                "both again from Seller Central (Apps > Develop Apps > View, under "
                "LWA credentials); a secret that was rotated must be replaced."
            )
        else:
            text = (
                f"Login with Amazon refused the token exchange with HTTP "
                f"{response.status_code}"
                + (f" ({code}{': ' + description if description else ''})")
                + ". Check the client id, client secret and refresh token of the "
                "Amazon connection."
            )
        return self._error(
            AmazonAuthError,
            text,
            status=response.status_code,
            reason=code or None,
        )

    # -- SP-API --

    def _sp_get(self, path, params, what, operation):
        url = self._endpoint + path
        renewed = False
        while True:
            response, payload = self._policy.request(
                "GET",
                url,
                what=what,
                limiter=self._limiters.get(operation),
                expect_json=True,
                params=params,
                headers=self._headers,
                auth=http_policy.HeaderAuth(
                    const.HEADER_ACCESS_TOKEN,
                    self.access_token(),
                    "AmazonAccessTokenAuth",
                ),
            )
            status = response.status_code
            if status < 300:
                return payload
            message = amazon_message(response)
            if (
                status == const.STATUS_FORBIDDEN
                and not renewed
                and const.EXPIRED_MARKER in message.lower()
            ):
                renewed = True
                self._renew_token("Amazon access token expired early; renewing it once")
                continue
            if status in (const.STATUS_UNAUTHORIZED, const.STATUS_FORBIDDEN):
                raise self._denied(status, message, what)
            raise self._rejected(what, status, message)

    def _denied(self, status, message, what):
        region = const.REGION_NAMES[self._region]
        detail = f" ({message})" if message else ""
        return self._error(
            AmazonAuthError,
            f"Amazon denied access to {what}{detail}. Check the region of the Amazon "
            f"connection ({region} now): it must be the region the seller account "
            "sells in. Check also that the app has the Finance and Accounting role "
            "and was authorised by this seller; after a change, authorise the app "
            "again and paste the new refresh token.",
            status=status,
            reason="access_denied",
        )

    def _reports_page(self, payload, what):
        if not isinstance(payload, dict) or not isinstance(
            payload.get("reports"), list
        ):
            raise self._malformed(what, "its 'reports' is not a list")
        next_token = payload.get(const.PARAM_NEXT_TOKEN)
        if next_token is not None and not isinstance(next_token, str):
            raise self._malformed(what, "its 'nextToken' is not a text")
        reports = [self._report(item, what) for item in payload["reports"]]
        return reports, (next_token or "").strip()

    def _report(self, item, what):
        if not isinstance(item, dict):
            raise self._malformed(what, "a report is not an object")
        report_id = item.get("reportId")
        if not isinstance(report_id, str) or not report_id.strip():
            raise self._malformed(what, "a report has no 'reportId'")
        marketplaces = item.get("marketplaceIds") or []
        if not isinstance(marketplaces, list):
            raise self._malformed(what, f"report {report_id}'s 'marketplaceIds'")
        times = {}
        for name in ("createdTime", "dataStartTime", "dataEndTime"):
            try:
                times[name] = parse_amazon_time(item.get(name))
            except ValueError:
                raise self._malformed(
                    what, f"report {report_id}'s '{name}' is not a date"
                ) from None
        document_id = item.get("reportDocumentId")
        return SettlementReport(
            report_id=report_id.strip(),
            report_type=str(item.get("reportType") or ""),
            processing_status=str(item.get("processingStatus") or ""),
            created_time=times["createdTime"],
            data_start_time=times["dataStartTime"],
            data_end_time=times["dataEndTime"],
            marketplace_ids=tuple(str(m) for m in marketplaces),
            document_id=document_id if isinstance(document_id, str) else None,
        )

    # -- download --

    def _write(self, response, document, dest, chunk_size):
        received = written = 0

        def chunks():
            nonlocal received
            for chunk in response.iter_content(chunk_size):
                received += len(chunk)
                yield chunk

        stream = chunks()
        if document.gzipped:
            stream = _gunzip(stream, chunk_size)
        try:
            for data in stream:
                dest.write(data)
                written += len(data)
        except (zlib.error, EOFError) as exc:
            raise self._error(
                AmazonDocumentError,
                f"Amazon's report document {document.document_id} could not be "
                f"decompressed: its gzip data is corrupt or cut short ({exc}). "
                "Nothing of it should be imported; it is downloaded again at the "
                "next fetch.",
            ) from exc
        _logger.info(
            "Amazon report document %s downloaded: %d bytes, %d written",
            document.document_id,
            received,
            written,
        )
        return received, written

    def _download_refused(self, response, document, renewals):
        status = response.status_code
        again = " even with a new link" if renewals else ""
        return self._error(
            AmazonRequestError,
            f"Amazon's storage refused the download of report document "
            f"{document.document_id} with HTTP {status}{again}. Try again later; "
            "if it lasts, "
            + _SERVICE.support_hint[:1].lower()
            + _SERVICE.support_hint[1:],
            status=status,
        )

    # -- small helpers --

    @staticmethod
    def _check_id(value, noun):
        if not isinstance(value, str) or not value.strip():
            raise AmazonConfigError(f"The Amazon {noun} is empty.")
        value = value.strip()
        if http_policy.has_control_chars(value) or "/" in value or "?" in value:
            raise AmazonConfigError(f"'{value}' is not an Amazon {noun}.")
        return value

    @staticmethod
    def _check_marketplaces(marketplace_ids):
        if isinstance(marketplace_ids, str):
            marketplace_ids = marketplace_ids.split(",")
        values = []
        for value in marketplace_ids or ():
            text = str(value).strip()
            if text and text not in values:
                values.append(text)
        if not 1 <= len(values) <= const.MAX_MARKETPLACE_IDS:
            raise AmazonConfigError(
                f"Name 1 to {const.MAX_MARKETPLACE_IDS} Amazon marketplace ids "
                f"(e.g. {const.MARKETPLACE_IDS['US']} for amazon.com), not "
                f"{len(values)}."
            )
        for text in values:
            if not text.isalnum():
                raise AmazonConfigError(
                    f"'{text}' is not an Amazon marketplace id (e.g. "
                    f"{const.MARKETPLACE_IDS['US']} for amazon.com)."
                )
        return values
