"""Genuine marketplace files, where they are at hand.

The folder is an optional folder of genuine marketplace files (settlements
that marketplaces produced, published by others); it is not part of this
repository and the files are never copied into it: the traits the reader
must handle have fixtures of our own in ``tests/data/settlements``. Its place:
the environment variable ``CBG_REAL_SETTLEMENTS``, else a folder
``real-settlements`` in a folder ``shared`` beside the repository checkout.
Without it, these checks are skipped, saying so.
"""

import csv
import io
import os
from pathlib import Path

import pytest

from connectbooks_goflow.core.costing import cost_keys
from connectbooks_goflow.core.settlement_parser import (
    SettlementFileError,
    read_settlement,
)

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(
    os.environ.get("CBG_REAL_SETTLEMENTS")
    or ROOT.parent / "shared" / "real-settlements"
)
FILES = (
    sorted(p for p in REAL.iterdir() if p.is_file() and p.suffix != ".md")
    if REAL.is_dir()
    else []
)
pytestmark = pytest.mark.skipif(
    not FILES,
    reason=f"no genuine settlement files at {REAL} (an optional folder of genuine "
    "marketplace files; set CBG_REAL_SETTLEMENTS to use another place)",
)


def first_line(path):
    with path.open("rb") as handle:
        return handle.readline(4096).decode("utf-8", "replace")


def read(path):
    """``(rows, None)`` or ``(None, SettlementFileError)``."""
    try:
        with path.open("rb") as handle:
            _header, rows = read_settlement(handle, filename=path.name)
    except SettlementFileError as error:
        return None, error
    return rows, None


def price_row_units(path):
    """Σ quantity-purchased of the Order ItemPrice/Principal rows with a SKU,
    counted with the csv module, apart from the reader."""
    text = path.read_text("utf-8-sig")
    total = 0
    for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
        if (
            row["transaction-type"] == "Order"
            and row["amount-type"] == "ItemPrice"
            and row["amount-description"] == "Principal"
            and row["sku"]
        ):
            total += int(row["quantity-purchased"])
    return total


def test_every_file_is_imported_or_refused_with_a_message():
    for path in FILES:
        _rows, error = read(path)
        if error is not None:
            assert error.unexpected is None, f"{path.name}: {error}"
            assert str(error).startswith(f"'{path.name}' cannot be imported")


def test_amazon_v2_units_equal_the_price_rows_quantities():
    """One order item can come in several amount groups, each with its own
    Principal row and quantity: every group's units count."""
    checked = 0
    for path in FILES:
        if "\tamount-type\t" not in first_line(path):
            continue
        rows, error = read(path)
        if error is not None:
            continue  # an excerpt whose rows do not add up to its total
        units = sum(r.quantity for r in rows if r.kind == "order")
        assert units == price_row_units(path), path.name
        needed = sum(n.quantity for n in cost_keys(rows) if n.kind == "order")
        assert needed == units, path.name
        checked += 1
    assert checked, "no complete Amazon V2 file among the genuine files"


def test_amazon_flat_file_v1_is_named():
    v1 = [p for p in FILES if "\tprice-type\t" in first_line(p)]
    if not v1:
        pytest.skip("no Amazon Flat File V1 among the genuine files")
    for path in v1:
        _rows, error = read(path)
        assert error is not None and len(error.errors) == 1, path.name
        assert "Flat File (V1)" in str(error), path.name


def test_a_spreadsheet_resave_is_named():
    resaved = [p for p in FILES if first_line(p).startswith("settlement-id,")]
    if not resaved:
        pytest.skip("no settlement re-saved by a spreadsheet among the genuine files")
    for path in resaved:
        _rows, error = read(path)
        assert error is not None and len(error.errors) == 1, path.name
        assert "saved by a spreadsheet program" in str(error), path.name


def test_a_walmart_reconciliation_report_is_named():
    recon = [p for p in FILES if first_line(p).startswith("Period Start Date,")]
    if not recon:
        pytest.skip("no Walmart reconciliation report among the genuine files")
    for path in recon:
        _rows, error = read(path)
        assert error is not None and len(error.errors) == 1, path.name
        assert "Walmart's reconciliation report" in str(error), path.name
