"""Goflow API constants: endpoints, query vocabulary and the client's bounds.

Sources:

* S1 -- Goflow's API reference (introduction only: auth, beta header, dates).
* S2 -- the ``delivery_goflow`` Odoo add-on (filters, 100 order numbers per call).
* S3 -- the ``bista_go_flow`` Odoo connector (envelope, ``next`` = "" end marker).
* S4 -- a Go client (429 + ``Retry-After`` in seconds, ``next`` = null end marker).

Values marked *ours* are choices of this add-on, not Goflow facts.
"""

# -- Hosts and headers ------------------------------------------------------

# S1: every client calls https://{subdomain}.api.goflow.com/v1/{resource}.
BASE_URL_TEMPLATE = "https://{subdomain}.api.goflow.com/v1"
# S1: a subdomain is the account's portal name; DNS label rules (ours) keep a
# typo from turning into a request to some other host.
SUBDOMAIN_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
# Plain http is accepted only for loopback hosts (the local sandbox, see
# http_policy.is_loopback); S1 says the real API refuses plain http.

# S1: bearer token created by the account owner under Settings > API Tokens.
HEADER_AUTHORIZATION = "Authorization"
# S1: opt-in header for beta endpoints; S2, S3, S5, S6, S7 send it on every call.
HEADER_BETA_CONTACT = "X-Beta-Contact"
# S3, S4, S5 send JSON Accept headers.
HEADER_ACCEPT = "Accept"
ACCEPT_JSON = "application/json"
HEADER_USER_AGENT = "User-Agent"
USER_AGENT = "connectbooks_goflow (Odoo 18)"
# S4: a 429 carries Retry-After in seconds (may be fractional); the HTTP
# policy reads it.

# -- Endpoints (paths below the /v1 base) -----------------------------------

ENDPOINT_ORDERS = "/orders"  # S2, S3, S4, S9
ENDPOINT_PRODUCTS = "/products"  # S3, S7
ENDPOINT_STORES = "/stores"  # S2, S3, S8

# -- Envelope, paging, sorting, filtering -----------------------------------

# S2-S8: list answers are {"data": [...], "next": <absolute URL | null | "">}.
ENVELOPE_DATA = "data"
ENVELOPE_NEXT = "next"

# S3, S4: sort=<field>&sort_direction=asc|desc.
PARAM_SORT = "sort"
PARAM_SORT_DIRECTION = "sort_direction"
SORT_DIRECTIONS = frozenset({"asc", "desc"})

# [UNKNOWN] in the research: Goflow's page-size parameter is undocumented. The
# client sends it only when a page size is configured; the sandbox honours it.
PARAM_PAGE_SIZE = "page_size"

# S1, S2-S9: filters[<field>] and filters[<field>:<op>]; a repeated key is OR.
FILTER_KEY_TEMPLATE = "filters[{field}]"
FILTER_KEY_OP_TEMPLATE = "filters[{field}:{op}]"
# S1 (gte, lt), S2 (lte), S7 (eq), S3 (not); gt is the natural sibling (ours).
FILTER_OPERATORS = frozenset({"eq", "not", "gte", "gt", "lt", "lte"})

# S2 sends at most 100 filters[order_number] values per request.
MAX_FILTER_VALUES = 100

FILTER_ORDER_NUMBER = "order_number"  # S2
FILTER_STORE_ID = "store.id"  # S2
FILTER_ITEM_NUMBER = "item_number"  # S3, S7
SORT_BY_ID = "id"  # S3, S4: a stable order for paging

# -- Dates ------------------------------------------------------------------

# S1: UTC ISO 8601 with "Z"; S2/S3: sometimes with fractional seconds.
# S3: unset dates can come back as this zero sentinel.
ZERO_DATE_SENTINEL_PREFIX = "0001-01-01"

# -- Retries, timeouts, rate limit (ours; Goflow publishes no numbers) ------

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds on every call
DEFAULT_MAX_RETRIES = 5  # per cause: throttling, server errors
DEFAULT_BACKOFF_BASE = 0.5  # seconds; doubled per attempt, with jitter
DEFAULT_BACKOFF_MAX = 30.0  # seconds, cap of one backoff wait
# A wait (Retry-After, rate limit) longer than this is not slept: a cron run
# would stall. The client's max_wait default.
MAX_RETRY_AFTER_SECONDS = 300.0
# Evenly spaced requests are stretched by this factor so that the server, which
# sees them with network jitter, never counts more than N in a minute.
RATE_LIMIT_SAFETY = 1.002
SECONDS_PER_MINUTE = 60.0
# Every 5xx and 429 is retried by the HTTP policy (S4 retries on server errors
# and 429; S5, S6 on 429).
STATUS_UNAUTHORIZED = 401  # S2: bad token or subdomain
STATUS_FORBIDDEN = 403  # S2: "referer not authorized"
