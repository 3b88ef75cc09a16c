"""Import a 1,000,000-row Walmart reconciliation report (v1 CSV, ~160,000
orders) through the import's code path into a fresh database, against a plain
PostgreSQL ``COPY`` of the same rows measured in the same run: the targets of
the Amazon import (``bench_settlement_import``), <= 5x the COPY.

The baseline COPYs the report's transaction rows (after its header, its
``Number of Lines in file`` line and its payment summary) into an ordinary
table with one column per column of the report, typed (amounts numeric, dates
dates, Ship Qty integer), with neither index nor constraint; the median of
three. The other reference COPYs and the foreign key's cost are those of the
Amazon benchmark.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.bench_settlement_import import FileLayout, measure_import
from bench.common import odoo_missing
from connectbooks_goflow.core.settlement_const import WALMART_COLUMNS
from tools.walmart_recon_generator import write_walmart_recon

# ~6.3 rows an order: 160,000 orders make about a million rows.
ORDERS = int(os.environ.get("BENCH_IMPORT_WALMART_ORDERS", 160_000))
# Header, "Number of Lines in file N", payment summary: not transaction rows.
LINES_BEFORE_ROWS = 3
COLUMN_TYPES = {
    "Period Start Date": "date",
    "Period End Date": "date",
    "Total Payable": "numeric",
    "Transaction Posted Timestamp": "date",
    "Amount": "numeric",
    "Ship Qty": "integer",
    "Commission Rate": "numeric",
    "Base Commission Rate": "numeric",
}
# Walmart quotes the empty first field of a transaction row ("").
COPY = 'COPY {table} FROM STDIN WITH (FORMAT csv, FORCE_NULL ("Period Start Date"))'


def walmart_layout(path):
    def rows():
        handle = open(path, "rb")  # closed by the caller's ``with``
        for _line in range(LINES_BEFORE_ROWS):
            handle.readline()
        return handle

    return FileLayout(list(WALMART_COLUMNS), COLUMN_TYPES, COPY, rows)


def run():
    reason = odoo_missing()
    if reason:
        return [{"bench": "settlement_import_walmart", "skipped": reason}]
    with tempfile.TemporaryDirectory(prefix="cbg-bench-import-walmart-") as tmp:
        path = Path(tmp) / "walmart_recon_v1.csv"
        generated = write_walmart_recon(str(path), orders=ORDERS, seed=1)
        return [
            measure_import(
                "settlement_import_walmart",
                path,
                generated,
                walmart_layout,
                marketplace="walmart",
            )
        ]
