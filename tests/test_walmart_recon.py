"""Walmart's reconciliation report v1, read natively (core/walmart_recon.py).

``walmart_recon_v1.csv`` is our own small report with each trait of a real
one: 43 columns, the ``Number of Lines in file N`` line padded with spaces,
a PaymentSummary row of 34 fields, WFS charges with their own weekly
periods, a row with neither transaction type nor amount type, date-only
timestamps, rows starting with a quoted empty field, a quoted item name
with a comma, and one customer order shipped as two purchase orders.
"""

import io
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from connectbooks_goflow.core import settlement_const as const
from connectbooks_goflow.core.costing import cost_keys
from connectbooks_goflow.core.settlement_parser import (
    SettlementFileError,
    SettlementReader,
    read_settlement,
)
from connectbooks_goflow.core.walmart_recon import (
    WalmartReconReader,
    classify_walmart,
    parse_walmart_date,
)

DATA = Path(__file__).parent / "data" / "settlements"
FIXTURE = DATA / "walmart_recon_v1.csv"
LINES = FIXTURE.read_text("utf-8").splitlines()
COLUMNS = LINES[0].split(",")
ADJ = "adjustment"
MUG_ORDER = "200015491736080"
MUG_PO = "129119795615034"
SPLIT_ORDER = "200015500000001"


def read(data=None, **kwargs):
    data = FIXTURE.read_bytes() if data is None else data
    return read_settlement(io.BytesIO(data), filename="recon.csv", **kwargs)


def refuse(data, **kwargs):
    with pytest.raises(SettlementFileError) as caught:
        read(data, **kwargs)
    return caught.value


def with_cell(line_no, column, value, lines=None):
    """The fixture with one cell of one line (1-based) replaced, as bytes."""
    lines = list(LINES if lines is None else lines)
    fields = lines[line_no - 1].split(",")
    fields[COLUMNS.index(column)] = value
    lines[line_no - 1] = ",".join(fields)
    return to_bytes(lines)


def to_bytes(lines):
    return ("\n".join(lines) + "\n").encode()


def issues(error):
    return [(i.line, i.column) for i in error.errors]


# --- the report as Walmart delivers it ------------------------------------------


def test_auto_layout_returns_the_walmart_reader():
    with FIXTURE.open("rb") as handle:
        reader = SettlementReader(handle, filename="recon.csv")
        assert isinstance(reader, WalmartReconReader)
        assert reader.layout == const.LAYOUT_WALMART_RECON_V1
        assert len(list(reader)) == reader.rows_read == 18


def test_payment_summary_is_the_header():
    header, rows = read()
    utc = timezone.utc
    assert header.settlement_id == "20260301-20260314", "the period identifies it"
    assert header.start == datetime(2026, 3, 1, tzinfo=utc)
    assert header.end == datetime(2026, 3, 14, tzinfo=utc)
    assert header.deposit_date == datetime(2026, 3, 14, tzinfo=utc)
    assert header.total_amount == Decimal("854.13")
    assert header.currency == "USD"
    assert header.marketplace_name == "Walmart.com"
    assert header.layout == "walmart_recon_v1"
    assert sum(r.amount for r in rows) == header.total_amount
    assert [r.line_no for r in rows] == list(range(4, 22)), "summary not a row"


def test_rows_carry_walmart_fields():
    _header, rows = read()
    price = next(r for r in rows if r.line_no == 7)
    assert price.transaction_type == "Sale" and price.kind == "order"
    assert price.order_id == MUG_ORDER
    assert price.merchant_order_id == MUG_PO
    assert price.order_item_code == price.merchant_order_item_id == "1"
    assert price.shipment_id == "2026_03_03_1691608", "the sale's key"
    assert price.adjustment_id == ""
    assert price.sku == "BLU-MUG-12OZ"
    assert price.amount_type == "Product Price"
    assert price.amount_description == "Purchase"
    assert price.posted_date == date(2026, 3, 3), "a date without time"
    assert price.fulfillment_id == "Walmart-fulfilled(WFS)"
    assert price.quantity == 2
    refund = next(r for r in rows if r.kind == "refund")
    assert refund.adjustment_id == "2026_03_10_981284", "a refund keyed by its key"
    assert refund.shipment_id == ""


def test_kinds_of_the_rows():
    _header, rows = read()
    kinds = {r.line_no: r.kind for r in rows}
    assert kinds[4] == "fee", "Service Fee / WFS StorageFee"
    assert kinds[5] == "fee", "no transaction type: WFS RC_InventoryDisposalFee"
    assert kinds[6] == "adjustment", "WFS LostInventory: goods gone"
    assert kinds[11] == "fee", "Adjustment / WFS Fulfillment fee"
    assert kinds[21] == "fee", "Adjustment / WFS Return Processing Fee"
    untyped = next(r for r in rows if r.line_no == 5)
    assert (untyped.transaction_type, untyped.amount_type) == ("", "")


def test_wfs_charges_keep_their_own_period():
    """Their Period Start/End Date are their week's, not the payment's."""
    _header, rows = read()
    assert [r.posted_date for r in rows[:3]] == [
        date(2026, 3, 7),
        date(2026, 3, 7),
        date(2026, 3, 14),
    ]


