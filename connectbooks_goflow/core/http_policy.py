"""One HTTP policy for every remote party of the add-on (Goflow, Amazon, ...).

The clients in ``core/`` describe their service (name, error classes, hints a
bookkeeper can act on) and send every request through :meth:`HttpPolicy.request`,
which owns what they have in common:

* the :class:`requests.Session`, closed on every path (the policy is a context
  manager, and so are the clients built on it);
* client-side rate limiting: one :class:`RateLimiter` (a token bucket) per
  operation and client, at a configurable rate and burst;
* timeouts, and retries with exponential backoff and jitter for 5xx answers,
  timeouts and lost connections; never for any other 4xx;
* answers that are not what was asked (a 2xx that should be JSON but is
  not, or that a client's ``check`` refuses: a proxy's or a maintenance
  page) are retried like 5xx;
* 429 waits ``Retry-After`` (fractional seconds or an HTTP date), else backs
  off; ``max_wait`` turns any wait longer than that into a typed
  :class:`ThrottledError` instead of a sleep (a scheduled job must not sleep
  for minutes: its work continues at the next run);
* typed errors (:class:`AuthError`, :class:`ThrottledError`,
  :class:`ServerError`, :class:`NetworkError`, :class:`RequestError`,
  :class:`NotFoundError`, :class:`MalformedResponse`), raised as the
  client's own subclasses;
* redaction of secrets (:class:`Redactor`) in every message and log line.

What the clients have in common beyond one request lives here too:
:class:`PolicyClient` (the policy opened from the client's bounds and
secrets, its life cycle, the checks of pasted credentials and addresses, the
messages of unreadable or rejected answers, a download started again after
a cut), :class:`AccessTokenClient` (a short-lived token obtained, kept and
renewed) and :class:`HeaderAuth` (one credential header). A client keeps
only its API: endpoints, authentication, paging and payloads.

Only ``core/`` clients import :mod:`requests`; this module is where they do.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

_logger = logging.getLogger(__name__)

# -- Bounds (ours; every client may pass its own) ----------------------------

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds on every call
DEFAULT_MAX_RETRIES = 5  # per cause: throttling; server errors and the like
DEFAULT_BACKOFF_BASE = 0.5  # seconds; doubled per attempt, with jitter
DEFAULT_BACKOFF_MAX = 30.0  # seconds, cap of one backoff wait
# The longest single wait (rate limit, Retry-After) slept for unless the
# caller asks less: longer waits raise ThrottledError.
DEFAULT_MAX_WAIT = 300.0
# A secret shorter than this is a test value: masking it would mangle every
# word containing it (real tokens and secrets are much longer).
MIN_REDACTED_LENGTH = 6
# Longest server message quoted in an error.
MAX_QUOTED_MESSAGE = 200

HEADER_RETRY_AFTER = "Retry-After"  # RFC 9110 §10.2.3: seconds or HTTP date
STATUS_TOO_MANY_REQUESTS = 429  # RFC 6585 §4
SERVER_ERROR_MIN = 500  # RFC 9110 §15.6: every 5xx is the server's fault
LOOPBACK_HOSTNAMES = frozenset({"localhost", "localhost.localdomain"})
MASK = "***"
_EPSILON = 1e-9  # seconds: below this, a computed wait is rounding noise


# -- Errors -----------------------------------------------------------------


class ApiError(Exception):
    """Base of every remote failure; ``str(error)`` is a sentence to act on.

    :ivar status: the HTTP status when the server answered, else ``None``
    """

    def __init__(self, message, *, status=None):
        super().__init__(message)
        self.status = status


class ConfigError(ApiError, ValueError):
    """The connection settings cannot work (empty secret, http URL, ...)."""


class AuthError(ApiError):
    """The server refused the credentials, or their access to the data.

    :ivar reason: why, when the client knows: ``invalid_grant``,
        ``invalid_client``, ``access_denied`` or the server's own code
    """

    def __init__(self, message, *, status=None, reason=None):
        super().__init__(message, status=status)
        self.reason = reason


class ThrottledError(ApiError):
    """The rate limit stopped the work: 429 beyond the bound, or a wait
    longer than ``max_wait``.

    :ivar retry_after: seconds after which a new try may succeed, when known
    """

    retry_after = None


class ServerError(ApiError):
    """5xx answers, or answers that are not what was asked, beyond the bound."""


class NetworkError(ServerError):
    """Timeouts or lost connections beyond the retry bound."""


class RequestError(ApiError):
    """The server rejected the request itself (a 4xx not retried)."""


class NotFoundError(RequestError):
    """What was asked does not exist (or not any more) on the server."""


class MalformedResponse(ApiError):
    """The server's answer cannot be read."""


