"""Amazon Selling Partner API constants: endpoints, Reports API vocabulary,
published rate limits and the client's bounds.

Sources:

* [SP-ENDPOINTS] developer-docs.amazon.com/sp-api/docs/sp-api-endpoints
* [SP-MARKETPLACES] developer-docs.amazon.com/sp-api/docs/marketplace-ids
* [SP-REPORTS] the Reports API model, version 2021-06-30:
  github.com/amzn/selling-partner-api-models,
  models/reports-api-model/reports_2021-06-30.json (operations, parameters,
  answer shapes, rate limits)
* [SP-SETTLEMENT] developer-docs.amazon.com/sp-api/docs/report-type-values-settlement
* [SP-LWA] developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api
  (token exchange, the ``x-amz-access-token`` header)
* [SP-NO-SIGV4] developer-docs.amazon.com/sp-api/changelog/ (2023-10-02: SP-API
  no longer requires AWS IAM or AWS Signature Version 4)
* [SP-ERRORS] developer-docs.amazon.com/sp-api/docs/response-format (``errors``)
* [RFC6749] the OAuth 2.0 error codes LWA answers with (§5.2)

Values marked *ours* are choices of this add-on, not Amazon facts.
"""

# -- Regions and hosts ------------------------------------------------------

REGION_NA = "NA"
REGION_EU = "EU"
REGION_FE = "FE"
# [SP-ENDPOINTS]: one SP-API host per selling region.
ENDPOINTS = {
    REGION_NA: "https://sellingpartnerapi-na.amazon.com",
    REGION_EU: "https://sellingpartnerapi-eu.amazon.com",
    REGION_FE: "https://sellingpartnerapi-fe.amazon.com",
}
# Ours: how the regions are named to a bookkeeper.
REGION_NAMES = {
    REGION_NA: "North America",
    REGION_EU: "Europe",
    REGION_FE: "Far East",
}

# [SP-LWA]: one Login with Amazon token endpoint for every region.
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
LWA_GRANT_REFRESH_TOKEN = "refresh_token"
# [SP-LWA]: access tokens last 3600 s; the answer says so in expires_in.
LWA_DEFAULT_EXPIRES_IN = 3600
# Ours: an access token is renewed this long before it expires (at most half
# its life, for short-lived sandbox tokens).
TOKEN_RENEW_MARGIN = 60.0
# [RFC6749] §5.2 error codes, as LWA sends them.
LWA_INVALID_GRANT = "invalid_grant"  # refresh token revoked, expired or foreign
LWA_INVALID_CLIENT = "invalid_client"  # client id or secret wrong

# [SP-LWA], [SP-NO-SIGV4]: the access token is this header, nothing else (no
# AWS signature since 2023-10-02).
HEADER_ACCESS_TOKEN = "x-amz-access-token"
HEADER_ACCEPT = "Accept"
ACCEPT_JSON = "application/json"
HEADER_USER_AGENT = "User-Agent"
USER_AGENT = "connectbooks_goflow (Odoo 18)"

# [SP-MARKETPLACES]: a few marketplace ids (the store names its own).
MARKETPLACE_IDS = {
    "US": "ATVPDKIKX0DER",
    "CA": "A2EUQ1WTGCTBG2",
    "MX": "A1AM78C64UM0Y8",
    "UK": "A1F83G8C2ARO7P",
    "DE": "A1PA6795UKMFR9",
    "FR": "A13V1IB3VIYZZH",
    "IT": "APJ6JRA9NG5V4",
    "ES": "A1RKKUPIHCS9HS",
}

# -- Reports API 2021-06-30 ----------------------------------------------------

# [SP-REPORTS]
PATH_REPORTS = "/reports/2021-06-30/reports"
PATH_DOCUMENT = "/reports/2021-06-30/documents/{document_id}"
OPERATION_GET_REPORTS = "getReports"
OPERATION_GET_REPORT_DOCUMENT = "getReportDocument"

# [SP-SETTLEMENT]: the V2 flat file (tab-separated) the importer reads; Amazon
# generates it per settlement period, it cannot be requested. Role: Finance
# and Accounting.
REPORT_TYPE_SETTLEMENT_V2 = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"

# [SP-REPORTS] getReports query parameters.
PARAM_REPORT_TYPES = "reportTypes"
PARAM_PROCESSING_STATUSES = "processingStatuses"
PARAM_MARKETPLACE_IDS = "marketplaceIds"
PARAM_PAGE_SIZE = "pageSize"
PARAM_CREATED_SINCE = "createdSince"
PARAM_CREATED_UNTIL = "createdUntil"
# Sent ALONE on the following pages: Amazon refuses it with other parameters.
PARAM_NEXT_TOKEN = "nextToken"
MAX_PAGE_SIZE = 100  # pageSize is 1-100 (default 10)
MAX_MARKETPLACE_IDS = 10  # marketplaceIds takes 1-10 values
# Reports are kept at most 90 days: createdSince defaults to, and listing
# reaches no further than, 90 days ago.
REPORT_RETENTION_DAYS = 90

# [SP-REPORTS] processingStatus values; a reportDocumentId exists once DONE.
STATUS_DONE = "DONE"
STATUS_IN_PROGRESS = "IN_PROGRESS"
STATUS_IN_QUEUE = "IN_QUEUE"
STATUS_CANCELLED = "CANCELLED"
STATUS_FATAL = "FATAL"
PROCESSING_STATUSES = frozenset(
    {STATUS_DONE, STATUS_IN_PROGRESS, STATUS_IN_QUEUE, STATUS_CANCELLED, STATUS_FATAL}
)

# [SP-REPORTS] getReportDocument: compressionAlgorithm is absent or GZIP; the
# pre-signed url lasts 5 minutes and takes no SP-API header.
COMPRESSION_GZIP = "GZIP"
DOCUMENT_URL_LIFETIME = 300.0

# [SP-REPORTS] published usage plans: (requests per second, burst).
RATE_LIMITS = {
    OPERATION_GET_REPORTS: (0.0222, 10),
    OPERATION_GET_REPORT_DOCUMENT: (0.0167, 15),
}

# [SP-ERRORS]: {"errors": [{"code", "message", "details"}]}; 403 Unauthorized
# for a missing, expired or invalid access token and for a seller not in the
# endpoint's region or an app without the role.
ERRORS_KEY = "errors"
STATUS_UNAUTHORIZED = 401
STATUS_FORBIDDEN = 403
# Ours: words in a 403's message or details that mean "renew the token".
EXPIRED_MARKER = "expired"

# -- Client bounds (ours) ------------------------------------------------------

DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds
DEFAULT_MAX_RETRIES = 5
DEFAULT_BACKOFF_BASE = 1.0
DEFAULT_BACKOFF_MAX = 60.0
# getReports at 0.0222/s means 45 s between calls once the burst is spent: a
# caller that cannot wait passes a smaller max_wait and gets a throttled error.
DEFAULT_MAX_WAIT = 120.0
DOWNLOAD_CHUNK = 1 << 20  # bytes read and written at a time
