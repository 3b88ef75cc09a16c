"""What the jobs of this add-on share: which remote failures are worth a
retry, and how long a job waits for a lock another job holds."""

import math

from odoo.addons.connectbooks_goflow.core.http_policy import (
    ServerError,
    ThrottledError,
)

# Transient: the rate limit (beyond the client's own waiting), 5xx answers,
# timeouts and lost connections (NetworkError is a ServerError) once the
# client's own retries are spent; the typed errors of every client (Goflow,
# Amazon, Walmart) derive from these of the add-on's HTTP policy. Everything
# else (credentials refused, a request the server rejects, an answer that
# cannot be read, settings) fails the job at once with its message: retrying
# cannot mend it.
TRANSIENT_ERRORS = (ThrottledError, ServerError)
# Another job of the same company (sync) or store (fetch) holds the lock:
# tried again after this many seconds, randomised; not counted as a retry.
BUSY_RETRY_SECONDS = (10, 30)


def transient(error):
    """Is ``error`` (or the remote failure that caused it) transient?

    :return: the transient error, or ``None``
    """
    while error is not None:
        if isinstance(error, TRANSIENT_ERRORS):
            return error
        error = error.__cause__
    return None


def retry_seconds(error):
    """Seconds the remote party asked to wait (``Retry-After``), rounded up;
    ``None`` lets the job function's retry pattern decide."""
    after = getattr(error, "retry_after", None)
    return math.ceil(after) if after else None
