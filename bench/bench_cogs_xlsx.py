"""COGS workbook of 150,000 cost lines through the pure writer.

``cogs_xlsx``: :func:`connectbooks_goflow.core.cogs_workbook.write_workbook`
from the cost-line tuples the report reads (rows built, formats, highlights,
totals, the *By SKU* and *Summary* sheets) against, in the same run, xlsxwriter
alone writing the same COGS cells: the same values, already built, written
with ``write_row`` and one date format, in constant-memory mode. Target: the
writer <= 1.5 x the baseline. Both write the file in memory, as the report
does, and each runs in a fresh child process so that its peak memory is its
own.

``cogs_xlsx_rustpy`` (only where the PyPI package ``rustpy-xlsxwriter`` is
installed): the same rows through that Rust writer, for comparison. It is not
behind the report: report_xlsx hands the report an ``xlsxwriter.Workbook``.

``BENCH_COGS_LINES`` lowers the size for a quick look.
"""

from __future__ import annotations

import io
import os
import random
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta

from bench.common import Stopwatch, peak_rss_mb, reset_peak_rss, result
from connectbooks_goflow.core.cogs_workbook import (
    COGS_COLUMNS,
    WORKBOOK_OPTIONS,
    cogs_rows,
    merged_labels,
    write_workbook,
)

LINES = int(os.environ.get("BENCH_COGS_LINES", 150_000))
SKUS = 2_000
MISSING_SHARE = 0.1
TARGET_RATIO = 1.5
SEED = 3


def make_settlement(lines=LINES, seed=SEED):
    """A settlement dict as the report builds it, with ``lines`` cost lines:
    orders, some refunds and reimbursements, 10 % missing, two sync times."""
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    synced = (datetime(2025, 1, 20, 9, 30), datetime(2025, 1, 21, 8, 0))
    unit_costs = [round(rng.uniform(1, 60), 4) for _ in range(SKUS)]
    rows = []
    for index in range(lines):
        sku_index = rng.randrange(SKUS)
        roll = rng.random()
        kind = "order" if roll < 0.95 else ("refund" if roll < 0.99 else "adjustment")
        order_ref = f"11{index:d}-{index * 7919 % 10**7:07d}"
        quantity = rng.choice((1, 1, 1, 1, 2, 3))
        sign = -1 if kind == "refund" else 1
        missing = rng.random() < MISSING_SHARE
        unit = unit_costs[sku_index]
        rows.append(
            (
                start + timedelta(days=index * 14 // lines),
                kind,
                "" if kind == "adjustment" else order_ref,
                f"5{index:010d}" if kind != "order" else "",
                f"SKU-{sku_index:05d}",
                sku_index + 1,
                float(sign * quantity),
                None if missing else unit,
                0.0 if missing else sign * round(quantity * unit, 2),
                None if missing else "goflow",
                "missing" if missing else "costed",
                synced[index % 2],
            )
        )
    return {
        "name": "Amazon US 12000007919",
        "store": "Amazon US",
        "settlement_ref": "12000007919",
        "currency": "USD",
        "decimals": 2,
        "period_start": datetime(2025, 1, 1),
        "period_end": datetime(2025, 1, 15),
        "deposit_date": date(2025, 1, 17),
        "deposit": 1_234_567.89,
        "state": "draft",
        "posted_with_estimates": False,
        "booked_cogs": None,
        "products": {i + 1: f"[SKU-{i:05d}] Product {i}" for i in range(SKUS)},
        "lines": rows,
    }


def _writer(lines):
    settlement = make_settlement(lines)
    reset_peak_rss()
    buffer = io.BytesIO()
    with Stopwatch() as watch:
        import xlsxwriter  # noqa: PLC0415 (measured in the child only)

        workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
        write_workbook(workbook, [settlement])
        workbook.close()
    return watch.seconds, len(buffer.getvalue()), peak_rss_mb()


def _plain_rows(lines):
    settlement = make_settlement(lines)
    return [values for values, _missing in cogs_rows(settlement, merged_labels())]


def _baseline(lines):
    rows = _plain_rows(lines)
    headers = [column.header for column in COGS_COLUMNS]
    reset_peak_rss()
    buffer = io.BytesIO()
    with Stopwatch() as watch:
        import xlsxwriter  # noqa: PLC0415

        workbook = xlsxwriter.Workbook(
            buffer, {"constant_memory": True, "default_date_format": "yyyy-mm-dd"}
        )
        sheet = workbook.add_worksheet("COGS")
        sheet.write_row(0, 0, headers)
        for row, values in enumerate(rows, start=1):
            sheet.write_row(row, 0, values)
        workbook.close()
    return watch.seconds, len(buffer.getvalue()), peak_rss_mb()


def _rustpy(lines):
    """The same rows through rustpy-xlsxwriter, or None when not installed."""
    try:
        import rustpy_xlsxwriter  # noqa: PLC0415, F401
    except ImportError:
        return None
    return _rustpy_write(lines)


def _rustpy_write(lines):
    import tempfile  # noqa: PLC0415

    from rustpy_xlsxwriter import write_worksheet  # noqa: PLC0415

    headers = [column.header for column in COGS_COLUMNS]
    rows = _plain_rows(lines)
    records = [dict(zip(headers, values, strict=True)) for values in rows]
    reset_peak_rss()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cogs.xlsx")
        with Stopwatch() as watch:
            write_worksheet(records, path, sheet_name="COGS")
        size = os.path.getsize(path)
    return watch.seconds, size, peak_rss_mb()


def _in_child(function, lines):
    with ProcessPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, lines).result()


def run():
    """Yield the writer vs xlsxwriter-alone measurement (and rustpy's)."""
    seconds, size, rss = _in_child(_writer, LINES)
    base_seconds, base_size, base_rss = _in_child(_baseline, LINES)
    yield result(
        "cogs_xlsx",
        seconds,
        baseline_seconds=base_seconds,
        rows=LINES,
        sheets=3,
        file_kb=size // 1024,
        baseline_file_kb=base_size // 1024,
        peak_rss_mb=rss,
        baseline_peak_rss_mb=base_rss,
        writer="xlsxwriter",
        target=f"<= {TARGET_RATIO} x xlsxwriter alone writing the same rows",
        met=seconds <= TARGET_RATIO * base_seconds,
    )
    rust = _in_child(_rustpy, LINES)
    if rust is not None:
        rust_seconds, rust_size, rust_rss = rust
        yield result(
            "cogs_xlsx_rustpy",
            rust_seconds,
            baseline_seconds=base_seconds,
            rows=LINES,
            sheets=1,
            file_kb=rust_size // 1024,
            peak_rss_mb=rust_rss,
            writer="rustpy-xlsxwriter (COGS rows only, no formats)",
            target="comparison only: not behind the report",
            met=True,
        )
