"""What a settlement fetch decides, without a database: the window of
reports to ask Amazon for, the recon dates to take from Walmart, and what a
listed report is to the books.

The Odoo layer (``models/connectbooks_store_fetch*.py``) reads the store's
records, asks these functions, and writes what they say.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .amazon_const import REPORT_RETENTION_DAYS
from .costing import deposit_check
from .vocabulary import REPORT_IMPORTED, REPORT_MATCHED, REPORT_REISSUED

# Ours: reports created this long before the newest one already handled are
# listed again (Amazon's clocks and ours may disagree; a report listed twice
# is recognised by its id, one missed would be lost).
FETCH_OVERLAP = timedelta(days=2)
# Amazon lists reports for 90 days: asking further back returns nothing more.
RETENTION = timedelta(days=REPORT_RETENTION_DAYS)


def _utc(moment):
    if not moment:  # None, or Odoo's False for an empty date
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    # a date: its midnight, UTC
    return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)


def fetch_window(now, since_date=None, handled=(), failed=()):
    """The ``createdSince`` of a fetch.

    The newest report already handled, minus :data:`FETCH_OVERLAP`; a report
    that failed keeps the window open back to its own creation time, so that
    it is listed (and tried) again; the first time, the store's date. Never
    before the store's date, nor more than 90 days back (Amazon keeps
    nothing older).

    :param now: aware or naive (UTC) :class:`datetime`
    :param since_date: the store's "fetch settlements since" date, or None
    :param handled: creation times of the reports handled so far
    :param failed: creation times of the reports that failed
    :return: an aware UTC :class:`datetime`
    """
    now = _utc(now)
    floor = now - RETENTION
    since = _utc(since_date)
    if since is not None and since > floor:
        floor = since
    handled = [_utc(moment) for moment in handled if moment]
    failed = [_utc(moment) for moment in failed if moment]
    if not handled:
        return floor
    start = max(handled) - FETCH_OVERLAP
    if failed:
        start = min(start, min(failed) - FETCH_OVERLAP)
    return max(start, floor)


def report_outcome(existing_total, report_total, decimals=2):
    """What a listed report is, given the settlement already in the books.

    :param existing_total: the reported total of the settlement with the
        report's settlement id in the store, or ``None`` when there is none
    :param report_total: the total in the report's summary row
    :param decimals: the currency's decimal places
    :return: ``imported`` (a new settlement: import it), ``matched`` (the
        same settlement, uploaded by hand or fetched before) or
        ``reissued`` (same id, another total: flag it)
    """
    if existing_total is None:
        return REPORT_IMPORTED
    if deposit_check(report_total, existing_total, decimals).balanced:
        return REPORT_MATCHED
    return REPORT_REISSUED


def recon_dates_to_fetch(available, today, since_date=None, done=()):
    """The Walmart recon dates a fetch downloads, oldest first.

    Walmart lists every date it keeps at once (no paging, no window): the
    fetch takes those on or after the store's "fetch settlements since" date
    (without one, the last 90 days, as for Amazon) that are not handled yet.
    A date that failed is not in ``done``: it is tried again.

    :param available: the dates Walmart lists (:class:`date`)
    :param today: a :class:`date` or :class:`datetime` (UTC)
    :param since_date: the store's date, or None / False
    :param done: the dates already handled (imported, matched)
    :return: sorted list of :class:`date`
    """
    today = _utc(today).date()
    floor = today - RETENTION
    if since_date:
        floor = _utc(since_date).date()
    done = set(done)
    return sorted(day for day in set(available) if day >= floor and day not in done)
