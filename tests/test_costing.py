"""The costing rules of docs/architecture.md, one test group per rule."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectbooks_goflow.core import costing
from connectbooks_goflow.core.costing import (
    CostNeed,
    CostNeedCollector,
    cost_keys,
    deposit_check,
    line_total,
    merge_sync,
    prefill_cost,
    resolve_refund_cost,
    sum_totals,
    weighted_average,
)
from connectbooks_goflow.core.settlement_parser import SettlementRow, read_settlement

DATA = Path(__file__).parent / "data" / "settlements"


def row(line_no, kind, sku="SKU-1", quantity=0, amount="1.00", **kw):
    values = {
        "transaction_type": {
            "order": "Order",
            "refund": "Refund",
            "adjustment": "other-transaction",
        }.get(kind, "other-transaction"),
        "order_id": "",
        "merchant_order_id": "",
        "adjustment_id": "",
        "shipment_id": "",
        "marketplace_name": "Amazon.com",
        "amount_type": "ItemPrice",
        "amount_description": "Principal",
        "fulfillment_id": "AFN",
        "posted_date": date(2024, 3, 2),
        "order_item_code": "",
        "merchant_order_item_id": "",
        "merchant_adjustment_item_id": "",
        "promotion_id": "",
    }
    values.update(kw)
    return SettlementRow(
        line_no=line_no,
        kind=kind,
        sku=sku,
        quantity=quantity,
        amount=Decimal(amount),
        **values,
    )


# --- 1. What needs a cost ----------------------------------------------------


def test_cost_keys_on_the_us_fixture():
    with open(DATA / "amazon_v2_us.txt", "rb") as handle:
        _header, rows = read_settlement(handle)
    needs = {n.key: n for n in cost_keys(rows)}
    order = needs["order", "112-4455667-1234567", "", "BLU-MUG-12OZ"]
    assert order.quantity == 2 and order.sign == 1
    assert order.line_numbers == (4, 5, 6, 7, 8, 9), "every row of the item"
    assert order.posted_date == date(2024, 3, 2)
    assert needs["order", "113-9988776-7654321", "", "TEA-TIN-50G"].quantity == 3
    refund = needs["refund", "112-4455667-1234567", "80013452210", "BLU-MUG-12OZ"]
    assert (refund.quantity, refund.sign) == (1, -1), "quantity 0 -> 1 per item"
    chargeback = needs["refund", "113-9988776-7654321", "80013452299", "TEA-TIN-50G"]
    assert (chargeback.quantity, chargeback.sign) == (1, -1)
    lost = needs["adjustment", "", "", "TEA-TIN-50G"]
    assert (lost.quantity, lost.sign) == (1, 1), "reimbursed: goods are gone"
    found = needs["adjustment", "", "", "RED-MUG-12OZ"]
    assert (found.quantity, found.sign) == (1, -1), "reversal: goods are back"
    assert len(needs) == 8, "no need for fees, reserves, retrocharges"
    assert all(isinstance(n.quantity, Decimal) for n in needs.values())


def test_orders_aggregate_per_sku_and_skip_rows_without_sku():
    rows = [
        row(3, "order", order_id="A", order_item_code="1", quantity=2),
        row(4, "order", order_id="A", order_item_code="1", quantity=0),
        row(5, "order", order_id="A", order_item_code="2", quantity=1),
        row(6, "order", sku="", order_id="A", quantity=1),
        row(7, "order", sku="SKU-2", order_id="A", quantity=1),
    ]
    needs = cost_keys(rows)
    assert [(n.sku, n.quantity, n.line_numbers) for n in needs] == [
        ("SKU-1", Decimal(3), (3, 4, 5)),
        ("SKU-2", Decimal(1), (7,)),
    ]


def test_retrocharges_and_zero_quantity_orders_need_no_cost():
    rows = [
        row(3, "order", order_id="A", quantity=1, transaction_type="Order_Retrocharge"),
        row(4, "order", order_id="B", quantity=0, amount_type="ItemFees"),
    ]
    assert cost_keys(rows) == []


def test_refund_quantity_zero_counts_one_per_refunded_item():
    rows = [
        row(3, "refund", order_id="A", adjustment_id="R", order_item_code="1"),
        row(4, "refund", order_id="A", adjustment_id="R", order_item_code="1"),
        row(5, "refund", order_id="A", adjustment_id="R", order_item_code="2"),
    ]
    (need,) = cost_keys(rows)
    assert (need.kind, need.quantity, need.sign) == ("refund", 2, -1)
    assert need.signed_quantity == -2


def test_refund_quantity_negative_or_positive_is_the_units_back():
    rows = [
        row(3, "refund", order_id="A", adjustment_id="R", quantity=-2),
        row(4, "refund", order_id="B", adjustment_id="S", quantity=3),
    ]
    assert [(n.quantity, n.sign) for n in cost_keys(rows)] == [(2, -1), (3, -1)]


def test_adjustments_need_a_sku_and_a_quantity_and_net_out():
    rows = [
        row(3, "adjustment", sku="", quantity=1),
        row(4, "adjustment", sku="SKU-1", quantity=0),
        row(5, "adjustment", sku="SKU-2", quantity=2, amount="10.00"),
        row(6, "adjustment", sku="SKU-2", quantity=1, amount="-5.00"),
        row(7, "adjustment", sku="SKU-3", quantity=1, amount="5.00"),
        row(8, "adjustment", sku="SKU-3", quantity=1, amount="-5.00"),
    ]
    needs = cost_keys(rows)
    assert [(n.sku, n.quantity, n.sign) for n in needs] == [("SKU-2", 1, 1)]


def test_fees_reserves_and_other_need_nothing():
    rows = [row(3, kind, quantity=1) for kind in ("fee", "reserve", "other")]
    assert cost_keys(rows) == []


def test_first_posted_date_is_the_earliest():
    rows = [
        row(3, "order", order_id="A", quantity=1, posted_date=date(2024, 3, 5)),
        row(4, "order", order_id="A", posted_date=None),
        row(5, "order", order_id="A", posted_date=date(2024, 3, 4)),
    ]
    assert cost_keys(rows)[0].posted_date == date(2024, 3, 4)


def test_cost_keys_reads_a_stream_once():
    rows = iter([row(3, "order", order_id="A", quantity=1)])
    assert len(cost_keys(rows)) == 1


def _streamed(rows, every, idle):
    """Needs as the import stores them: handed out while the rows stream
    through ``every`` rows at a time, then the rest and the corrections."""
    collector = CostNeedCollector()
    stored = {}
    for start in range(0, len(rows), every):
        collector.add(rows[start : start + every])
        for need in collector.settled(idle):
            assert need.key not in stored, "each key handed out once"
            stored[need.key] = need
    for need in collector.remaining():
        assert need.key not in stored
        stored[need.key] = need
    changed, gone, late = collector.corrections()
    for need in changed:
        assert need.key in stored
        stored[need.key] = need
    for key in gone:
        del stored[key]
    for need in late:
        assert need.key not in stored
        stored[need.key] = need
    return {key: (n.quantity, n.sign, n.posted_date) for key, n in stored.items()}


def _expected(rows):
    return {n.key: (n.quantity, n.sign, n.posted_date) for n in cost_keys(rows)}


def test_collector_reopened_items_are_corrected():
    rows = [
        # an order shipped twice: the same SKU comes back after a while
        row(3, "order", order_id="A", order_item_code="1", quantity=1),
        row(4, "order", order_id="B", quantity=2),
        row(
            5,
            "order",
            order_id="A",
            order_item_code="2",
            quantity=3,
            posted_date=date(2024, 3, 1),
        ),
        # a refund first seen with a goodwill credit only, goods later
        row(
            6,
            "refund",
            order_id="C",
            adjustment_id="R",
            amount_type="Promotion",
            amount_description="Goodwill",
        ),
        row(7, "order", order_id="D", quantity=1),
        row(8, "refund", order_id="C", adjustment_id="R", order_item_code="9"),
        # a reimbursement reversed later: nets to nothing
        row(9, "adjustment", adjustment_id="X", quantity=2),
        row(10, "order", order_id="E", quantity=1),
        row(11, "adjustment", adjustment_id="X", quantity=2, amount="-1.00"),
    ]
    collector = CostNeedCollector()
    handed = []
    for one in rows:
        collector.add([one])
        handed += collector.settled(0)
    assert {n.key for n in handed} >= {
        ("order", "A", "", "SKU-1"),
        ("adjustment", "", "X", "SKU-1"),
    }
    changed, gone, late = collector.corrections()
    assert [(n.key, n.quantity, n.posted_date) for n in changed] == [
        (("order", "A", "", "SKU-1"), 4, date(2024, 3, 1))
    ]
    assert gone == [("adjustment", "", "X", "SKU-1")]
    assert [(n.key, n.quantity, n.sign) for n in late] == [
        (("refund", "C", "R", "SKU-1"), 1, -1)
    ]
    assert _streamed(rows, 1, 0) == _expected(rows)


@pytest.mark.parametrize(("every", "idle"), [(1, 0), (7, 3), (50, 20), (1000, 0)])
def test_collector_streamed_equals_cost_keys(tmp_path, every, idle):
    from tools.settlement_generator import write_settlement  # noqa: PLC0415

    path = tmp_path / "settlement.txt"
    write_settlement(str(path), orders=300, seed=5)
    with open(path, "rb") as handle:
        _header, rows = read_settlement(handle)
    expected = _expected(rows)
    assert len(expected) > 300
    assert _streamed(rows, every, idle) == expected


def test_cost_need_defaults_to_goods_out():
    need = CostNeed("order", "A", "", "SKU", Decimal(2), None, (3,))
    assert need.sign == 1 and need.signed_quantity == 2


# --- 3. Pre-fill -------------------------------------------------------------


def test_weighted_average():
    costs = [(2, Decimal("3.00")), (1, Decimal("6.00")), (Decimal("1.5"), "4.00")]
    assert weighted_average(costs) == Decimal("4")
    thirds = [(2, "1.00"), (1, "2.00")]
    assert weighted_average(thirds, decimals=4) == Decimal("1.3333")
    assert weighted_average([(1, "1.00005"), (1, "1.00")], decimals=4) == Decimal(
        "1.0000"
    ), "1.000025 rounds down"


def test_weighted_average_ignores_unusable_pairs():
    costs = [(0, "5"), (-1, "5"), (2, None), (2, 0), (3, "2.50"), (None, "1")]
    assert weighted_average(costs) == Decimal("2.50")
    assert weighted_average([]) is None
    assert weighted_average([(0, "1.00")]) is None


def test_weighted_average_takes_odoo_floats_exactly():
    assert weighted_average([(1, 0.1), (1, 0.2)]) == Decimal("0.15")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("4.10", "3.90", 12, "4.00"),
            ("4.10", "goflow_average", "Goflow average cost"),
        ),
        (
            (None, "3.90", 12, "4.00"),
            ("3.90", "odoo_average", "average of 12 costs, last 90 days"),
        ),
        (
            (0, "3.90", 1, None),
            ("3.90", "odoo_average", "average of 1 cost, last 90 days"),
        ),
        ((None, "3.90", 0, "4.00"), ("4.00", "goflow_default", "Goflow default cost")),
        ((None, None, 0, "4.00"), ("4.00", "goflow_default", "Goflow default cost")),
        ((None, None, 0, 0), (None, "none", "no cost known: enter it")),
        ((-1, "-2", 3, None), (None, "none", "no cost known: enter it")),
    ],
)
def test_prefill_first_available_wins(args, expected):
    value, code, text = prefill_cost(*args)
    assert (value, code, text) == (
        Decimal(expected[0]) if expected[0] else None,
        expected[1],
        expected[2],
    )


def test_prefill_window_in_text():
    assert (
        prefill_cost(None, 1, 3, None, days=30)[2] == "average of 3 costs, last 30 days"
    )


# --- Refund cost -------------------------------------------------------------


@pytest.mark.parametrize(
    ("refund", "order", "expected"),
    [
        ("2.50", "2.40", (Decimal("2.50"), "goflow_refund")),
        (None, "2.40", (Decimal("2.40"), "goflow_order")),
        (0, 2.4, (Decimal("2.4"), "goflow_order")),
        (None, None, (None, "none")),
        (0, 0, (None, "none")),
    ],
)
def test_resolve_refund_cost(refund, order, expected):
    assert resolve_refund_cost(refund, order) == expected


# --- 2, 4, 5. Sync merge -----------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "new", "posted", "action", "cost"),
    [
        # new line
        ((None, None, None), "4.00", False, "update", "4.00"),
        ((None, None, None), None, False, "missing", None),
        ((None, None, None), 0, False, "missing", None),
        # still missing
        (("missing", "goflow", None), 0.0, False, "missing", None),
        (("missing", "goflow", None), "4.00", False, "update", "4.00"),
        # manual wins, posted or not
        (("costed", "manual", "3.00"), "4.00", False, "keep", "3.00"),
        (("costed", "average", "3.00"), "4.00", True, "keep", "3.00"),
        # a known Goflow cost is not erased by an empty answer
        (("costed", "goflow", "3.00"), None, False, "keep", "3.00"),
        (("costed", "goflow", "3.00"), "3.00", False, "keep", "3.00"),
        (("costed", "goflow", "3.00"), "3.20", False, "update", "3.20"),
        # late costs on posted lines become true-ups
        (("costed", "goflow", "3.00"), "3.20", True, "trueup", "3.20"),
        (("costed", "estimate", "3.00"), "3.40", True, "trueup", "3.40"),
        (("costed", "estimate", "3.00"), "3.00", True, "trueup", "3.00"),
    ],
)
def test_merge_sync(existing, new, posted, action, cost):
    decision = merge_sync(*existing, new, posted)
    assert decision.action == action, decision.reason
    assert decision.unit_cost == (Decimal(cost) if cost else None)


# --- 6. Money ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit", "decimals", "expected"),
    [
        (3, "1.005", 2, "3.02"),  # 3.015 -> half up
        (1, "2.345", 2, "2.35"),
        (1, 2.675, 2, "2.68"),  # the float 2.675 is 2.67499..., its repr is not
        (Decimal("1.5"), "0.333", 2, "0.50"),
        (7, "1.2345", 0, "9"),
        (-2, "1.005", 2, "-2.01"),
    ],
)
def test_line_total_rounds_half_up(quantity, unit, decimals, expected):
    assert line_total(quantity, unit, decimals) == Decimal(expected)


def test_sum_totals_equals_the_sum_of_rounded_lines():
    lines = [line_total(1, "0.333") for _ in range(3)]
    assert sum_totals(lines) == Decimal("0.99"), "not round(0.999)"
    assert sum_totals([]) == Decimal("0.00")


def test_deposit_check():
    ok = deposit_check(Decimal("127.20"), "127.20")
    assert ok and ok.difference == 0
    off = deposit_check(Decimal("127.15"), Decimal("127.20"))
    assert not off
    assert off.difference == Decimal("0.05")
    assert deposit_check(Decimal("127.204"), Decimal("127.20")).balanced
    assert not deposit_check(Decimal("127.195"), Decimal("127.20"), decimals=3)
    assert not deposit_check(Decimal("100"), Decimal("101"), decimals=0)


def test_to_decimal():
    assert costing.to_decimal(0.1) == Decimal("0.1")
    assert costing.to_decimal(3) == Decimal(3)
    assert costing.to_decimal("2.50") == Decimal("2.50")
    assert costing.to_decimal(None) is None


def test_merge_sync_estimate_confirmed_by_goflow_stops_being_an_estimate():
    posted = merge_sync("costed", "estimate", Decimal("4.20"), Decimal("4.20"), True)
    assert posted.action == "trueup"
    assert posted.unit_cost == Decimal("4.20")
    draft = merge_sync("costed", "estimate", Decimal("4.20"), Decimal("4.20"), False)
    assert draft.action == "update"
    # the same cost from Goflow on a Goflow line changes nothing
    same = merge_sync("costed", "goflow", Decimal("4.20"), Decimal("4.20"), True)
    assert same.action == "keep"


def test_goodwill_refund_brings_no_goods_back():
    rows = [
        row(
            1,
            "refund",
            order_id="111-1",
            adjustment_id="A1",
            amount_description="Goodwill",
            amount="-5.00",
        ),
        row(
            2,
            "refund",
            order_id="111-1",
            adjustment_id="A1",
            amount_type="ItemFees",
            amount_description="Commission",
            amount="0.75",
        ),
        row(
            3,
            "refund",
            order_id="111-2",
            adjustment_id="A2",
            amount_description="Principal",
            amount="-19.99",
            order_item_code="I2",
        ),
    ]
    keys = [need.key for need in cost_keys(rows)]
    assert keys == [("refund", "111-2", "A2", "SKU-1")], (
        "only the refund of the item price returns goods to stock"
    )
