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
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from connectbooks_goflow.core.costing import cost_keys
from connectbooks_goflow.core.settlement_parser import (
    SettlementFileError,
    SettlementReader,
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


def walmart_reports():
    """The genuine Walmart reports: CSV files and the zips holding one."""
    reports = [p for p in FILES if first_line(p).startswith("Period Start Date,")]
    for path in FILES:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if len(names) == 1:
                    with archive.open(names[0]) as member:
                        head = member.read(64).decode("utf-8", "replace")
                    if head.startswith("Period Start Date,"):
                        reports.append(path)
    return reports


def walmart_price_rows(path):
    """(Σ Amount, Σ Ship Qty of the Sale and Refund Product Price rows with a
    Partner Item Id, rows) counted with the csv module, apart from the reader."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    else:
        text = path.read_text("utf-8-sig")
    lines = text.splitlines()
    records = list(csv.DictReader(io.StringIO("\n".join(lines[:1] + lines[3:]))))
    units = {"Sale": 0, "Refund": 0}
    for row in records:
        if row["Transaction Type"] in units and row["Amount Type"] == "Product Price":
            if row["Partner Item Id"]:
                units[row["Transaction Type"]] += int(row["Ship Qty"])
    total = sum(Decimal(row["Amount"]) for row in records)
    return total, units, len(records)


def test_walmart_reconciliation_reports_are_read():
    """Each report reads whole: its rows add up to Total Payable, and the
    units sold and refunded are those of the price rows."""
    reports = walmart_reports()
    if not reports:
        pytest.skip("no Walmart reconciliation report among the genuine files")
    for path in reports:
        with path.open("rb") as handle:
            reader = SettlementReader(handle, filename=path.name)
            rows = list(reader)
        header = reader.header
        total, units, count = walmart_price_rows(path)
        assert header.layout == "walmart_recon_v1", path.name
        assert len(rows) == count, path.name
        assert sum(r.amount for r in rows) == total == header.total_amount, path.name
        for kind, ttype in (("order", "Sale"), ("refund", "Refund")):
            needed = sum(n.quantity for n in cost_keys(rows) if n.kind == kind)
            assert needed == units[ttype], (path.name, kind)
        assert not [r for r in rows if r.kind == "other"], path.name


def test_the_genuine_walmart_report_of_july_2026():
    """The one published report: 5,279 rows paying 8805.63, as CSV and zip."""
    reports = [p for p in walmart_reports() if "20260728" in p.name]
    if not reports:
        pytest.skip("the Walmart report of 2026-07-28 is not among the genuine files")
    for path in reports:
        with path.open("rb") as handle:
            header, rows = read_settlement(handle, filename=path.name)
        assert len(rows) == 5279, path.name
        assert header.total_amount == Decimal("8805.63"), path.name
        assert header.settlement_id == "20260711-20260725", path.name
        assert header.currency == "USD", path.name
        untyped = [r for r in rows if not r.transaction_type]
        assert [r.amount_description for r in untyped] == [
            "WFS RC_InventoryDisposalFee"
        ]
        assert untyped[0].kind == "fee"