def test_ship_qty_counts_once_per_purchase_order_line():
    _header, rows = read()
    units = {}
    for r in rows:
        if r.kind == "order":
            key = (r.merchant_order_id, r.sku)
            units[key] = units.get(key, 0) + r.quantity
    assert units == {
        (MUG_PO, "BLU-MUG-12OZ"): 2,
        ("129119800000001", "TEA-TIN-50G"): 1,
        ("129119800000002", "BLU-MUG-12OZ"): 1,
    }


def test_what_needs_a_cost():
    """Sales and the refund; WFS fees on an order line need none."""
    _header, rows = read()
    needs = {(n.kind, n.order_id, n.adjustment_id, n.sku): n for n in cost_keys(rows)}
    assert {k: (n.quantity, n.sign) for k, n in needs.items()} == {
        ("order", MUG_ORDER, "", "BLU-MUG-12OZ"): (2, 1),
        ("order", SPLIT_ORDER, "", "TEA-TIN-50G"): (1, 1),
        ("order", SPLIT_ORDER, "", "BLU-MUG-12OZ"): (1, 1),
        ("refund", MUG_ORDER, "2026_03_10_981284", "BLU-MUG-12OZ"): (1, -1),
    }


def test_order_number_can_be_the_purchase_order():
    _header, rows = read(order_number="purchase_order")
    split = [r for r in rows if r.merchant_order_id == SPLIT_ORDER]
    assert {r.order_id for r in split} == {"129119800000001", "129119800000002"}
    orders = {n.order_id for n in cost_keys(rows) if n.kind == "order"}
    assert orders == {MUG_PO, "129119800000001", "129119800000002"}


def test_unknown_order_number_is_a_programming_error():
    with pytest.raises(ValueError, match="order number"):
        read(order_number="walmart_order")


def test_an_amazon_file_accepts_the_order_number_option():
    header, _rows = read((DATA / "amazon_v2_us.txt").read_bytes(), order_number=None)
    assert header.layout == "amazon_v2"


def test_without_the_line_count_line_and_with_crlf_and_bom():
    lines = [line for line in LINES if not line.startswith("Number of Lines")]
    data = b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n"
    header, rows = read(data)
    assert header.total_amount == sum(r.amount for r in rows)
    assert rows[0].line_no == 3


def test_a_quoted_value_may_span_lines():
    lines = list(LINES)
    lines[6] = lines[6].replace('"Blue Mug, 12 oz"', '"Blue Mug,\n12 oz"')
    _header, rows = read(to_bytes(lines))
    assert len(rows) == 18
    assert [r.line_no for r in rows][3:5] == [7, 9], "numbered by where they start"


def test_layout_asked_for_explicitly():
    header, _rows = read(layout="walmart_recon_v1")
    assert header.layout == "walmart_recon_v1"
    error = refuse(FIXTURE.read_bytes(), layout="generic_csv")
    assert "Walmart's reconciliation report" in str(error)
    assert "'auto'" in str(error)
    error = refuse(
        (DATA / "generic_walmart.csv").read_bytes(), layout="walmart_recon_v1"
    )
    assert (1, "Period Start Date") in issues(error)


# --- classify and dates -----------------------------------------------------------


@pytest.mark.parametrize(
    ("ttype", "amount_type", "description", "kind"),
    [
        ("Sale", "Product Price", "Purchase", "order"),
        ("SALE", "Product Price", "", "order"),
        ("Refund", "Product Price", "Return Refund", "refund"),
        ("REFUNDED", "Product Price", "", "refund"),
        ("Adjustment", "Fee/Reimbursement", "WFS Fulfillment fee", "fee"),
        ("Adjustment", "Fee/Reimbursement", "WFS Returned Item Disposal Fee", "fee"),
        (
            "Adjustment",
            "WFS Inventory Fee/Reimbursement",
            "WFS FoundInventory",
            "adjustment",
        ),
        (
            "Adjustment",
            "WFS Inventory Fee/Reimbursement",
            "WFS DamageInWarehouse",
            "adjustment",
        ),
        ("Adjustment", "Fee/Reimbursement", "Customer goodwill", "adjustment"),
        ("ADJMNT", "", "", "adjustment"),
        ("Service Fee", "WFS Inventory Fee/Reimbursement", "WFS StorageFee", "fee"),
        ("", "", "WFS RC_InventoryDisposalFee", "fee"),
        ("", "", "WFS SomeNewCharge", "fee"),
        ("Reserve", "", "", "reserve"),
        ("Release Reserve", "", "", "reserve"),
        ("", "", "", "other"),
    ],
)
def test_classify_walmart(ttype, amount_type, description, kind):
    assert classify_walmart(ttype, amount_type, description) == kind


def test_parse_walmart_date():
    utc = timezone.utc
    assert parse_walmart_date("07/16/2026") == datetime(2026, 7, 16, tzinfo=utc)
    assert parse_walmart_date("7/6/2026") == datetime(2026, 7, 6, tzinfo=utc)
    assert parse_walmart_date("07/16/2026 13:05:09") == datetime(
        2026, 7, 16, 13, 5, 9, tzinfo=utc
    )
    assert parse_walmart_date("2026-07-16") == datetime(2026, 7, 16, tzinfo=utc)
    for bad in ("16/07/2026", "07/16/26", "07-16-2026", "July 16"):
        with pytest.raises(ValueError):
            parse_walmart_date(bad)