@dataclass(frozen=True)
class ErrorKinds:
    """The classes a client raises for each kind of failure."""

    config: type = ConfigError
    auth: type = AuthError
    throttled: type = ThrottledError
    server: type = ServerError
    network: type = NetworkError
    request: type = RequestError
    malformed: type = MalformedResponse
    not_found: type = NotFoundError

    @classmethod
    def of(cls, base):
        """The kinds of a client whose error classes all derive from ``base``.

        Each kind is the most general subclass of ``base`` that is also of
        the kind's generic class (``AmazonServerError`` rather than
        ``AmazonNetworkError`` for ``server``); a kind the client has no
        class for keeps the generic one.

        :param base: the client's base error class (``AmazonError``), its
            subclasses defined
        :raise TypeError: when unrelated classes of the client claim a kind
        """
        # An ordered set: a class reached twice (diamonds) counts once.
        family, pending = {}, [base]
        while pending:
            current = pending.pop()
            family[current] = None
            pending.extend(current.__subclasses__())
        kinds = {}
        for kind in fields(cls):
            claims = [error for error in family if issubclass(error, kind.default)]
            roots = [
                claim
                for claim in claims
                if not any(
                    other is not claim and issubclass(claim, other) for other in claims
                )
            ]
            if len(roots) > 1:
                names = ", ".join(root.__name__ for root in roots)
                raise TypeError(f"{names} all claim the '{kind.name}' errors")
            if roots:
                kinds[kind.name] = roots[0]
        return cls(**kinds)


def json_object(response):
    """The JSON object of an answer's body, or ``None`` when it is none."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def json_message(response):
    """``message`` of a JSON body ``{"message": ...}``, or ""."""
    body = json_object(response)
    return "" if body is None else quote_message(body.get("message"))


def oauth_message(code, body):
    """An OAuth error (RFC 6749 §5.2) on one line: ``code: description``.

    :param code: the ``error`` of the body
    :param body: the body, whose ``error_description`` is added when given
    """
    text = code
    if body.get("error_description"):
        text += f": {body['error_description']}"
    return quote_message(text)


def quote_message(message):
    """A server's text on one line, shortened, or "" when it is not text."""
    if not isinstance(message, str) or not message.strip():
        return ""
    message = " ".join(message.split())
    if len(message) <= MAX_QUOTED_MESSAGE:
        return message
    return message[: MAX_QUOTED_MESSAGE - 3] + "..."


@dataclass(frozen=True)
class Service:
    """What the policy says about one remote party, in its messages.

    :param name: how bookkeepers call it (``Goflow``, ``Amazon``)
    :param errors: the client's error classes
    :param server_hint: closes the message of repeated server failures
    :param throttle_hint: closes the message of repeated 429 answers
    :param wait_hint: closes the message of a wait longer than ``max_wait``
    :param settings_hint: closes the message of a request that cannot be sent
    :param reach_hint: in brackets after "could not be reached at <host>"
    :param support_hint: closes the message of an answer the client cannot
        read (a sentence asking to send it to the connector's support)
    :param body_message: the server's own words in an error body, or ""
    :param logger: where the policy logs for this client (its own module's
        logger, so that a caller can mute or route one client's logs)
    """

    name: str
    errors: ErrorKinds = ErrorKinds()
    server_hint: str = "Try again later."
    throttle_hint: str = "Try again later."
    wait_hint: str = "the work stopped instead. Try again later."
    settings_hint: str = "Check the connection settings."
    reach_hint: str = "check the address and this server's internet access"
    support_hint: str = (
        "Please send this message to the support of the connector so the answer "
        "can be checked."
    )
    body_message: Callable = json_message
    logger: logging.Logger | None = None


def fetch_hints(name):
    """The hints of a marketplace whose reports a scheduled fetch downloads
    (``server_hint``, ``throttle_hint``, ``wait_hint`` of a :class:`Service`).

    :param name: the marketplace's name (``Amazon``)
    """
    return {
        "server_hint": f"{name} may be having an outage: try again later "
        "(scheduled fetches try again at their next run).",
        "throttle_hint": f"{name}'s rate limit for this seller is used up: the "
        "fetch continues at the next run.",
        "wait_hint": "the fetch stopped there and continues at the next run.",
    }


