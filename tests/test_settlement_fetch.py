"""The fetch window and what a listed report is (core/settlement_fetch.py)."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from connectbooks_goflow.core.settlement_fetch import (
    FETCH_OVERLAP,
    RETENTION,
    fetch_window,
    recon_dates_to_fetch,
    report_outcome,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


def test_first_fetch_starts_at_the_store_date():
    assert fetch_window(NOW, date(2026, 10, 1)) == datetime(
        2026, 10, 1, tzinfo=timezone.utc
    )


def test_first_fetch_never_more_than_90_days_back():
    assert fetch_window(NOW, date(2025, 1, 1)) == NOW - RETENTION
    assert fetch_window(NOW) == NOW - RETENTION
    assert fetch_window(NOW, False) == NOW - RETENTION, "Odoo's empty date"


def test_next_fetch_from_the_newest_handled_minus_overlap():
    newest = datetime(2026, 11, 20, tzinfo=timezone.utc)
    older = datetime(2026, 11, 6, tzinfo=timezone.utc)
    assert (
        fetch_window(NOW, date(2026, 10, 1), handled=[older, newest])
        == newest - FETCH_OVERLAP
    )


def test_a_failed_report_keeps_the_window_open():
    newest = datetime(2026, 11, 20, tzinfo=timezone.utc)
    failed = datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert (
        fetch_window(NOW, None, handled=[newest], failed=[failed])
        == failed - FETCH_OVERLAP
    )


def test_window_never_before_the_store_date():
    newest = datetime(2026, 11, 20, tzinfo=timezone.utc)
    since = date(2026, 11, 19)
    assert fetch_window(NOW, since, handled=[newest]) == datetime(
        2026, 11, 19, tzinfo=timezone.utc
    )


def test_naive_times_are_utc():
    naive = datetime(2026, 11, 20)
    assert fetch_window(NOW.replace(tzinfo=None), None, handled=[naive]) == (
        naive.replace(tzinfo=timezone.utc) - FETCH_OVERLAP
    )
    assert fetch_window(NOW, None, handled=[NOW - timedelta(days=200)]) == (
        NOW - RETENTION
    )


def test_report_outcome():
    assert report_outcome(None, Decimal("10.00")) == "imported"
    assert report_outcome(10.0, Decimal("10.00")) == "matched"
    assert report_outcome(10.004, Decimal("10.00")) == "matched"
    assert report_outcome(10.0, Decimal("10.01")) == "reissued"
    assert report_outcome(5, Decimal("5"), decimals=0) == "matched"


def test_recon_dates_from_the_store_date_not_done_oldest_first():
    listed = [date(2026, 11, 27), date(2026, 9, 4), date(2026, 11, 13)]

    assert recon_dates_to_fetch(listed, NOW, date(2026, 10, 1)) == [
        date(2026, 11, 13),
        date(2026, 11, 27),
    ]
    assert recon_dates_to_fetch(
        listed, NOW, date(2026, 9, 4), done=[date(2026, 11, 13)]
    ) == [date(2026, 9, 4), date(2026, 11, 27)], "the store's day itself counts"


def test_recon_dates_without_store_date_take_90_days():
    listed = [date(2026, 9, 2), date(2026, 9, 3), date(2026, 12, 1)]
    expected = [date(2026, 9, 3), date(2026, 12, 1)]
    assert (NOW - RETENTION).date() == date(2026, 9, 3)

    assert recon_dates_to_fetch(listed, NOW) == expected
    assert recon_dates_to_fetch(listed, NOW, False) == expected, "Odoo's empty date"
