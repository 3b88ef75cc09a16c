"""The quantities the importer counts, and those it refuses rather than guess.

* An order item with a SKU counts its quantity once per *amount group*: a
  group starts at the item's first row and again at each further
  ``ItemPrice`` / ``Principal`` row of the item (a genuine Amazon.com file
  splits one order item into groups of 1 and 2 units: 3 units).
* An order item needs a positive whole quantity: a negative one, or none on
  any row of a group, refuses the file, located.
* Refund and adjustment quantities keep their rules.
"""

import io
from pathlib import Path

import pytest

from connectbooks_goflow.core.costing import cost_keys
from connectbooks_goflow.core.settlement_parser import (
    SettlementFileError,
    read_settlement,
)

DATA = Path(__file__).parent / "data" / "settlements"
GROUPS = (DATA / "amazon_v2_amount_groups.txt").read_text("utf-8").splitlines()
BASE = (DATA / "amazon_v2_us.txt").read_text("utf-8").splitlines()
COLUMNS = BASE[0].split("\t")


def set_field(lines, line_no, column, value):
    lines = list(lines)
    fields = lines[line_no - 1].split("\t")
    fields[COLUMNS.index(column)] = value
    lines[line_no - 1] = "\t".join(fields)
    return lines


def read(lines):
    return read_settlement(
        io.BytesIO(("\n".join(lines) + "\n").encode()), filename="q.txt"
    )


def refuse(lines):
    with pytest.raises(SettlementFileError) as info:
        read(lines)
    return info.value


def issues(error):
    return [(i.line, i.column) for i in error.errors]


def price_row_units(lines):
    """Σ quantity of the Order ItemPrice/Principal rows with a SKU."""
    index = {name: i for i, name in enumerate(lines[0].split("\t"))}
    total = 0
    for line in lines[1:]:
        f = line.split("\t")
        if (
            f[index["transaction-type"]] == "Order"
            and f[index["amount-type"]] == "ItemPrice"
            and f[index["amount-description"]] == "Principal"
            and f[index["sku"]]
        ):
            total += int(f[index["quantity-purchased"]])
    return total


# --- Several amount groups per order item ----------------------------------------


def test_one_item_in_two_amount_groups_counts_both():
    _header, rows = read(GROUPS)
    item = [r for r in rows if r.order_item_code == "70000000000001"]
    item = [r for r in item if r.kind == "order"]
    assert [r.quantity for r in item] == [1, 0, 0, 2, 0], (
        "a second Principal row of the item opens a group with its own quantity"
    )


def test_one_item_in_three_amount_groups():
    _header, rows = read(GROUPS)
    item = [r for r in rows if r.order_item_code == "70000000000002"]
    assert [r.quantity for r in item] == [1, 0, 1, 0, 2, 0, 0]


def test_one_item_in_two_shipments_rows_apart():
    _header, rows = read(GROUPS)
    item = [r for r in rows if r.order_item_code == "70000000000003"]
    assert [(r.shipment_id, r.quantity) for r in item] == [
        ("DS3ccc", 1),
        ("DS3ccc", 0),
        ("DS3eee", 1),
        ("DS3eee", 0),
    ]


def test_a_group_may_start_before_its_price_row():
    """Tax first, then the Principal: one group; a Promotion on the Principal
    is not a price row."""
    _header, rows = read(GROUPS)
    item = [r for r in rows if r.order_item_code == "70000000000004"]
    assert [r.quantity for r in item] == [2, 0, 0, 0]


def test_units_equal_the_price_rows_quantities():
    _header, rows = read(GROUPS)
    units = sum(r.quantity for r in rows if r.kind == "order")
    assert units == price_row_units(GROUPS) == 11
    needs = {(n.kind, n.order_id, n.sku): n.quantity for n in cost_keys(rows)}
    assert needs[("order", "111-1000001-1000001", "BLU-MUG-12OZ")] == 3
    assert needs[("order", "111-1000002-1000002", "TEA-TIN-50G")] == 4
    assert needs[("order", "111-1000003-1000003", "RED-MUG-12OZ")] == 2
    assert needs[("order", "111-1000004-1000004", "BLU-MUG-12OZ")] == 2
    assert needs[("refund", "111-1000001-1000001", "BLU-MUG-12OZ")] == 1, (
        "refund rules unchanged: no quantity on its rows, one refunded item"
    )


def test_repeating_the_quantity_on_a_groups_rows_counts_it_once():
    _header, rows = read(BASE)
    blue = [r for r in rows if r.order_id == "112-4455667-1234567"]
    blue = [r for r in blue if r.kind == "order"]
    assert [r.quantity for r in blue[:6]] == [2, 0, 0, 0, 0, 0]


# --- Refused, not guessed -----------------------------------------------------------


def test_negative_quantity_on_an_order_row():
    error = refuse(set_field(BASE, 4, "quantity-purchased", "-1"))
    assert issues(error) == [(4, "quantity-purchased")], "one issue, nothing else"
    assert "the quantity -1 is negative on an order row" in str(error)


def test_negative_quantity_on_a_later_row_of_the_item():
    error = refuse(set_field(BASE, 6, "quantity-purchased", "-2"))
    assert (6, "quantity-purchased") in issues(error)


@pytest.mark.parametrize("quantity", ["", "0"])
def test_order_item_without_a_quantity_on_any_row(quantity):
    lines = BASE
    for line_no in range(10, 15):  # every row of the RED-MUG item
        lines = set_field(lines, line_no, "quantity-purchased", quantity)
    error = refuse(lines)
    assert issues(error) == [(10, "quantity-purchased")], "located at its first row"
    text = str(error)
    assert "order 112-4455667-1234567, item 62134589012346" in text
    assert "no quantity on any of its rows" in text


def test_quantity_on_a_later_row_of_the_item_is_enough():
    lines = set_field(BASE, 10, "quantity-purchased", "")
    lines = set_field(lines, 11, "quantity-purchased", "")
    _header, rows = read(lines)
    red = [r for r in rows if r.sku == "RED-MUG-12OZ" and r.kind == "order"]
    assert [r.quantity for r in red] == [0, 0, 1, 0, 0]


def test_a_later_amount_group_without_a_quantity():
    lines = GROUPS
    for line_no in (6, 7):  # the item's second group: Principal 39.98 + its fee
        lines = set_field(lines, line_no, "quantity-purchased", "")
    error = refuse(lines)
    assert issues(error) == [(6, "quantity-purchased")]
    assert "order 111-1000001-1000001, item 70000000000001" in str(error)


def test_order_rows_that_need_no_quantity():
    """Retrocharges move no goods: no quantity needed."""
    lines = set_field(BASE, 30, "quantity-purchased", "")  # Order_Retrocharge
    _header, rows = read(lines)
    assert rows[27].transaction_type == "Order_Retrocharge"
    assert rows[27].quantity == 0


def test_refund_and_adjustment_quantities_unchanged():
    """A refund may say 0 or nothing; a negative refund quantity is read as
    units back; an adjustment keeps its own quantity."""
    lines = set_field(BASE, 27, "quantity-purchased", "-1")  # Chargeback Refund
    lines = set_field(lines, 22, "quantity-purchased", "")  # Refund
    _header, rows = read(lines)
    needs = {(n.kind, n.order_id, n.sku): (n.quantity, n.sign) for n in cost_keys(rows)}
    assert needs[("refund", "113-9988776-7654321", "TEA-TIN-50G")] == (1, -1)
    assert needs[("refund", "112-4455667-1234567", "BLU-MUG-12OZ")] == (1, -1)