# -- Secrets ----------------------------------------------------------------

# Values that follow these names are secrets wherever they appear: headers,
# form and JSON bodies, query strings, repr()s.
_SECRET_FIELD_RE = re.compile(
    r"(?i)(\b(?:authorization|x-amz-access-token|access_token|refresh_token|"
    r"client_secret|api_token|password)\b[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|basic)\s+)?[^\s\"'&,;}]+"
)
# Login with Amazon tokens: Atza| (access), Atzr| (refresh).
_LWA_TOKEN_RE = re.compile(r"\bAtz[ar]\|[^\s\"'&,;}]+")
# The query string of a pre-signed URL is a credential for minutes: cut it
# wherever it carries signing material (absolute URLs and bare paths alike).
_SIGNED_QUERY_RE = re.compile(
    r"\?[^\s\"'<>]*(?:X-Amz-Signature|X-Amz-Credential|Signature=|sig=)"
    r"[^\s\"'<>]*",
    re.IGNORECASE,
)


class Redactor:
    """Masks secrets in text: the ones it was given, and known shapes.

    :param secrets: values to mask wherever they appear (shorter than
        :data:`MIN_REDACTED_LENGTH` are ignored)
    """

    def __init__(self, secrets=()):
        self._secrets = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret):
        """Mask ``secret`` from now on (e.g. an access token just obtained)."""
        if isinstance(secret, str) and len(secret) >= MIN_REDACTED_LENGTH:
            if secret not in self._secrets:
                self._secrets.append(secret)
                # Longest first: a secret containing another is masked whole.
                self._secrets.sort(key=len, reverse=True)

    def __call__(self, text):
        text = str(text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = _SIGNED_QUERY_RE.sub("?" + MASK, text)
        text = _LWA_TOKEN_RE.sub(MASK, text)
        return _SECRET_FIELD_RE.sub(r"\g<1>" + MASK, text)

    def __repr__(self):
        return f"<Redactor of {len(self._secrets)} secret(s)>"


class RedactingFilter(logging.Filter):
    """Logging filter applying a :class:`Redactor` to whole records.

    Installed on :mod:`urllib3`'s connection pool logger by the clients that
    download pre-signed URLs: it logs request lines with their query string.
    """

    def __init__(self, redactor=None):
        super().__init__()
        self.redactor = redactor or Redactor()

    def filter(self, record):
        message = record.getMessage()
        cleaned = self.redactor(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger_name="urllib3.connectionpool"):
    """Add one :class:`RedactingFilter` (of known shapes) to a logger, once."""
    target = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())


# -- Rate limit ---------------------------------------------------------------


