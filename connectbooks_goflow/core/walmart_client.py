"""Walmart Marketplace API client: reconciliation reports, listed and
downloaded.

The seller's client id and client secret are exchanged for an access token
(client credentials, Basic authentication), kept until shortly before its 15
minutes run out and renewed once when Walmart answers 401 anyway. Every
request carries Walmart's headers: the token, the service name and a fresh
correlation id (a retry too: it is another call). The recon report API lists
the dates a reconciliation file is ready for (``availableReconFiles``) and
hands out each file (``reconFile``): a zip holding one CSV, streamed to a
file as it arrives. The add-on's one HTTP policy (:mod:`.http_policy`) sends
every request: rate limit, retries, timeouts, typed errors, no secret in any
message or log.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import logging
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

import requests

from . import http_policy
from . import walmart_const as const

_logger = logging.getLogger(__name__)

# Correlation ids kept for messages and support (the latest ones).
_CORRELATION_MEMORY = 50
_FILENAME_RE = re.compile(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", re.IGNORECASE)


# -- Errors -----------------------------------------------------------------


class WalmartError(http_policy.ApiError):
    """Base of every Walmart failure; ``str(error)`` is a sentence to act on.

    :ivar status: the HTTP status when Walmart answered, else ``None``
    :ivar correlation_id: the ``WM_QOS.CORRELATION_ID`` of the request
        Walmart answered with the error, when there was one
    """

    correlation_id = None


class WalmartConfigError(WalmartError, http_policy.ConfigError):
    """The connection settings cannot work (empty secret, http URL...)."""


class WalmartAuthError(WalmartError, http_policy.AuthError):
    """Walmart refused the credentials or their access to the reports.

    :ivar reason: ``invalid_client`` (client id or secret refused) or
        ``access_denied`` (the app lacks the permission to the reports)
    """


class WalmartThrottledError(WalmartError, http_policy.ThrottledError):
    """The rate limit stopped the work; ``retry_after`` says for how long."""


class WalmartServerError(WalmartError, http_policy.ServerError):
    """5xx answers beyond the retry bound."""


class WalmartNetworkError(WalmartServerError, http_policy.NetworkError):
    """Timeouts or lost connections beyond the retry bound."""


class WalmartRequestError(WalmartError, http_policy.RequestError):
    """Walmart rejected the request itself (a 4xx that retrying cannot fix)."""


class WalmartNotFoundError(WalmartRequestError, http_policy.NotFoundError):
    """No reconciliation file for the date asked."""


class WalmartMalformedResponse(WalmartError, http_policy.MalformedResponse):
    """Walmart's answer is not what the connector can read (a page instead
    of JSON or a file, a zip that does not open...)."""


def walmart_message(response):
    """Walmart's own words in an error body, on one line, or "".

    Walmart answers ``{"errors": [{"code", "description"|"message",
    "info"}]}`` (some gateways say ``error`` for the list); OAuth's
    ``{"error", "error_description"}`` is read too.
    """
    body = http_policy.json_object(response)
    if body is None:
        return ""
    errors = body.get(const.ERRORS_KEY, body.get("error"))
    if isinstance(errors, dict):
        errors = errors.get("error", [errors])
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        words = first.get("description") or first.get("message")
        parts = [first.get("code"), words]
        text = ": ".join(str(part) for part in parts if part)
        info = first.get("info")
        if info and info != words:
            text += f" ({info})"
        return http_policy.quote_message(text)
    if isinstance(errors, str):
        return http_policy.oauth_message(errors, body)
    return http_policy.quote_message(body.get("message"))


_SERVICE = http_policy.Service(
    name="Walmart",
    errors=http_policy.ErrorKinds.of(WalmartError),
    **http_policy.fetch_hints("Walmart"),
    settings_hint="Check the addresses of the Walmart connection.",
    reach_hint="check the address and this server's internet access",
    support_hint="Please send this message to the support of the Walmart "
    "connector so the answer can be checked.",
    body_message=walmart_message,
    logger=_logger,
)


# -- Dates ------------------------------------------------------------------


def parse_report_date(value):
    """The :class:`date` of a report date as Walmart writes it.

    ``MMDDYYYY`` (the documented form), ``YYYYMMDD``, ISO ``YYYY-MM-DD``,
    ``MM/DD/YYYY`` or ``MM-DD-YYYY``; a :class:`date` passes through. The two
    8-digit forms are not confused: a year of this century read as a month
    (``20``) is no month, so the documented form is tried first.

    :raise ValueError: when it is none of these
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:08d}"  # a JSON number loses the leading zero
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a report date: {value!r}")
    text = value.strip()
    for form in const.REPORT_DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    # A date-time: its date (ISO, possibly with a zone).
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError(f"not a report date: {value!r}") from None


