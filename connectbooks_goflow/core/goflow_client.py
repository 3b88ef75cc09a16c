"""Goflow REST API client.

It knows Goflow's envelope, paging, filters and errors; the add-on's one HTTP
policy (:mod:`.http_policy`) sends its requests (rate limit, retries,
timeouts), and every failure becomes a :class:`GoflowError` whose text a
bookkeeper can act on. The API token never appears in an exception message,
a log line or a ``repr``.

The per-order cost field is not publicly documented: the assumption about its
shape lives in :func:`order_cost_lines` alone (and :func:`product_cost` for
products), so that confirming the real field changes those two functions only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from . import goflow_const as const
from . import http_policy

_logger = logging.getLogger(__name__)

_SUPPORT_HINT = (
    "Please send this message to the support of the Goflow connector so the "
    "format can be checked."
)


# -- Errors -----------------------------------------------------------------


class GoflowError(http_policy.ApiError):
    """Base of every Goflow failure; ``str(error)`` is a sentence to act on.

    :ivar status: the HTTP status when Goflow answered, else ``None``
    """


class GoflowConfigError(GoflowError, http_policy.ConfigError):
    """The connection settings cannot work (empty token, http URL, ...)."""


class GoflowAuthError(GoflowError, http_policy.AuthError):
    """Goflow refused the token or the subdomain (HTTP 401 or 403)."""


class GoflowThrottledError(GoflowError, http_policy.ThrottledError):
    """Goflow kept answering 429 beyond the retry bound, or asked a wait
    longer than the client's ``max_wait``."""


class GoflowServerError(GoflowError, http_policy.ServerError):
    """5xx answers, timeouts or lost connections beyond the retry bound."""


class GoflowNetworkError(GoflowServerError, http_policy.NetworkError):
    """Timeouts or lost connections beyond the retry bound."""


class GoflowRequestError(GoflowError, http_policy.RequestError):
    """Goflow rejected the request itself (a 4xx other than 401/403/429)."""


class GoflowMalformedResponse(GoflowError, http_policy.MalformedResponse):
    """Goflow's answer is not what the connector can read.

    :ivar field: the offending field path (``lines[2].quantity.amount``)
    :ivar order_number: the order (or product SKU) the field belongs to
    :ivar goflow_id: Goflow's id of that order or product
    """

    def __init__(
        self, message, *, field=None, order_number=None, goflow_id=None, status=None
    ):
        super().__init__(message, status=status)
        self.field = field
        self.order_number = order_number
        self.goflow_id = goflow_id


# -- Cost records -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderCostLine:
    """One costed line of a Goflow order, or of a return on that order.

    ``order_date`` is the order's date, also on refund lines. ``unit_cost`` is
    ``None`` when Goflow has no cost (null, absent or 0).
    """

    goflow_order_id: int
    order_number: str
    store_id: int | None
    order_date: datetime | None
    kind: str
    sku: str | None
    quantity: Decimal
    unit_cost: Decimal | None
    currency: str | None
    refund_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProductCost:
    """Goflow's costs of one product; ``None`` where Goflow has none (or 0)."""

    sku: str
    average_cost: Decimal | None
    default_cost: Decimal | None


KIND_ORDER = "order"
KIND_REFUND = "refund"


# -- Payload reading (pure) -------------------------------------------------


_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_goflow_datetime(value):
    """Read a Goflow date: UTC ISO 8601, with or without fractional seconds.

    :param value: the text Goflow sent, or ``None``
    :return: an aware UTC :class:`datetime`; ``None`` for null, "" and the
        ``0001-01-01T00:00:00Z`` sentinel
    :raise ValueError: when the text is not such a date
    """
    if value is None:
        return None
    text = value.strip()
    if not text or text.startswith(const.ZERO_DATE_SENTINEL_PREFIX):
        return None
    match = _DATETIME_RE.match(text)
    if not match:
        raise ValueError(f"not an ISO 8601 date: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
    )
    offset = timedelta(0)
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (moment - offset).replace(tzinfo=timezone.utc)


def _describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int | float | Decimal):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a text ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


