"""A local HTTP server that answers like Goflow's REST API (standard library only).

What it emulates: bearer auth (401 / 403 with a JSON ``message``), the
``{"data", "next"}`` envelope with an absolute ``next`` that carries the
original query plus a position, ``filters[field]`` / ``filters[field:op]`` (raw
or percent-encoded, repeated key = OR, different keys = AND, dotted paths),
``sort`` and ``sort_direction``, a token bucket answering 429 +
``Retry-After``, and knobs for latency, injected errors, malformed pages, connection
resets and scripted answers.

Speed matters (150,000 orders in under a minute through ~1,500 requests):
orders are indexed by ``order_number`` and ``id``, serialised once, answered
in one write over HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import collections
import json
import math
import random
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote_plus

from tools.sandbox_http import (
    ScriptedSandbox,
    TokenBucket,
    TrackedHandler,
    head_bytes,
    scripted_answer,
)

API_PREFIX = "/v1"
RESOURCES = ("orders", "products", "stores")
FILTER_OPERATORS = frozenset({"eq", "not", "gte", "gt", "lt", "lte"})
RANGE_OPERATORS = frozenset({"gte", "gt", "lt", "lte"})
CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"
DEFAULT_TOKEN = "sandbox-token"
RETRY_AFTER_MODES = ("mixed", "int", "float", "none")
MALFORMED_KINDS = ("not_json", "data_not_list", "bad_field")

_FILTER_RE = re.compile(r"^filters\[([^\]:]+)(?::([A-Za-z_]+))?\]$")
_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)

RecordedRequest = collections.namedtuple(
    "RecordedRequest", "timestamp method path query status"
)


class _BadRequest(Exception):
    def __init__(self, message, status=HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


def parse_date(text):
    """UTC datetime of an ISO 8601 text, or ``None`` when it is not one."""
    match = _DATE_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment = moment - offset if zone[0] == "+" else moment + offset
    return moment.replace(tzinfo=timezone.utc)


def _leaves(record, path):
    """Values at a dotted path; lists on the way are searched element-wise."""
    values = [record]
    for part in path.split("."):
        found = []
        for value in values:
            if isinstance(value, list):
                found.extend(item.get(part) for item in value if isinstance(item, dict))
            elif isinstance(value, dict):
                found.append(value.get(part))
        values = found
    flat = []
    for value in values:
        if isinstance(value, list):
            flat.extend(value)
        else:
            flat.append(value)
    return flat


def _comparable(leaf, text):
    """(leaf, filter value) as two values of one type, or ``None``."""
    if leaf is None:
        return None
    if isinstance(leaf, bool):
        return leaf, text.strip().lower() == "true"
    if isinstance(leaf, int | float):
        try:
            return float(leaf), float(text)
        except ValueError:
            return None
    if isinstance(leaf, str):
        left = parse_date(leaf) if leaf[:1].isdigit() else None
        if left is not None:
            right = parse_date(text)
            if right is None:
                raise _BadRequest(f"'{text}' is not a date (use 2025-01-31T00:00:00Z).")
            return left, right
        return leaf, text
    return None


def _compare(leaf, op, text):
    pair = _comparable(leaf, text)
    if pair is None:
        return False
    left, right = pair
    if op == "eq":
        return left == right
    if op == "gte":
        return left >= right
    if op == "gt":
        return left > right
    if op == "lt":
        return left < right
    return left <= right


def _matches(record, field, op, values):
    leaves = _leaves(record, field)
    if op == "not":
        return not any(_compare(leaf, "eq", v) for leaf in leaves for v in values)
    return any(_compare(leaf, op, v) for leaf in leaves for v in values)


def _sort_key(record, field):
    leaves = _leaves(record, field)
    value = leaves[0] if leaves else None
    if value is None:
        return (0, 0, 0)
    if isinstance(value, bool):
        return (1, 0, int(value))
    if isinstance(value, int | float):
        return (1, 0, value)
    if isinstance(value, str):
        moment = parse_date(value) if value[:1].isdigit() else None
        if moment is not None:
            return (1, 0, moment.timestamp())
        return (1, 1, value)
    return (1, 2, str(value))


class _Collection:
    """Records of one endpoint with indexes, cached JSON and cached queries."""

    _CACHE_SIZE = 64

    def __init__(self, records, indexed):
        self.records = records
        self.encoded = [None] * len(records)
        self.indexed = indexed
        self.lock = threading.Lock()
        self._queries = collections.OrderedDict()
        self.reindex()

    def reindex(self):
        self.index = {}
        for field in self.indexed:
            table = {}
            for position, record in enumerate(self.records):
                for leaf in _leaves(record, field):
                    if leaf is not None:
                        table.setdefault(str(leaf), []).append(position)
            self.index[field] = table
        self.position_by_id = {
            record.get("id"): position for position, record in enumerate(self.records)
        }
        self._queries.clear()

    def changed(self, position):
        self.encoded[position] = None
        self._queries.clear()

    def json(self, position):
        body = self.encoded[position]
        if body is None:
            body = json.dumps(self.records[position], separators=(",", ":")).encode()
            self.encoded[position] = body
        return body

    def query(self, groups, sort, direction):
        """Positions of matching records, sorted. ``groups``: {(field, op): [v]}."""
        key = (tuple(sorted((f, o, tuple(v)) for (f, o), v in groups.items())), sort)
        key += (direction,)
        with self.lock:
            cached = self._queries.get(key)
            if cached is not None:
                self._queries.move_to_end(key)
                return cached
        candidates = None
        rest = []
        for (field, op), values in groups.items():
            table = self.index.get(field)
            if op == "eq" and table is not None:
                hits = set()
                for value in values:
                    hits.update(table.get(value, ()))
                candidates = hits if candidates is None else candidates & hits
            else:
                rest.append((field, op, values))
        positions = range(len(self.records)) if candidates is None else candidates
        records = self.records
        found = [p for p in positions if all(_matches(records[p], *g) for g in rest)]
        # The position breaks ties, so that pages of one query never overlap.
        found.sort(
            key=lambda p: (_sort_key(records[p], sort), p),
            reverse=direction == "desc",
        )
        with self.lock:
            self._queries[key] = found
            while len(self._queries) > self._CACHE_SIZE:
                self._queries.popitem(last=False)
        return found


class _Handler(TrackedHandler):
    server_version = "GoflowSandbox/1.0"

    def do_GET(self):
        self.server.sandbox._handle(self)

    def _not_allowed(self):
        self.close_connection = True
        self.server.sandbox._handle(self, allowed=False)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _not_allowed


class SandboxServer(ScriptedSandbox):
    """Goflow look-alike serving a :class:`~.dataset.Dataset` on ``/v1``.

    :param dataset: the data to serve
    :param token: the accepted bearer token (others get 401)
    :param rate_limit: requests per minute of the token bucket; ``None`` = off
    :param page_size: records per page unless the client asks ``page_size``
    :param max_page_size: the most a client may ask with ``page_size``
    :param burst: bucket capacity (default: a second of requests, at least 2)
    :param forbidden_token: a token answered with 403
    :param error_rate: share of requests answered 500
    :param latency_ms: delay before each answer
    :param malformed_share: share of pages answered malformed
    :param end_marker: ``"null"`` or ``"empty"``: ``next`` on the last page
    :param retry_after: ``mixed`` (integer and fractional in turn), ``int``,
        ``float`` or ``none``
    :param require_beta_contact: answer 400 to requests without X-Beta-Contact
    :param seed: seed of the random error and malformed-page injection
    """

    thread_name = "goflow-sandbox"

    def __init__(
        self,
        dataset,
        host="127.0.0.1",
        port=0,
        token=DEFAULT_TOKEN,
        rate_limit=None,
        page_size=100,
        *,
        max_page_size=1000,
        burst=None,
        forbidden_token=None,
        error_rate=0.0,
        latency_ms=0.0,
        malformed_share=0.0,
        end_marker="null",
        retry_after="mixed",
        require_beta_contact=False,
        seed=0,
        verbose=False,
        clock=time.monotonic,
    ):
        if end_marker not in ("null", "empty"):
            raise ValueError("end_marker is 'null' or 'empty'")
        if retry_after not in RETRY_AFTER_MODES:
            raise ValueError(f"retry_after is one of {RETRY_AFTER_MODES}")
        self.dataset = dataset
        self.host = host
        self.token = token
        self.forbidden_token = forbidden_token
        self.page_size = page_size
        self.max_page_size = max_page_size
        self.error_rate = error_rate
        self.latency_ms = latency_ms
        self.malformed_share = malformed_share
        self.end_marker = end_marker
        self.retry_after = retry_after
        self.require_beta_contact = require_beta_contact
        self.ignored_filters = set()
        self.verbose = verbose
        self.clock = clock
        self._random = random.Random(seed)
        self._random_lock = threading.Lock()
        self._retry_after_turn = 0
        self._malformed_turn = 0
        self._bucket = None
        self.set_rate_limit(rate_limit, burst)
        self._collections = {
            "orders": _Collection(dataset.orders, ("order_number", "id")),
            "products": _Collection(dataset.products, ("item_number", "id")),
            "stores": _Collection(dataset.stores, ("id",)),
        }
        self._listen(host, port, _Handler)

    # -- life cycle --

    @property
    def url(self):
        """Base URL of the API, ``http://host:port/v1``."""
        return self.origin + API_PREFIX

    # -- knobs --

    def set_rate_limit(self, per_minute, burst=None):
        """Token bucket of ``per_minute`` requests (``None`` = unlimited)."""
        if not per_minute:
            self._bucket = None
            return
        if burst is None:
            burst = max(2, math.ceil(per_minute / 60))
        self._bucket = TokenBucket(per_minute / 60.0, burst, self.clock)

    def fail_next(self, count, status=500, retry_after=None, message=None):
        """Answer the next ``count`` requests with ``status`` and this
        ``message`` (Goflow's error body)."""
        body = {"message": message or f"Sandbox error {status} (scripted)."}
        super().fail_next(count, status, retry_after, body)

    def html_next(self, count=1, status=200):
        """Answer the next ``count`` requests with an HTML page (a proxy's or
        a maintenance page), ``200 text/html`` unless ``status`` says else."""
        page = (
            "<!DOCTYPE html><html><head><title>Down for maintenance</title></head>"
            "<body><h1>We'll be back shortly</h1></body></html>"
        )
        self.script_responses(
            [
                {
                    "status": status,
                    "body": page,
                    "headers": {"Content-Type": "text/html; charset=utf-8"},
                }
            ]
            * count
        )

    def order(self, order_id):
        """The served order dict with this Goflow id."""
        collection = self._collections["orders"]
        return collection.records[collection.position_by_id[order_id]]

    def set_line_cost(self, order_id, line_index, amount, currency="usd"):
        """Give a line a cost (``None`` = null), e.g. a cost that came late."""
        cost = (
            None
            if amount is None
            else {"amount": amount, "currency": {"code": currency}}
        )
        self.update_order(
            order_id, lambda order: order["lines"][line_index].update(cost=cost)
        )

    def update_order(self, order_id, change):
        """Apply ``change(order_dict)`` to a served order."""
        collection = self._collections["orders"]
        position = collection.position_by_id[order_id]
        change(collection.records[position])
        collection.changed(position)

    def add_orders(self, orders):
        """Serve more orders (e.g. a split that appears between two syncs)."""
        collection = self._collections["orders"]
        collection.records.extend(orders)
        collection.encoded.extend([None] * len(orders))
        collection.reindex()

    def requests_to(self, resource):
        """Recorded requests whose path is ``/v1/<resource>``."""
        path = f"{API_PREFIX}/{resource}"
        return [r for r in self.requests if r.path == path]

    # -- request handling --

    def _handle(self, handler, allowed=True):
        path, _sep, raw_query = handler.path.partition("?")
        self._begin(
            handler, RecordedRequest(self.clock(), handler.command, path, raw_query, 0)
        )
        try:
            self._answer(handler, path, raw_query, allowed)
        finally:
            self._record(handler, -1)  # no answer was sent (reset, crash)

    def _answer(self, handler, path, raw_query, allowed):
        scripted = self._next_scripted(handler)
        if scripted is not None:
            return self._send(handler, *scripted_answer(scripted))
        if not allowed:
            return self._send_message(handler, 405, "Method not allowed.")
        authorization = handler.headers.get("Authorization", "")
        scheme, _sep, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self._send_message(
                handler, 401, "Authorization has been denied for this request."
            )
        if self.forbidden_token is not None and token == self.forbidden_token:
            return self._send_message(handler, 403, "Referer not authorized.")
        if token != self.token:
            return self._send_message(
                handler, 401, "Authorization has been denied for this request."
            )
        if self.require_beta_contact and not handler.headers.get("X-Beta-Contact"):
            return self._send_message(
                handler, 400, "X-Beta-Contact header is required for this endpoint."
            )
        if self._bucket is not None:
            wait = self._bucket.take()
            if wait > 0:
                return self._throttled(handler, wait)
        if self.error_rate and self._chance(self.error_rate):
            return self._send_message(handler, 500, "Internal server error (sandbox).")
        resource = (
            path[len(API_PREFIX) + 1 :] if path.startswith(API_PREFIX + "/") else ""
        )
        resource = resource.rstrip("/")
        if resource not in self._collections:
            return self._send_message(handler, 404, f"No route for {path}.")
        try:
            body = self._page(handler, resource, path, raw_query)
        except _BadRequest as error:
            return self._send_message(handler, int(error.status), str(error))
        return self._send(handler, 200, body)

    def _chance(self, share):
        with self._random_lock:
            return self._random.random() < share

    def _throttled(self, handler, wait):
        mode = self.retry_after
        if mode == "mixed":
            mode = ("float", "int")[self._retry_after_turn % 2]
            self._retry_after_turn += 1
        headers = {}
        if mode == "int":
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        elif mode == "float":
            headers["Retry-After"] = f"{max(wait, 0.001):.3f}"
        body = {"message": "Too many requests: slow down and retry later."}
        return self._send(handler, 429, self._encode(body), headers)

    # -- listing --

    def _page(self, handler, resource, path, raw_query):
        groups = {}
        sort, direction, offset, size = "id", "asc", 0, self.page_size
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            match = _FILTER_RE.match(key)
            if match:
                field, op = match.group(1), (match.group(2) or "eq").lower()
                if op not in FILTER_OPERATORS:
                    raise _BadRequest(f"Unknown filter operator '{op}' in '{key}'.")
                if field not in self.ignored_filters:
                    groups.setdefault((field, op), []).append(value)
            elif key == "sort":
                sort = value or "id"
            elif key == "sort_direction":
                direction = value.lower()
                if direction not in ("asc", "desc"):
                    raise _BadRequest("sort_direction must be asc or desc.")
            elif key == CURSOR_PARAM:
                offset = self._whole(value, CURSOR_PARAM)
            elif key == PAGE_SIZE_PARAM:
                size = min(self._whole(value, PAGE_SIZE_PARAM), self.max_page_size)
                size = max(size, 1)
        collection = self._collections[resource]
        found = collection.query(groups, sort, direction)
        chosen = found[offset : offset + size]
        more = offset + size < len(found)
        if self.malformed_share and self._chance(self.malformed_share):
            return self._malformed(collection, chosen)
        data = b",".join(collection.json(position) for position in chosen)
        if more:
            next_url = self._next_url(handler, path, raw_query, offset + size)
        else:
            next_url = None if self.end_marker == "null" else ""
        return b'{"data":[' + data + b'],"next":' + self._encode(next_url) + b"}"

    @staticmethod
    def _whole(value, name):
        try:
            number = int(value)
        except ValueError:
            raise _BadRequest(f"'{name}' must be a whole number.") from None
        if number < 0:
            raise _BadRequest(f"'{name}' must not be negative.")
        return number

    def _next_url(self, handler, path, raw_query, offset):
        host = handler.headers.get("Host") or f"{self.host}:{self.port}"
        kept = [
            part
            for part in raw_query.split("&")
            if part and unquote_plus(part.partition("=")[0]) != CURSOR_PARAM
        ]
        kept.append(f"{CURSOR_PARAM}={offset}")
        return f"http://{host}{path}?{'&'.join(kept)}"

    def _malformed(self, collection, chosen):
        kind = MALFORMED_KINDS[self._malformed_turn % len(MALFORMED_KINDS)]
        self._malformed_turn += 1
        if kind == "not_json":
            return b"<html><body>502 Bad Gateway</body></html>"
        if kind == "data_not_list" or not chosen:
            return b'{"data":{"unexpected":true},"next":null}'
        record = json.loads(collection.json(chosen[0]))
        if isinstance(record.get("lines"), list) and record["lines"]:
            record["lines"][0]["quantity"] = {"amount": "one"}
        else:
            record["pricing"] = "n/a"
        return b'{"data":[' + self._encode(record) + b'],"next":null}'

    # -- output --

    @staticmethod
    def _encode(value):
        return json.dumps(value, separators=(",", ":")).encode()

    def _send_message(self, handler, status, message):
        return self._send(handler, status, self._encode({"message": message}))

    def _send(self, handler, status, body, headers=None, content_type=None):
        head = head_bytes(handler, status, len(body), headers, content_type)
        self._record(handler, status)
        handler.wfile.write(head + body)
        return status