def format_report_date(value):
    """``MMDDYYYY``: the form Walmart lists dates in and is asked with.

    :param value: a :class:`date` or any form :func:`parse_report_date` reads
    """
    return parse_report_date(value).strftime(const.REPORT_DATE_FORMAT)


# -- Records ------------------------------------------------------------------


@dataclass(frozen=True)
class ReconDownload:
    """What :meth:`WalmartClient.download_recon_file` wrote.

    :ivar report_date: the date of the file
    :ivar bytes_written: bytes written to the file object (the zip)
    :ivar zipped: ``True`` for a zip (Walmart's form), ``False`` for a CSV
        served bare
    :ivar filename: the name Walmart gave the file, or ""
    :ivar member: the CSV's name inside the zip, or ""
    :ivar restarts: times the download was started again after a cut
    """

    report_date: date
    bytes_written: int
    zipped: bool
    filename: str = ""
    member: str = ""
    restarts: int = 0


@contextlib.contextmanager
def open_recon_csv(handle):
    """The CSV of a downloaded recon file, as a binary stream read from disk
    as it goes (never whole in memory).

    :param handle: the seekable binary file object the download was written
        to from its start (or a path)
    :raise zipfile.BadZipFile: a zip without one CSV in it
    """
    owned = None
    if isinstance(handle, str) or hasattr(handle, "__fspath__"):
        handle = owned = open(handle, "rb")
    try:
        handle.seek(0)
        zipped = handle.read(len(const.ZIP_MAGIC)) == const.ZIP_MAGIC
        handle.seek(0)
        if not zipped:
            yield handle
            return
        with zipfile.ZipFile(handle) as archive:
            member = _csv_member(archive)
            with archive.open(member) as stream:
                yield stream
    finally:
        if owned is not None:
            owned.close()