class _Reader:
    """Type checks on one record, raising errors that name field and record."""

    __slots__ = ("goflow_id", "key", "noun")

    def __init__(self, noun, record):
        self.noun = noun
        self.goflow_id = None
        self.key = None
        if not isinstance(record, dict):
            raise GoflowMalformedResponse(
                f"Goflow sent a {noun} that is {_describe(record)} instead of an "
                f"object. {_SUPPORT_HINT}",
                field="(record)",
            )
        # Name the record in messages by its id and key as soon as they read
        # well; their own checks come after, with the other fields.
        goflow_id = record.get("id")
        if isinstance(goflow_id, int) and not isinstance(goflow_id, bool):
            self.goflow_id = goflow_id

    def identify(self, key):
        """Use ``key`` (order number, SKU) in messages, when it is text."""
        if isinstance(key, str) and key.strip():
            self.key = key.strip()

    def label(self):
        if self.key and self.goflow_id is not None:
            return f"{self.noun} {self.key} (Goflow id {self.goflow_id})"
        if self.key:
            return f"{self.noun} {self.key}"
        if self.goflow_id is not None:
            return f"{self.noun} with Goflow id {self.goflow_id}"
        return f"a {self.noun} without id"

    def fail(self, field, expected, value):
        raise GoflowMalformedResponse(
            f"Goflow sent {self.label()} whose field '{field}' should be {expected} "
            f"but is {_describe(value)}; its costs cannot be read. {_SUPPORT_HINT}",
            field=field,
            order_number=self.key,
            goflow_id=self.goflow_id,
        )

    def obj(self, value, field, *, optional=False):
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            self.fail(field, "an object", value)
        return value

    def integer(self, value, field, *, optional=False):
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, "a whole number", value)
        return value

    def text(self, value, field, *, optional=False):
        if value is None and optional:
            return None
        if not isinstance(value, str) or (not optional and not value.strip()):
            self.fail(field, "a non-empty text", value)
        return value.strip() or None

    def number(self, value, field, *, optional=False):
        if value is None and optional:
            return None
        if isinstance(value, Decimal):
            if value.is_finite():
                return value
        elif isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        elif isinstance(value, float):
            try:
                result = Decimal(repr(value))
            except InvalidOperation:
                result = None
            if result is not None and result.is_finite():
                return result
        self.fail(field, "a number", value)

    def date(self, value, field):
        if value is not None and not isinstance(value, str):
            self.fail(field, "a date", value)
        try:
            return parse_goflow_datetime(value)
        except ValueError:
            self.fail(field, "an ISO 8601 date", value)

    def cost(self, value, field):
        """``{"amount": n, "currency": {"code": "usd"}}`` -> (unit cost, code)."""
        cost = self.obj(value, field, optional=True)
        if cost is None:
            return None, None
        amount = self.number(cost.get("amount"), f"{field}.amount", optional=True)
        return (amount or None), self.currency(cost.get("currency"), f"{field}")

    def currency(self, value, field):
        currency = self.obj(value, f"{field}.currency", optional=True)
        if currency is None:
            return None
        code = self.text(currency.get("code"), f"{field}.currency.code", optional=True)
        return code.upper() if code else None


def _line_currency(reader, line, field):
    """Currency of the line's price charge: the fallback when cost is null."""
    charges = line.get("charges")
    if not isinstance(charges, list):
        return None
    for index, charge in enumerate(charges):
        if isinstance(charge, dict) and charge.get("type") == "price":
            return reader.currency(charge.get("currency"), f"{field}.charges[{index}]")
    return None


def _cost_line(reader, line, field, head, kind, refund_id):
    line = reader.obj(line, field)
    product = reader.obj(line.get("product"), f"{field}.product", optional=True)
    sku = None
    if product is not None:
        sku = reader.text(
            product.get("item_number"), f"{field}.product.item_number", optional=True
        )
    quantity = reader.obj(line.get("quantity"), f"{field}.quantity")
    amount = reader.number(quantity.get("amount"), f"{field}.quantity.amount")
    unit_cost, currency = reader.cost(line.get("cost"), f"{field}.cost")
    if currency is None:
        currency = _line_currency(reader, line, field)
    return OrderCostLine(
        *head,
        kind=kind,
        sku=sku,
        quantity=amount,
        unit_cost=unit_cost,
        currency=currency,
        refund_id=refund_id,
    )


