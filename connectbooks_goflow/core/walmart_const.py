"""Walmart Marketplace API constants: the token endpoint, the reconciliation
report endpoints, their headers and the client's bounds.

Sources (Walmart's developer documentation, US marketplace):

* [WM-TOKEN] developer.walmart.com/us-marketplace/docs/get-an-access-token
  and the Token API reference (``POST /v3/token``, client credentials with
  Basic authentication, access tokens of 15 minutes)
* [WM-AUTH] developer.walmart.com/us-marketplace/docs/authentication-authorization
  (the common headers; 401 = token missing, expired or for another
  environment, 403 = the app lacks the permission)
* [WM-DATES] developer.walmart.com/us-marketplace/docs/available-recon-report-dates
  (``availableReconFiles?reportVersion=v1`` -> ``availableApReportDates``,
  dates written MMDDYYYY)
* [WM-RECON] developer.walmart.com/us-marketplace/docs/recon-report
  (``reconFile?reportVersion=v1&reportDate=...``, a binary stream: a zip
  holding one CSV file)
* [WM-ERRORS] developer.walmart.com/us-marketplace/docs/error-codes
  (``{"errors": [{"code", "message"|"description", "info", ...}]}``, 429)
* [WM-RATE] developer.walmart.com/us-marketplace/docs/throttling
* [RFC4648] base64, [RFC7617] the Basic scheme

Values marked *ours* are choices of this add-on, not Walmart facts.
"""

# -- Hosts and paths -----------------------------------------------------------

# [WM-TOKEN], [WM-RECON]: one production host for the US marketplace.
BASE_URL = "https://marketplace.walmartapis.com"
# [WM-TOKEN]
PATH_TOKEN = "/v3/token"
# [WM-DATES]
PATH_AVAILABLE_RECON_FILES = "/v3/report/reconreport/availableReconFiles"
# [WM-RECON]
PATH_RECON_FILE = "/v3/report/reconreport/reconFile"

# -- Token ---------------------------------------------------------------------

# [WM-TOKEN]: client credentials grant, form-encoded body, client id and
# secret in a Basic Authorization header [RFC7617].
GRANT_CLIENT_CREDENTIALS = "client_credentials"
CONTENT_TYPE_FORM = "application/x-www-form-urlencoded"
# [WM-TOKEN]: an access token lasts 15 minutes; the answer says so in
# expires_in (900).
TOKEN_LIFETIME = 900
# Ours: an access token is renewed this long before it runs out (at most half
# its life, for short-lived sandbox tokens).
TOKEN_RENEW_MARGIN = 60.0

# -- Headers -------------------------------------------------------------------

# [WM-AUTH]: every Marketplace API call carries the access token, a
# correlation id (a fresh UUID per call, quoted to Walmart's support) and
# the name of the service called.
HEADER_ACCESS_TOKEN = "WM_SEC.ACCESS_TOKEN"
HEADER_CORRELATION_ID = "WM_QOS.CORRELATION_ID"
HEADER_SERVICE_NAME = "WM_SVC.NAME"
SERVICE_NAME = "Walmart Marketplace"
# [WM-AUTH]: optional; sent when the seller was given one at onboarding.
HEADER_CHANNEL_TYPE = "WM_CONSUMER.CHANNEL.TYPE"
HEADER_ACCEPT = "Accept"
HEADER_CONTENT_TYPE = "Content-Type"
ACCEPT_JSON = "application/json"
# [WM-RECON]: the recon file comes as a binary stream.
ACCEPT_FILE = "application/octet-stream"
HEADER_USER_AGENT = "User-Agent"
USER_AGENT = "connectbooks_goflow (Odoo 18)"

# -- Reconciliation report v1 ----------------------------------------------------

# [WM-DATES], [WM-RECON]: v1 is the current layout; without it Walmart
# answers the legacy one.
PARAM_REPORT_VERSION = "reportVersion"
REPORT_VERSION = "v1"
PARAM_REPORT_DATE = "reportDate"
# [WM-DATES]: the list's key, and the form of its dates (07012018); the
# download is asked with the date as the list writes it.
AVAILABLE_DATES_KEY = "availableApReportDates"
REPORT_DATE_FORMAT = "%m%d%Y"
# Ours: other forms the list is read in, should Walmart answer them
# (YYYYMMDD is shown in one of its guides; ISO and US slashes are common).
REPORT_DATE_FORMATS = ("%m%d%Y", "%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y")
# [WM-DATES]: one list, no paging: every date Walmart keeps comes at once.
PAGE_SIZE = None
# [WM-RECON]: a zip (local file header signature, PKWARE APPNOTE 4.3.7)
# holding one CSV; a CSV served bare is accepted too.
ZIP_MAGIC = b"PK\x03\x04"
CSV_SUFFIX = ".csv"

# -- Errors --------------------------------------------------------------------

# [WM-ERRORS]
ERRORS_KEY = "errors"
STATUS_NO_CONTENT = 204
STATUS_BAD_REQUEST = 400
STATUS_UNAUTHORIZED = 401  # [WM-AUTH]: token missing, expired or foreign
STATUS_FORBIDDEN = 403  # [WM-AUTH]: the app lacks the Reports permission
STATUS_NOT_FOUND = 404

# -- Rate limits -----------------------------------------------------------------

# [WM-RATE]: limits are per seller and API and answered with 429; Walmart
# publishes none for the recon report, so the client only spaces its own
# calls (ours: requests per second, burst).
OPERATION_TOKEN = "token"
OPERATION_AVAILABLE_DATES = "availableReconFiles"
OPERATION_RECON_FILE = "reconFile"
RATE_LIMITS = {
    OPERATION_TOKEN: (1.0, 5),
    OPERATION_AVAILABLE_DATES: (1.0, 5),
    OPERATION_RECON_FILE: (0.5, 5),
}

# -- Client bounds (ours) ----------------------------------------------------------

# Retries and backoff are the policy's own defaults; a recon file of a busy
# seller takes longer to start coming than an API answer, and a scheduled
# job must not sleep for minutes on a Retry-After.
DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds
DEFAULT_MAX_WAIT = 120.0  # seconds
DOWNLOAD_CHUNK = 1 << 20  # bytes read and written at a time