def _csv_member(archive):
    names = [
        info.filename
        for info in archive.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    csvs = [name for name in names if name.lower().endswith(const.CSV_SUFFIX)]
    if len(csvs) == 1:
        return csvs[0]
    if len(names) == 1:
        return names[0]
    raise zipfile.BadZipFile(
        f"the zip holds {len(names)} files, {len(csvs)} of them CSV, not one"
    )


# -- Helpers ----------------------------------------------------------------


class _WalmartHeaders(requests.auth.AuthBase):
    """Walmart's headers, set anew on every request sent (retries too): the
    access token (or the Basic credentials of the token request), the service
    name and a fresh correlation id. Given as ``auth=`` so ``.netrc`` never
    overrides them."""

    __slots__ = ("_authorization", "_sent", "_service_name", "_token")

    def __init__(self, sent, service_name, *, token=None, authorization=None):
        self._sent = sent
        self._service_name = service_name
        self._token = token
        self._authorization = authorization

    def __call__(self, prepared):
        correlation_id = str(uuid.uuid4())
        prepared.headers[const.HEADER_CORRELATION_ID] = correlation_id
        prepared.headers[const.HEADER_SERVICE_NAME] = self._service_name
        if self._token is not None:
            prepared.headers[const.HEADER_ACCESS_TOKEN] = self._token
        if self._authorization is not None:
            prepared.headers["Authorization"] = self._authorization
        self._sent.append(correlation_id)
        return prepared

    def __repr__(self):
        return "<WalmartHeaders ***>"


def _file_answer(response):
    """Why a 2xx answer to a file download is not a file, or ``None``.

    A maintenance or proxy page comes as HTML: tried again. Reads the
    headers only (the body is streamed later).
    """
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return f"answered with a web page ({kind}) instead of a file"
    return None


def _filename(response):
    match = _FILENAME_RE.search(response.headers.get("Content-Disposition", ""))
    return match.group(1).strip() if match else ""


# -- The client -------------------------------------------------------------


class WalmartClient(http_policy.AccessTokenClient):
    """List and download the reconciliation reports of one seller account.

    :param client_id: the client id of the seller's API key (Walmart Developer
        Portal > API Keys)
    :param client_secret: its client secret
    :param base_url: instead of Walmart's, a Marketplace API base URL (https,
        or http on loopback: the local sandbox)
    :param token_url: instead of ``<base_url>/v3/token``, the token URL (same
        rules)
    :param service_name: the ``WM_SVC.NAME`` sent
    :param channel_type: a ``WM_CONSUMER.CHANNEL.TYPE`` to send, if the seller
        was given one
    :param rate_limits: ``{operation: (requests per second, burst)}`` of the
        client-side buckets; ``None`` = the defaults, ``{}`` = none
    :param policy_options: the HTTP policy's ``timeout``, ``max_retries``,
        ``backoff_base``, ``backoff_max``, ``max_wait`` (a longer wait raises
        :class:`WalmartThrottledError` with ``retry_after``; a scheduled job
        passes a few seconds), ``session`` (reused, not closed here),
        ``sleep`` and ``clock`` (rate limit, token expiry): see
        :class:`.http_policy.HttpPolicy`; Walmart's bounds by default
    :raise WalmartConfigError: settings that cannot work
    """

    _service = _SERVICE
    _secret_source = "the Walmart Developer Portal (API Keys)"
    _policy_defaults = {
        "timeout": const.DEFAULT_TIMEOUT,
        "max_wait": const.DEFAULT_MAX_WAIT,
    }

    def __init__(
        self,
        client_id,
        client_secret,
        *,
        base_url=None,
        token_url=None,
        service_name=const.SERVICE_NAME,
        channel_type=None,
        rate_limits=None,
        **policy_options,
    ):
        self._client_id = self._check_secret(client_id, "client id")
        self._client_secret = self._check_secret(client_secret, "client secret")
        self._base_url = self._check_url(base_url or const.BASE_URL, "API address")
        self._token_url = self._check_url(
            token_url or self._base_url + const.PATH_TOKEN, "token URL"
        )
        self._service_name = self._check_header(service_name, "service name")
        self._channel_type = (
            self._check_header(channel_type, "channel type") if channel_type else None
        )
        pair = f"{self._client_id}:{self._client_secret}".encode()
        self._basic = "Basic " + base64.b64encode(pair).decode("ascii")
        self._open_policy(
            [self._client_secret, self._basic.split(" ", 1)[1]],
            [self._base_url, self._token_url],
            policy_options,
        )
        self._limiters = self._policy.limiters(
            const.RATE_LIMITS if rate_limits is None else rate_limits
        )
        self._headers = {const.HEADER_USER_AGENT: const.USER_AGENT}
        if self._channel_type:
            self._headers[const.HEADER_CHANNEL_TYPE] = self._channel_type
        self._start_tokens(const.TOKEN_LIFETIME, const.TOKEN_RENEW_MARGIN)
        #: the correlation ids sent, latest last (a bounded memory)
        self.correlation_ids = collections.deque(maxlen=_CORRELATION_MEMORY)

    # -- configuration checks --

    @staticmethod
    def _check_header(value, noun):
        text = str(value or "").strip()
        if not text or any(ord(char) < 32 or ord(char) == 127 for char in text):
            raise WalmartConfigError(f"'{value}' is not a Walmart {noun}.")
        return text

    # -- life cycle --

    @property
    def base_url(self):
        """The Marketplace API base URL requests go to."""
        return self._base_url

    @property
    def token_url(self):
        """The token URL."""
        return self._token_url

    @property
    def last_correlation_id(self):
        """The correlation id of the latest request sent, or ``None``."""
        return self.correlation_ids[-1] if self.correlation_ids else None

    def __repr__(self):
        return f"<WalmartClient {self._base_url}>"

    # -- public API --

    def test_connection(self):
        """Obtain an access token and list the available recon dates.

        :return: ``{"dates": <how many>, "latest": <the latest date or None>}``
        :raise WalmartError: with the reason the connection does not work
        """
        dates = self.available_recon_dates()
        return {"dates": len(dates), "latest": dates[-1] if dates else None}

    def available_recon_dates(self):
        """The dates Walmart has a reconciliation file (v1) ready for.

        :return: sorted list of :class:`date`, each once
        :raise WalmartMalformedResponse: an answer without the list, or with
            a value that is not a date
        :raise WalmartError: any other failure, typed
        """
        what = "the list of available reconciliation reports"
        _response, payload = self._api_get(
            const.PATH_AVAILABLE_RECON_FILES,
            {const.PARAM_REPORT_VERSION: const.REPORT_VERSION},
            what,
            const.OPERATION_AVAILABLE_DATES,
        )
        if isinstance(payload, list):
            values = payload
        elif isinstance(payload, dict):
            values = payload.get(const.AVAILABLE_DATES_KEY, [])
        else:
            values = None
        if values is None or not isinstance(values, list):
            raise self._malformed(
                what, f"its '{const.AVAILABLE_DATES_KEY}' is not a list"
            )
        found = set()
        for value in values:
            if isinstance(value, dict):  # tolerated: {"reportDate": ...}
                value = value.get("reportDate", value.get("date"))
            try:
                found.add(parse_report_date(value))
            except ValueError:
                raise self._malformed(
                    what, f"'{http_policy.quote_message(str(value))}' is not a date"
                ) from None
        _logger.debug("Walmart lists %d recon date(s)", len(found))
        return sorted(found)

    def download_recon_file(
        self, report_date, dest, *, chunk_size=const.DOWNLOAD_CHUNK
    ):
        """Stream the reconciliation file (v1) of a date into ``dest``.

        The zip Walmart sends is written as it arrives, never held in memory;
        read its CSV with :func:`open_recon_csv`. A download cut short is
        started again from the beginning when ``dest`` can seek, within the
        retry bound; a web page instead of the file is asked again like a
        server error.

        :param report_date: a :class:`date` (or a date as Walmart lists it)
        :param dest: a binary file object, written from its current position
        :param chunk_size: bytes read and written at a time
        :return: :class:`ReconDownload`
        :raise WalmartNotFoundError: no file for that date
        :raise WalmartMalformedResponse: not a file, or a zip that does not
            open; nothing of it should be imported
        :raise WalmartError: any other failure, typed
        """
        try:
            day = parse_report_date(report_date)
        except ValueError:
            raise WalmartConfigError(
                f"'{report_date}' is not a date of a Walmart reconciliation report."
            ) from None
        label = day.isoformat()
        what = f"the reconciliation report of {label}"
        params = {
            const.PARAM_REPORT_DATE: format_report_date(day),
            const.PARAM_REPORT_VERSION: const.REPORT_VERSION,
        }
        start = dest.tell() if http_policy.seekable(dest) else None
        restarts = 0
        while True:
            response = self._api_get(
                const.PATH_RECON_FILE,
                params,
                what,
                const.OPERATION_RECON_FILE,
                accept=const.ACCEPT_FILE,
            )
            with response:
                if response.status_code == const.STATUS_NO_CONTENT:
                    raise self._not_found(what, response)
                try:
                    written, zipped = self._write(response, dest, chunk_size, what)
                except http_policy.STREAM_ERRORS as exc:
                    restarts += 1
                    self._restart_download(dest, start, restarts, exc, what, log=True)
                    continue
                filename = _filename(response)
            member = self._check_zip(dest, start, what) if zipped else ""
            _logger.info(
                "Walmart recon file %s downloaded: %d bytes (%s)",
                label,
                written,
                "zip" if zipped else "bare CSV",
            )
            return ReconDownload(day, written, zipped, filename, member, restarts)

    # -- token --

    def _obtain_token(self):
        """Obtain an access token with the client id and secret.

        :raise WalmartAuthError: the client id or secret refused
        """
        what = "an access token"
        headers = dict(self._headers)
        headers[const.HEADER_ACCEPT] = const.ACCEPT_JSON
        headers[const.HEADER_CONTENT_TYPE] = const.CONTENT_TYPE_FORM
        response, payload = self._policy.request(
            "POST",
            self._token_url,
            what=what,
            limiter=self._limiters.get(const.OPERATION_TOKEN),
            expect_json=True,
            data={"grant_type": const.GRANT_CLIENT_CREDENTIALS},
            headers=headers,
            auth=self._auth(authorization=self._basic),
        )
        return self._keep_token(response, payload, what)

    def _token_refused(self, response):
        status = response.status_code
        message = walmart_message(response)
        detail = f" ({message})" if message else ""
        if status in (
            const.STATUS_BAD_REQUEST,
            const.STATUS_UNAUTHORIZED,
            const.STATUS_FORBIDDEN,
        ):
            return self._error(
                WalmartAuthError,
                f"Walmart refused the client id or client secret{detail}. Copy both "
                "again from the Walmart Developer Portal (API Keys); a secret that "
                "was reset must be replaced.",
                status=status,
                reason="invalid_client",
            )
        return self._error(
            WalmartRequestError,
            f"Walmart refused the token request with HTTP {status}{detail}. "
            + _SERVICE.support_hint,
            status=status,
        )

    # -- API --

    def _auth(self, **kwargs):
        return _WalmartHeaders(self.correlation_ids, self._service_name, **kwargs)

    def _api_get(self, path, params, what, operation, *, accept=None):
        """One GET of the API with a valid token (renewed once on 401).

        :param accept: ``None`` for JSON (the answer is then ``(response,
            payload)``), else the media type of a file streamed (the answer
            is the open response)
        """
        url = self._base_url + path
        headers = dict(self._headers)
        headers[const.HEADER_ACCEPT] = accept or const.ACCEPT_JSON
        renewed = False
        while True:
            answer = self._policy.request(
                "GET",
                url,
                what=what,
                limiter=self._limiters.get(operation),
                expect_json=accept is None,
                check=None if accept is None else _file_answer,
                stream=accept is not None,
                params=params,
                headers=headers,
                auth=self._auth(token=self.access_token()),
            )
            response = answer if accept is not None else answer[0]
            status = response.status_code
            if status < 300:
                return answer
            response.close()
            if status == const.STATUS_UNAUTHORIZED and not renewed:
                renewed = True
                self._renew_token("Walmart refused the access token; renewing it once")
                continue
            raise self._refused(response, what)

    def _refused(self, response, what):
        status = response.status_code
        message = walmart_message(response)
        detail = f" ({message})" if message else ""
        if status == const.STATUS_UNAUTHORIZED:
            return self._error(
                WalmartAuthError,
                f"Walmart refused a new access token for {what}{detail}. Check "
                "that the client id and secret are the production keys of this "
                "seller (not sandbox ones).",
                status=status,
                reason="invalid_client",
            )
        if status == const.STATUS_FORBIDDEN:
            return self._error(
                WalmartAuthError,
                f"Walmart denied access to {what}{detail}. In the Walmart "
                "Developer Portal, give the API key the Reports permission (view "
                "is enough), then try again.",
                status=status,
                reason="access_denied",
            )
        if status == const.STATUS_NOT_FOUND:
            return self._not_found(what, response)
        return self._rejected(what, status, message)

    # -- download --

    def _write(self, response, dest, chunk_size, what):
        """Copy the body to ``dest``: ``(bytes written, zipped)``."""
        written = 0
        head = b""
        for chunk in response.iter_content(chunk_size):
            if not chunk:
                continue
            if written < len(const.ZIP_MAGIC):
                head = (head + chunk)[: len(const.ZIP_MAGIC)]
            dest.write(chunk)
            written += len(chunk)
        if not written:
            raise self._malformed(what, "the file is empty")
        zipped = head == const.ZIP_MAGIC
        if not zipped and head[:1] in (b"{", b"[", b"<"):
            raise self._malformed(
                what,
                "it is not a reconciliation file ("
                + (walmart_message(response) or "JSON or markup")
                + ")",
            )
        return written, zipped

    def _check_zip(self, dest, start, what):
        """The CSV member's name, when ``dest`` can be read back; the zip
        must open and hold one CSV."""
        if start is None or not (hasattr(dest, "read") and _readable(dest)):
            return ""
        end = dest.tell()
        try:
            dest.seek(start)
            # A file with other data before the zip is read too: zipfile
            # finds the archive from its end.
            with zipfile.ZipFile(dest) as archive:
                return _csv_member(archive)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise self._malformed(
                what, f"its zip does not open ({exc}); it is asked again next time"
            ) from exc
        finally:
            dest.seek(end)

    # -- small helpers --

    def _error(self, cls, message, **kwargs):
        error = super()._error(cls, message, **kwargs)
        error.correlation_id = self.last_correlation_id
        return error

    def _not_found(self, what, response):
        message = walmart_message(response)
        detail = f" ({message})" if message else ""
        return self._error(
            WalmartNotFoundError,
            f"Walmart has no file for {what}{detail}. Walmart lists the dates it "
            "keeps a reconciliation report for; this one is not (or no longer) "
            "among them.",
            status=response.status_code,
        )


def _readable(stream):
    try:
        return stream.readable()
    except (AttributeError, OSError, ValueError):
        return False