def order_cost_lines(order):
    """Cost lines of one Goflow order payload -- THE cost-field assumption.

    Goflow does not document a per-order cost. Until confirmed, each
    order line is assumed to carry ``cost: {"amount": <number>, "currency":
    {"code": "usd"}}`` = the unit average cost, null or 0 when unknown; and an
    order may carry ``returns: [{"id", "date", "lines": [{"product", "quantity",
    "cost"}]}]`` with the cost of refunded goods. Extra fields are ignored,
    ``product: null`` gives ``sku=None``.

    :param order: one element of ``GET /orders``' ``data``
    :return: a list of :class:`OrderCostLine`, order lines then refund lines
    :raise GoflowMalformedResponse: naming the field and the order
    """
    reader = _Reader("order", order)
    goflow_id = order.get("id")
    number = order.get("order_number")
    reader.identify(number)
    reader.integer(goflow_id, "id")
    reader.text(number, "order_number")
    store = reader.obj(order.get("store"), "store", optional=True)
    store_id = None
    if store is not None:
        store_id = reader.integer(store.get("id"), "store.id", optional=True)
    head = (goflow_id, reader.key, store_id, reader.date(order.get("date"), "date"))

    lines = order.get("lines")
    if not isinstance(lines, list):
        reader.fail("lines", "a list", lines)
    result = [
        _cost_line(reader, line, f"lines[{index}]", head, KIND_ORDER, None)
        for index, line in enumerate(lines)
    ]
    returns = order.get("returns")
    if returns is None:
        return result
    if not isinstance(returns, list):
        reader.fail("returns", "a list", returns)
    for r_index, refund in enumerate(returns):
        field = f"returns[{r_index}]"
        refund = reader.obj(refund, field)
        refund_id = refund.get("id")
        if isinstance(refund_id, int) and not isinstance(refund_id, bool):
            refund_id = str(refund_id)
        refund_id = reader.text(refund_id, f"{field}.id", optional=True)
        refund_lines = refund.get("lines")
        if not isinstance(refund_lines, list):
            reader.fail(f"{field}.lines", "a list", refund_lines)
        result.extend(
            _cost_line(
                reader, line, f"{field}.lines[{index}]", head, KIND_REFUND, refund_id
            )
            for index, line in enumerate(refund_lines)
        )
    return result


def product_cost(product):
    """Costs of one Goflow product payload -- the product-side assumption.

    ``pricing.default_cost`` is documented (S3); ``pricing.average_cost`` is
    assumed (null when unknown). A cost of 0 is read as "no cost".

    :param product: one element of ``GET /products``' ``data``
    :return: a :class:`ProductCost`
    :raise GoflowMalformedResponse: naming the field and the product
    """
    reader = _Reader("product", product)
    sku = product.get("item_number")
    reader.identify(sku)
    sku = reader.text(sku, "item_number")
    pricing = reader.obj(product.get("pricing"), "pricing", optional=True) or {}
    average = reader.number(
        pricing.get("average_cost"), "pricing.average_cost", optional=True
    )
    default = reader.number(
        pricing.get("default_cost"), "pricing.default_cost", optional=True
    )
    return ProductCost(
        sku=sku, average_cost=average or None, default_cost=default or None
    )


# -- Query helpers ----------------------------------------------------------


def filter_key(field, op=None):
    """``filters[field]`` or ``filters[field:op]``.

    :raise GoflowConfigError: for an operator Goflow does not know
    """
    if not field or any(char in field for char in "[]:&=#"):
        raise GoflowConfigError(f"'{field}' is not a Goflow filter field.")
    if op is None:
        return const.FILTER_KEY_TEMPLATE.format(field=field)
    if op not in const.FILTER_OPERATORS:
        known = ", ".join(sorted(const.FILTER_OPERATORS))
        raise GoflowConfigError(
            f"'{op}' is not a Goflow filter operator (known: {known})."
        )
    return const.FILTER_KEY_OP_TEMPLATE.format(field=field, op=op)