class RateLimiter:
    """A token bucket: ``burst`` requests at once, then ``rate`` per second.

    Kept as the time the bucket is next full enough (the generic cell rate
    algorithm), so a fake ``sleep`` that does not move the clock still spaces
    the requests as a real one would.

    :param rate: tokens added per second (> 0)
    :param burst: bucket capacity, at least 1
    :param clock: monotonic clock
    :param sleep: ``time.sleep`` or a test double
    """

    def __init__(self, rate, burst=1, *, clock=time.monotonic, sleep=time.sleep):
        if not rate > 0:
            raise ValueError("a rate limit is a positive number of requests a second")
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.interval = 1.0 / self.rate
        self._tolerance = (self.burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._ready = None  # theoretical arrival time of the next request

    def wait(self, max_wait=None):
        """Take a token, sleeping until one is free.

        :param max_wait: longest sleep accepted; ``None`` = any
        :return: the seconds slept
        :raise ThrottledError: (the generic one) when the wait would be
            longer than ``max_wait``; no token is taken then
        """
        now = self._clock()
        ready = now if self._ready is None else max(self._ready, now)
        wait = ready - self._tolerance - now
        if wait < _EPSILON:  # float residue of the sums is no wait
            wait = 0.0
        if max_wait is not None and wait > max_wait:
            error = ThrottledError(f"the rate limit asks to wait {wait:.0f} seconds")
            error.retry_after = wait
            raise error
        if wait > 0:
            self._sleep(wait)
            # The request leaves now: a real sleep may have overslept (a fake
            # one has not moved the clock, and the slot counts).
            ready = max(ready, self._clock())
        self._ready = ready + self.interval
        return wait


# -- Helpers ------------------------------------------------------------------


def is_loopback(host):
    """True for ``localhost`` and loopback addresses (the local sandboxes)."""
    host = (host or "").lower().rstrip(".").strip("[]")
    if host in LOOPBACK_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url, noun, error):
    """A base URL as the clients keep it: http(s), a host, no credentials,
    query or fragment, https unless on this machine; no trailing slash.

    :param noun: how messages name it (``Amazon SP-API endpoint``)
    :param error: the client's config error class, raised when it is wrong
    """
    parts = urlsplit(str(url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise error(f"The {noun} '{url}' is not a web address.")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise error(
            f"The {noun} must not contain a user name, a password, a query or a "
            "fragment."
        )
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        raise error(
            f"The {noun} must use https ({parts.hostname} is not this machine)."
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def check_secret(value, noun, error, source):
    """A credential pasted by a person: not empty, no space or line break.

    :param noun: how messages name it (``Amazon client secret``)
    :param error: the client's config error class, raised when it is wrong
    :param source: where it is copied from (``Seller Central > Apps``)
    :return: the value without surrounding white space
    """
    if not isinstance(value, str) or not value.strip():
        raise error(
            f"The {noun} is empty. Copy it from {source} (see the connector's README)."
        )
    value = value.strip()
    if has_control_chars(value):
        raise error(
            f"The {noun} contains spaces or line breaks. Copy it again from "
            f"{source} without them."
        )
    return value


def all_loopback(*urls):
    """True when every URL points at this machine (the local sandboxes)."""
    return all(is_loopback(urlsplit(url).hostname) for url in urls)


def seekable(stream):
    """True when a file object can go back (a download can start again)."""
    try:
        return stream.seekable()
    except (AttributeError, OSError, ValueError):
        return False


def has_control_chars(text):
    """True when ``text`` holds spaces, line breaks or control characters."""
    return any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in text)


def retry_after_seconds(response):
    """Seconds of a ``Retry-After`` header (fractional allowed, or an HTTP
    date), ``None`` when absent or unreadable."""
    value = response.headers.get(HEADER_RETRY_AFTER)
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = (moment - datetime.now(timezone.utc)).total_seconds()
    if seconds != seconds or seconds == float("inf"):
        return None
    return max(0.0, seconds)


# What a body being streamed may fail with once its answer has begun.
STREAM_ERRORS = (
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.Timeout,
)


class HeaderAuth(requests.auth.AuthBase):
    """Sets one credential header on every request sent; given as ``auth=``
    so ``.netrc`` never overrides it, and shown without its value.

    :param header: the header's name (``Authorization``)
    :param value: its value (``Bearer <token>``)
    :param label: the name its ``repr`` shows (``GoflowBearerAuth``)
    """

    __slots__ = ("_header", "_label", "_value")

    def __init__(self, header, value, label):
        self._header = header
        self._value = value
        self._label = label

    def __call__(self, prepared):
        prepared.headers[self._header] = self._value
        return prepared

    def __repr__(self):
        return f"<{self._label} ***>"


class NoAuth(requests.auth.AuthBase):
    """Sends no credentials, and keeps ``.netrc`` from adding any."""

    def __call__(self, prepared):
        return prepared

    def __repr__(self):
        return "<NoAuth>"


class _NotJson(Exception):
    """The body of a successful answer is not JSON."""


# -- The policy ---------------------------------------------------------------


class HttpPolicy:
    """Sends a client's requests under one set of rules (see module doc).

    :param service: the :class:`Service` named in messages
    :param timeout: (connect, read) seconds, or one number for both
    :param max_retries: retries per cause (throttling; server errors,
        timeouts, lost connections and unreadable answers)
    :param backoff_base: first backoff, doubled per attempt, with jitter
    :param backoff_max: cap of one backoff
    :param max_wait: longest single wait slept for (rate limit, 429's
        ``Retry-After``); longer raises the service's throttled error with
        ``retry_after`` set. ``None`` = no bound
    :param redactor: the :class:`Redactor` of the client's secrets
    :param loopback: never use an environment proxy (the local sandboxes)
    :param session: a :class:`requests.Session` to use (not closed here)
    :param sleep: ``time.sleep`` or a test double recording the waits
    :param clock: monotonic clock of the rate limiters
    """

    def __init__(
        self,
        service,
        *,
        timeout=DEFAULT_TIMEOUT,
        max_retries=DEFAULT_MAX_RETRIES,
        backoff_base=DEFAULT_BACKOFF_BASE,
        backoff_max=DEFAULT_BACKOFF_MAX,
        max_wait=DEFAULT_MAX_WAIT,
        redactor=None,
        loopback=False,
        session=None,
        sleep=time.sleep,
        clock=time.monotonic,
    ):
        self.service = service
        self.errors = service.errors
        self.timeout = self._check_timeout(timeout)
        # One number when both are equal: some callers (Odoo's test harness,
        # proxies of requests) only understand the scalar form.
        connect, read = self.timeout
        self.request_timeout = connect if connect == read else self.timeout
        if (
            isinstance(max_retries, bool)
            or not isinstance(max_retries, int)
            or max_retries < 0
        ):
            raise self.errors.config("The number of retries must be 0 or more.")
        if max_wait is not None and not max_wait >= 0:
            raise self.errors.config("The longest wait must be 0 seconds or more.")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_wait = max_wait
        self.redact = redactor or Redactor()
        self.sleep = sleep
        self.clock = clock
        self._logger = service.logger or _logger
        self._random = random.Random()
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            if loopback:
                session.trust_env = False
        self.session = session
        self.request_count = 0

    def _check_timeout(self, timeout):
        if isinstance(timeout, int | float) and not isinstance(timeout, bool):
            timeout = (timeout, timeout)
        try:
            connect, read = (float(value) for value in timeout)
        except (TypeError, ValueError):
            connect = read = 0.0
        if not (connect > 0 and read > 0):
            raise self.errors.config(
                f"The {self.service.name} timeouts must be positive seconds: one "
                "number, or (connect, read)."
            )
        return (connect, read)

    # -- life cycle --

    def close(self):
        """Close the session if the policy created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- building blocks --

    def limiter(self, rate, burst=1):
        """A :class:`RateLimiter` on this policy's clock and sleep."""
        return RateLimiter(rate, burst, clock=self.clock, sleep=self.sleep)

    def limiters(self, limits, speedup=1.0):
        """One :class:`RateLimiter` per operation.

        :param limits: ``{operation: (requests per second, burst)}``
        :param speedup: multiplies every rate (tests and the sandbox)
        :return: ``{operation: RateLimiter}``
        """
        return {
            operation: self.limiter(rate * speedup, burst)
            for operation, (rate, burst) in limits.items()
        }

    def error(self, kind, message, **kwargs):
        """An error of the service's class ``kind`` (``"auth"``, ...), its
        text redacted."""
        cls = getattr(self.errors, kind) if isinstance(kind, str) else kind
        return cls(self.redact(message), **kwargs)

    def log(self, level, message, *args):
        """Log through the redactor (the arguments may quote a server)."""
        if self._logger.isEnabledFor(level):
            self._logger.log(
                level, "%s", self.redact(message % args if args else message)
            )

    def backoff(self, attempt):
        """Exponential backoff with jitter: in [cap/2, cap] for the attempt."""
        delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return delay / 2 + self._random.uniform(0, delay / 2)

    def take(self, limiter, what):
        """Wait for ``limiter`` within ``max_wait``, or raise throttled."""
        try:
            limiter.wait(self.max_wait)
        except ThrottledError as exc:
            raise self._too_long(exc.retry_after, what, "rate") from None

    # -- the request loop --

    def request(
        self,
        method,
        url,
        *,
        what,
        limiter=None,
        expect_json=False,
        check=None,
        **kw,
    ):
        """Send one request under the policy and return its answer.

        Retries 429, 5xx, timeouts and lost connections within the bounds;
        returns any other answer (2xx, 3xx, a 4xx for the client to read).

        :param what: what is asked, for messages: ``/orders (page 2)``
        :param limiter: the :class:`RateLimiter` of this operation, if any
        :param expect_json: a 2xx whose body is not JSON (a proxy's page) is
            retried like a 5xx; the answer is then ``(response, payload)``
            with numbers as :class:`~decimal.Decimal`
        :param check: ``check(response)`` of a 2xx answer: ``None`` when it
            is what was asked, else the reason it is not ("answered with an
            HTML page"); such answers are retried like a 5xx, then raise the
            service's malformed error. It must not read a streamed body
        :param kw: passed to :meth:`requests.Session.request`
        :raise ApiError: the service's subclass, typed
        """
        kw.setdefault("timeout", self.request_timeout)
        kw.setdefault("allow_redirects", False)
        throttled = failures = 0
        while True:
            if limiter is not None:
                self.take(limiter, what)
            self.request_count += 1
            try:
                response = self.session.request(method, url, **kw)
            except requests.Timeout as exc:
                failures += 1
                reason = (
                    f"did not answer within {self.timeout[1]:g} seconds"
                    if isinstance(exc, requests.ReadTimeout)
                    else f"could not be reached within {self.timeout[0]:g} seconds"
                )
                self._retry_or_raise(failures, what, reason, None, exc, "network")
                continue
            except (
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                failures += 1
                reason = self.connection_problem(exc, url)
                self._retry_or_raise(failures, what, reason, None, exc, "network")
                continue
            except requests.RequestException as exc:
                raise self.error(
                    "request",
                    f"The request for {what} could not be sent to "
                    f"{self.service.name} ({type(exc).__name__}). "
                    + self.service.settings_hint,
                ) from exc

            status = response.status_code
            if status == STATUS_TOO_MANY_REQUESTS:
                # A streamed answer gives its connection back (headers stay).
                response.close()
                throttled += 1
                self._wait_throttled(response, throttled, what)
                continue
            if status >= SERVER_ERROR_MIN:
                failures += 1
                message = self.service.body_message(response)
                response.close()
                reason = f"answered HTTP {status}" + (
                    f" ({message})" if message else ""
                )
                self._retry_or_raise(
                    failures,
                    what,
                    reason,
                    retry_after_seconds(response),
                    None,
                    "server",
                    status,
                )
                continue
            if check is not None and status < 300:
                refused = check(response)
                if refused:
                    failures += 1
                    response.close()
                    if failures > self.max_retries:
                        raise self._unreadable(response, what, refused, failures)
                    self._pause(failures, what, refused, None)
                    continue
            if not expect_json or status >= 300:
                return (response, None) if expect_json else response
            try:
                return response, self._decode(response)
            except _NotJson:
                failures += 1
                if failures > self.max_retries:
                    raise self._not_json(response, what, failures) from None
                self._pause(failures, what, self._not_json_reason(response), None)

    def _decode(self, response):
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise _NotJson() from None

    @staticmethod
    def _not_json_reason(response):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        return f"answered with something that is not JSON ({kind})"

    def _not_json(self, response, what, attempts):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        name = self.service.name
        return self.error(
            "malformed",
            f"{name} answered {what} with something that is not JSON ({kind}, "
            f"{len(response.content)} bytes), {attempts} time(s) in a row. {name} "
            "may be having an outage: try again later, and contact the "
            "connector's support if it lasts.",
            status=response.status_code,
        )

    def _unreadable(self, response, what, reason, attempts):
        name = self.service.name
        return self.error(
            "malformed",
            f"{name} {reason} for {what}, {attempts} time(s) in a row. {name} "
            "may be having an outage: try again later, and contact the "
            "connector's support if it lasts.",
            status=response.status_code,
        )

    def connection_problem(self, exc, url):
        """Plain words for a lost or refused connection."""
        text = str(exc)
        if "new connection" in text or "esolution" in text or "resolve" in text:
            host = requests.utils.urlparse(url).hostname
            return f"could not be reached at {host} ({self.service.reach_hint})"
        return f"closed the connection ({type(exc).__name__})"

    def _retry_or_raise(
        self, failures, what, reason, retry_after, exc, kind, status=None
    ):
        if failures > self.max_retries:
            raise self.error(
                kind,
                f"{self.service.name} {reason} for {what}, {failures} time(s) in a "
                f"row. {self.service.server_hint}",
                status=status,
            ) from exc
        self._pause(failures, what, reason, retry_after)

    def _pause(self, failures, what, reason, retry_after):
        delay = retry_after if retry_after is not None else self.backoff(failures)
        if self.max_wait is not None:
            delay = min(delay, self.max_wait)
        self.log(
            logging.WARNING,
            "%s %s for %s; retry %d/%d in %.2f s",
            self.service.name,
            reason,
            what,
            failures,
            self.max_retries,
            delay,
        )
        self.sleep(delay)

    def _wait_throttled(self, response, throttled, what):
        if throttled > self.max_retries:
            error = self.error(
                "throttled",
                f"{self.service.name} is still limiting the request rate after "
                f"{self.max_retries} retries ({what}). {self.service.throttle_hint}",
                status=STATUS_TOO_MANY_REQUESTS,
            )
            error.retry_after = retry_after_seconds(response)
            raise error
        delay = retry_after_seconds(response)
        if delay is None:
            delay = self.backoff(throttled)
        if self.max_wait is not None and delay > self.max_wait:
            raise self._too_long(delay, what, "server")
        self.log(
            logging.INFO,
            "%s throttled %s; retry %d/%d in %.2f s",
            self.service.name,
            what,
            throttled,
            self.max_retries,
            delay,
        )
        self.sleep(delay)

    def _too_long(self, delay, what, source):
        name = self.service.name
        if source == "server":
            text = f"{name} asks to wait {delay:.0f} seconds before the next request"
        else:
            text = f"{name}'s rate limit allows the next request in {delay:.0f} seconds"
        error = self.error(
            "throttled",
            f"{text} ({what}); {self.service.wait_hint}",
            status=STATUS_TOO_MANY_REQUESTS if source == "server" else None,
        )
        error.retry_after = delay
        return error


# -- What the clients share ---------------------------------------------------


# The options of HttpPolicy a client's caller may set; the others (the
# service, the redactor, loopback) are the client's to decide.
POLICY_OPTIONS = frozenset(
    {
        "timeout",
        "max_retries",
        "backoff_base",
        "backoff_max",
        "max_wait",
        "session",
        "sleep",
        "clock",
    }
)


class PolicyClient:
    """What a client built on the policy shares: it holds ``self._policy``
    (an :class:`HttpPolicy` of its ``_service``), is a context manager,
    closes the session it created on every path, and words the failures
    every API has alike.

    A client sets ``_service``, ``_secret_source`` and ``_policy_defaults``
    and calls :meth:`_open_policy` in its constructor.
    """

    #: the :class:`Service` the client speaks to
    _service = Service("the server")
    #: where a person copies the client's credentials from, for messages
    _secret_source = "the service"
    #: the client's own bounds (``timeout``, ``max_wait``, ...): its
    #: caller's options override them, HttpPolicy's defaults fill the rest
    _policy_defaults = {}
    _policy = None

    def _open_policy(self, secrets, urls, options):
        """Create ``self._policy``.

        :param secrets: values masked in every message and log line
        :param urls: every address requests go to; when all are on this
            machine (the local sandboxes), no environment proxy is used
        :param options: the caller's :data:`POLICY_OPTIONS`
        :raise TypeError: for an option that is none of them
        """
        unknown = sorted(set(options) - POLICY_OPTIONS)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument "
                f"'{unknown[0]}'"
            )
        self._policy = HttpPolicy(
            self._service,
            redactor=Redactor(secrets),
            loopback=all_loopback(*urls),
            **{**self._policy_defaults, **options},
        )
        return self._policy

    @property
    def request_count(self):
        """HTTP requests sent so far, retries included."""
        return self._policy.request_count

    def close(self):
        """Close the HTTP session if this client created it."""
        self._policy.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- configuration checks --

    @classmethod
    def _check_secret(cls, value, noun):
        """A credential of the service (``client secret``), see
        :func:`check_secret`."""
        return check_secret(
            value,
            f"{cls._service.name} {noun}",
            cls._service.errors.config,
            cls._secret_source,
        )

    @classmethod
    def _check_url(cls, url, noun):
        """An address of the service (``token URL``), see :func:`check_url`."""
        return check_url(url, f"{cls._service.name} {noun}", cls._service.errors.config)

    # -- failures --

    def _error(self, cls, message, **kwargs):
        """An error of class ``cls``, no secret in its text."""
        return self._policy.error(cls, message, **kwargs)

    def _malformed(self, what, problem, **kwargs):
        """The service's malformed error: its answer to ``what`` cannot be
        read because of ``problem``."""
        service = self._service
        return self._error(
            service.errors.malformed,
            f"{service.name}'s answer to {what} cannot be read: {problem}. "
            + service.support_hint,
            **kwargs,
        )

    def _rejected(self, what, status, message):
        """The service's request error: a 4xx that retrying cannot fix.

        :param message: the server's own words, or ""
        """
        service = self._service
        hint = service.support_hint
        return self._error(
            service.errors.request,
            f"{service.name} rejected the request for {what} with HTTP {status}"
            + (f" ({message})" if message else "")
            + ". Retrying will not help; "
            + hint[:1].lower()
            + hint[1:],
            status=status,
        )

    def _restart_download(self, dest, start, failures, exc, subject, *, log=False):
        """Make ready to start a download cut short again: ``dest`` back to
        ``start`` (what was written of it dropped), after a backoff.

        :param start: where the download began in ``dest``, ``None`` when
            ``dest`` cannot seek
        :param failures: how many times the download was cut so far
        :param exc: what cut it (one of :data:`STREAM_ERRORS`)
        :param subject: what is downloaded (``report document 42``)
        :param log: say so in a warning before starting again
        :raise NetworkError: the service's, when ``dest`` cannot seek or the
            download was cut more often than the retry bound
        """
        policy = self._policy
        name = self._service.name
        if start is None or failures > policy.max_retries:
            raise self._error(
                self._service.errors.network,
                f"The download of {subject} was cut short ({type(exc).__name__}), "
                f"{failures} time(s). " + self._service.server_hint,
            ) from exc
        if log:
            policy.log(
                logging.WARNING,
                "%s download of %s cut short (%s); starting again",
                name,
                subject,
                type(exc).__name__,
            )
        dest.seek(start)
        dest.truncate()
        policy.sleep(policy.backoff(failures))


class AccessToken:
    """A short-lived access token, kept until shortly before it runs out and
    masked in every message and log from the moment it is known.

    :param policy: the client's :class:`HttpPolicy` (its clock and redactor)
    :param lifetime: seconds a token lasts when the answer does not say
    :param margin: renew this long before the end (at most half the life)
    """

    def __init__(self, policy, lifetime, margin):
        self._policy = policy
        self._lifetime = float(lifetime)
        self._margin = float(margin)
        self._token = None
        self._until = None

    def current(self):
        """The token while it is valid, else ``None``."""
        if self._token is None or self._policy.clock() >= self._until:
            return None
        return self._token

    def forget(self):
        """Drop the token (the server refused it): the next one is asked."""
        self._token = None

    def take(self, payload):
        """Keep the token of an OAuth answer ``{"access_token",
        "expires_in"}``.

        :return: the token, or ``None`` when the answer carries none
        """
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token.strip():
            return None
        try:
            lifetime = float(payload.get("expires_in", self._lifetime))
        except (TypeError, ValueError):
            lifetime = self._lifetime
        if not lifetime > 0:
            lifetime = self._lifetime
        self._policy.redact.add(token)
        self._token = token.strip()
        self._until = self._policy.clock() + lifetime - min(self._margin, lifetime / 2)
        return self._token


class AccessTokenClient(PolicyClient):
    """A client whose requests carry a short-lived access token it asks for
    itself (Login with Amazon, Walmart's client credentials).

    The client implements :meth:`_obtain_token` (the token request, its
    answer given to :meth:`_keep_token`) and ``_token_refused(response)``
    (the error of a refused token request), and calls :meth:`_start_tokens`
    once its policy is open.

    :ivar token_renewals: times a token was renewed because the server
        refused it before its time
    """

    _token = None
    token_renewals = 0

    def _start_tokens(self, lifetime, margin):
        """Keep the tokens obtained (see :class:`AccessToken`)."""
        self._token = AccessToken(self._policy, lifetime, margin)
        self.token_renewals = 0

    def access_token(self):
        """The current access token, obtained when none is valid.

        :raise AuthError: the service's, when it refuses the credentials
        """
        return self._token.current() or self._obtain_token()

    def _obtain_token(self):
        raise NotImplementedError

    def _token_refused(self, response):
        raise NotImplementedError

    def _keep_token(self, response, payload, what):
        """The token of the answer to a token request, kept until shortly
        before it runs out.

        :param what: the token request, for messages
        :raise AuthError: (from ``_token_refused``) when the server said no
        :raise MalformedResponse: when the answer carries no token
        """
        if response.status_code >= 300:
            raise self._token_refused(response)
        token = self._token.take(payload)
        if token is None:
            raise self._malformed(what, "it carries no access token")
        self._policy.log(logging.DEBUG, "%s access token obtained", self._service.name)
        return token

    def _renew_token(self, reason):
        """Drop the token the server refused before its time: the next
        request asks for a new one.

        :param reason: the log line saying why
        """
        self.token_renewals += 1
        self._policy.log(logging.INFO, reason)
        self._token.forget()