def format_filter_value(value):
    """Goflow's text form of a filter value (dates as UTC ``...Z``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def build_filters(conditions):
    """Query parameters for Goflow filters.

    ``{"order_number": ["A", "B"], "date:gte": dt}`` gives
    ``[("filters[order_number]", "A"), ("filters[order_number]", "B"),
    ("filters[date:gte]", "2025-01-01T00:00:00Z")]``: a repeated key is OR,
    different keys are AND.

    :param conditions: mapping of ``field`` or ``field:op`` to a value or an
        iterable of values; or an iterable of such (key, value) pairs
    :return: a list of (key, value) tuples for ``params=``
    """
    items = conditions.items() if isinstance(conditions, Mapping) else conditions
    params = []
    for spec, values in items:
        field, _sep, op = spec.partition(":")
        key = filter_key(field, op or None)
        if isinstance(values, str | bytes | datetime) or not isinstance(
            values, Iterable
        ):
            values = [values]
        params.extend((key, format_filter_value(value)) for value in values)
    return params


def sort_params(field, direction="asc"):
    """``sort`` and ``sort_direction`` parameters."""
    if direction not in const.SORT_DIRECTIONS:
        raise GoflowConfigError(f"'{direction}' is not a sort direction (asc, desc).")
    return [(const.PARAM_SORT, field), (const.PARAM_SORT_DIRECTION, direction)]


# -- Client internals -------------------------------------------------------


class _RateLimiter(http_policy.RateLimiter):
    """Evenly spaced requests: never more than N in any 60 s window.

    A bucket of one: consecutive requests are at least 60/N s apart (a hair
    more, see ``RATE_LIMIT_SAFETY``), so any N+1 requests span more than a
    minute, and the pace stays at N per minute when requests are fast.
    """

    def __init__(self, per_minute, clock, sleep):
        rate = per_minute / const.SECONDS_PER_MINUTE / const.RATE_LIMIT_SAFETY
        super().__init__(rate, 1, clock=clock, sleep=sleep)


_SERVICE = http_policy.Service(
    name="Goflow",
    errors=http_policy.ErrorKinds.of(GoflowError),
    server_hint="Goflow may be down or overloaded: try again later, and contact "
    "Goflow support if it lasts.",
    throttle_hint="Lower the rate limit (requests per minute) of the Goflow "
    "connection, or try again later.",
    wait_hint="the sync stopped instead. Try again later, or lower the rate limit "
    "of the Goflow connection.",
    settings_hint="Check the Goflow connection settings.",
    logger=_logger,
    reach_hint="check the subdomain and this server's internet access",
    support_hint=_SUPPORT_HINT,
)


def _unique_texts(values):
    seen = set()
    result = []
    for value in values:
        if value is None:
            continue
        text = str(value).strip()
        if text and text not in seen:
            seen.add(text)
            result.append(text)
    return result


def _chunks(values, size):
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- The client -------------------------------------------------------------


class GoflowClient(http_policy.PolicyClient):
    """Read orders, products and stores from one Goflow account.

    :param token: the API token (Settings > API Tokens in Goflow)
    :param subdomain: the account's subdomain: ``acme`` for acme.goflow.com
    :param base_url: instead of the subdomain, an explicit ``.../v1`` URL;
        plain http is accepted only for loopback hosts (the local sandbox)
    :param beta_contact: e-mail sent as ``X-Beta-Contact`` on every call
    :param rate_limit_per_minute: client-side limit; ``None`` = unlimited
    :param page_size: page size asked of Goflow; ``None`` = Goflow's default
    :param policy_options: the HTTP policy's ``timeout``, ``max_retries``,
        ``backoff_base``, ``backoff_max``, ``max_wait`` (a longer wait raises
        :class:`GoflowThrottledError`, its ``retry_after`` saying how long; a
        scheduled job passes a few seconds), ``session`` (reused, not closed
        here), ``sleep`` and ``clock`` (rate limiter): see
        :class:`.http_policy.HttpPolicy`; Goflow's bounds by default
    """

    _service = _SERVICE
    _policy_defaults = {
        "timeout": const.DEFAULT_TIMEOUT,
        "max_retries": const.DEFAULT_MAX_RETRIES,
        "backoff_base": const.DEFAULT_BACKOFF_BASE,
        "backoff_max": const.DEFAULT_BACKOFF_MAX,
        "max_wait": const.MAX_RETRY_AFTER_SECONDS,
    }

    def __init__(
        self,
        token,
        subdomain=None,
        *,
        base_url=None,
        beta_contact=None,
        rate_limit_per_minute=None,
        page_size=None,
        **policy_options,
    ):
        self._token = self._check_token(token)
        self._base_url = self._check_base_url(subdomain, base_url)
        self._base_parts = urlsplit(self._base_url)
        self._headers = {
            const.HEADER_ACCEPT: const.ACCEPT_JSON,
            const.HEADER_USER_AGENT: const.USER_AGENT,
        }
        if beta_contact:
            beta_contact = str(beta_contact).strip()
            if http_policy.has_control_chars(beta_contact):
                raise GoflowConfigError(
                    "The Goflow beta contact must be one e-mail address, without "
                    "spaces or line breaks."
                )
            self._headers[const.HEADER_BETA_CONTACT] = beta_contact
        if rate_limit_per_minute is not None and not rate_limit_per_minute > 0:
            raise GoflowConfigError(
                "The Goflow rate limit must be a positive number of requests per "
                "minute, or empty for no limit."
            )
        if page_size is not None and (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or page_size < 1
        ):
            raise GoflowConfigError(
                "The Goflow page size must be a positive whole number, or empty."
            )
        self._open_policy([self._token], [self._base_url], policy_options)
        self._rate_limit = rate_limit_per_minute
        self._page_size = page_size
        self._limiter = (
            _RateLimiter(rate_limit_per_minute, self._policy.clock, self._policy.sleep)
            if rate_limit_per_minute
            else None
        )
        self._auth = http_policy.HeaderAuth(
            const.HEADER_AUTHORIZATION, f"Bearer {self._token}", "GoflowBearerAuth"
        )

    # -- configuration checks --

    @staticmethod
    def _check_token(token):
        if not isinstance(token, str) or not token.strip():
            raise GoflowConfigError(
                "The Goflow API token is empty. Enter the token that the Goflow "
                "account owner creates under Settings > API Tokens."
            )
        token = token.strip()
        if http_policy.has_control_chars(token):
            raise GoflowConfigError(
                "The Goflow API token contains spaces or line breaks. Copy it "
                "again from Goflow (Settings > API Tokens) without them."
            )
        return token

    @staticmethod
    def _check_base_url(subdomain, base_url):
        if base_url:
            parts = urlsplit(str(base_url).strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise GoflowConfigError(
                    f"'{base_url}' is not a web address; the Goflow base URL looks "
                    "like https://acme.api.goflow.com/v1."
                )
            if parts.username or parts.password or parts.query or parts.fragment:
                raise GoflowConfigError(
                    "The Goflow base URL must not contain a user name, a password, "
                    "a query or a fragment."
                )
            if parts.scheme != "https" and not http_policy.is_loopback(parts.hostname):
                raise GoflowConfigError(
                    f"The Goflow base URL must use https ({parts.hostname} is not "
                    "this machine); Goflow refuses plain http."
                )
            return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
        subdomain = (subdomain or "").strip().lower()
        if not subdomain:
            raise GoflowConfigError(
                "The Goflow subdomain is empty. Enter the first part of your Goflow "
                "address: 'acme' for https://acme.goflow.com."
            )
        if not re.match(const.SUBDOMAIN_PATTERN, subdomain):
            raise GoflowConfigError(
                f"'{subdomain}' is not a Goflow subdomain. Enter only the first "
                "part of your Goflow address: 'acme' for https://acme.goflow.com."
            )
        return const.BASE_URL_TEMPLATE.format(subdomain=subdomain)

    # -- public API --

    @property
    def base_url(self):
        """The ``.../v1`` URL calls are made against."""
        return self._base_url

    @property
    def _timeout(self):
        return self._policy.timeout

    def __repr__(self):
        limit = f"{self._rate_limit}/min" if self._rate_limit else "none"
        return f"<GoflowClient {self._base_url} rate_limit={limit}>"

    def iter_pages(self, path, params=None):
        """Yield the ``data`` list of every page of a Goflow list endpoint.

        Follows ``next`` verbatim until it is null or "".

        :param path: endpoint below the base URL, e.g. ``/orders``
        :param params: mapping, or list of (key, value) tuples (repeated keys
            kept); see :func:`build_filters` and :func:`sort_params`
        """
        url = self._endpoint_url(path)
        query = self._query(params)
        resource = urlsplit(url).path
        visited = set()
        page = 1
        while True:
            what = f"{resource} (page {page})"
            data, next_url = self._envelope(self._get(url, query, what), what)
            _logger.debug("Goflow GET %s: %d records", what, len(data))
            yield data
            if not next_url:
                return
            if next_url in visited:
                raise self._error(
                    GoflowMalformedResponse,
                    f"Goflow's paging of {resource} points back to a page already "
                    "read; the list was stopped to avoid an endless loop. "
                    + _SUPPORT_HINT,
                )
            visited.add(next_url)
            url = self._check_next(next_url, what)
            query = None
            page += 1

    def iter_records(self, path, params=None):
        """Yield every record of every page (see :meth:`iter_pages`)."""
        for data in self.iter_pages(path, params):
            yield from data

    def fetch_order_costs(
        self, order_numbers, *, store_ids=None, batch_size=const.MAX_FILTER_VALUES
    ):
        """Cost lines of the Goflow orders with these order numbers.

        Asks ``GET /orders`` with at most ``batch_size`` (<= 100) order numbers
        per request, follows all pages, keeps each Goflow order id once and
        yields the lines of split orders (same number, other id) too.

        :param order_numbers: marketplace order numbers; blanks and repeats
            are skipped
        :param store_ids: Goflow store ids to restrict to (OR), or ``None``
        :return: iterator of :class:`OrderCostLine`
        :raise GoflowError: any failure, typed
        """
        self._check_batch_size(batch_size)
        numbers = _unique_texts(order_numbers)
        extra = (
            build_filters({const.FILTER_STORE_ID: list(store_ids)}) if store_ids else []
        )
        extra += sort_params(const.SORT_BY_ID)
        key = filter_key(const.FILTER_ORDER_NUMBER)
        seen_ids = set()
        for batch in _chunks(numbers, batch_size):
            asked = set(batch)
            params = [(key, number) for number in batch] + extra
            for data in self.iter_pages(const.ENDPOINT_ORDERS, params):
                for order in data:
                    lines = order_cost_lines(order)
                    self._check_asked(order["order_number"].strip(), asked, "order")
                    if order["id"] in seen_ids:
                        continue
                    seen_ids.add(order["id"])
                    yield from lines

    def fetch_product_costs(self, skus, batch_size=const.MAX_FILTER_VALUES):
        """Goflow's costs of these SKUs (``item_number``), by SKU.

        :return: ``{sku: ProductCost}``; SKUs Goflow does not know are absent
        """
        self._check_batch_size(batch_size)
        key = filter_key(const.FILTER_ITEM_NUMBER)
        result = {}
        for batch in _chunks(_unique_texts(skus), batch_size):
            asked = set(batch)
            params = [(key, sku) for sku in batch] + sort_params(const.SORT_BY_ID)
            for product in self.iter_records(const.ENDPOINT_PRODUCTS, params):
                cost = product_cost(product)
                self._check_asked(cost.sku, asked, "product")
                result.setdefault(cost.sku, cost)
        return result

    def test_connection(self):
        """Check token and subdomain by listing the account's stores.

        :return: ``{"stores": <number of stores>}``
        :raise GoflowError: with the reason the connection does not work
        """
        count = sum(len(data) for data in self.iter_pages(const.ENDPOINT_STORES))
        return {"stores": count}

    # -- HTTP --

    @staticmethod
    def _check_batch_size(batch_size):
        if not 1 <= batch_size <= const.MAX_FILTER_VALUES:
            raise GoflowConfigError(
                f"A Goflow request takes 1 to {const.MAX_FILTER_VALUES} values per "
                f"filter, not {batch_size}."
            )

    def _check_asked(self, value, asked, noun):
        # An ignored filter would page through the whole account: stop at once.
        if value not in asked:
            raise self._error(
                GoflowMalformedResponse,
                f"Goflow returned the {noun} {value}, which was not asked for: the "
                "filter seems to be ignored, so the sync stopped. " + _SUPPORT_HINT,
                order_number=value,
            )

    def _endpoint_url(self, path):
        if "://" in path:
            return self._check_next(path, path)
        return f"{self._base_url}/{path.lstrip('/')}"

    def _query(self, params):
        if params is None:
            query = []
        elif isinstance(params, Mapping):
            query = []
            for key, value in params.items():
                if isinstance(value, list | tuple):
                    query.extend((key, format_filter_value(item)) for item in value)
                else:
                    query.append((key, format_filter_value(value)))
        else:
            query = [(key, format_filter_value(value)) for key, value in params]
        if self._page_size and not any(k == const.PARAM_PAGE_SIZE for k, _v in query):
            query.append((const.PARAM_PAGE_SIZE, str(self._page_size)))
        return query

    def _check_next(self, next_url, what):
        parts = urlsplit(next_url)
        base = self._base_parts
        if (parts.scheme, (parts.netloc or "").lower()) != (
            base.scheme,
            base.netloc.lower(),
        ):
            raise self._error(
                GoflowMalformedResponse,
                f"Goflow's link to the page after {what} points to another address "
                f"({parts.scheme}://{parts.hostname}); it was not followed so that "
                "the API token is sent to Goflow only. " + _SUPPORT_HINT,
            )
        return next_url

    def _get(self, url, query, what):
        """The decoded JSON of a GET; a page that is not JSON (a proxy's or a
        maintenance page) is retried like a 5xx by the policy."""
        response, payload = self._policy.request(
            "GET",
            url,
            what=what,
            limiter=self._limiter,
            params=query,
            headers=self._headers,
            auth=self._auth,
            expect_json=True,
        )
        status = response.status_code
        if status in (const.STATUS_UNAUTHORIZED, const.STATUS_FORBIDDEN):
            raise self._auth_error(response, what)
        if status >= 300:
            message = http_policy.json_message(response)
            raise self._error(
                GoflowRequestError,
                f"Goflow rejected the request for {what} with HTTP {status}"
                + (f": {message}" if message else "")
                + ". Retrying will not help; please send this message to the "
                "support of the Goflow connector.",
                status=status,
            )
        return payload

    def _auth_error(self, response, what):
        message = http_policy.json_message(response)
        detail = f" ({message})" if message else ""
        if response.status_code == const.STATUS_UNAUTHORIZED:
            text = (
                f"Goflow refused the API token{detail}. Check the subdomain and the "
                "API token of the Goflow connection; the Goflow account owner "
                "creates tokens under Settings > API Tokens."
            )
        else:
            text = (
                f"Goflow denied access to {what}{detail}. The token is known but "
                "may not read this data: ask the Goflow account owner to check the "
                "token and the account's API access."
            )
        return self._error(GoflowAuthError, text, status=response.status_code)

    def _envelope(self, payload, what):
        if not isinstance(payload, dict) or not isinstance(
            payload.get(const.ENVELOPE_DATA), list
        ):
            shape = (
                "its 'data' is "
                + _describe(payload.get(const.ENVELOPE_DATA))
                + " instead of a list"
                if isinstance(payload, dict)
                else f"it is {_describe(payload)} instead of an object"
            )
            raise self._malformed(what, shape, field=const.ENVELOPE_DATA)
        next_url = payload.get(const.ENVELOPE_NEXT)
        if next_url is not None and not isinstance(next_url, str):
            raise self._malformed(
                what,
                f"its 'next' is {_describe(next_url)} instead of a link",
                field=const.ENVELOPE_NEXT,
            )
        return payload[const.ENVELOPE_DATA], (next_url or "").strip()


def goflow_base_url(subdomain, base_url=None):
    """The ``.../v1`` URL a client of these settings calls: the one check of
    a subdomain or base URL, for the connection form as for the client.

    :raise GoflowConfigError: naming what is wrong with them
    """
    return GoflowClient._check_base_url(subdomain, base_url)
