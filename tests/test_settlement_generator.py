"""The settlement generator writes files the parser reads and that tie out."""

import collections
import io

import pytest

from connectbooks_goflow.core.costing import cost_keys
from connectbooks_goflow.core.settlement_parser import read_settlement
from tools import settlement_generator
from tools.goflow_sandbox.dataset import build_dataset
from tools.settlement_generator import write_settlement


def generate(**kwargs):
    out = io.BytesIO()
    stats = write_settlement(out, **kwargs)
    return stats, out.getvalue()


def parse(data):
    return read_settlement(io.BytesIO(data), filename="generated.txt")


def test_default_file_parses_and_ties_out():
    stats, data = generate(orders=400, seed=3, skus=40)
    header, rows = parse(data)
    assert header.settlement_id == stats.settlement_id
    assert header.total_amount == stats.total == sum(r.amount for r in rows)
    assert len(rows) == stats.rows
    assert header.currency == "USD"
    kinds = collections.Counter(r.kind for r in rows)
    assert set(kinds) == {"order", "refund", "adjustment", "fee", "reserve"}, kinds
    assert stats.orders == 400
    assert len({r.order_id for r in rows if r.kind == "order"}) == 400
    assert any(r.promotion_id for r in rows if r.amount_type == "Promotion")
    descriptions = {r.amount_description for r in rows}
    for expected in (
        "Principal",
        "Tax",
        "Shipping",
        "Commission",
        "FBAPerUnitFulfillmentFee",
        "MarketplaceFacilitatorTax-Principal",
        "RefundCommission",
        "Previous Reserve Amount Balance",
        "Current Reserve Amount",
        "Storage Fee",
        "Subscription Fee",
        "TransactionTotalAmount",
    ):
        assert expected in descriptions, expected


def test_quantities_tie_out_with_what_was_generated():
    stats, data = generate(orders=600, seed=8, skus=30)
    _header, rows = parse(data)
    needs = cost_keys(rows)
    units = collections.Counter()
    for need in needs:
        units[need.kind] += need.quantity
    assert units["order"] == stats.units_ordered
    assert units["refund"] == stats.units_refunded
    assert stats.refunds == len({n.adjustment_id for n in needs if n.kind == "refund"})
    assert stats.reimbursements >= 1
    refunds = [r for r in rows if r.kind == "refund"]
    assert all(r.adjustment_id and r.order_id for r in refunds)
    orders = {r.order_id for r in rows if r.kind == "order"}
    assert {r.order_id for r in refunds} <= orders, "refunds of earlier orders"
    reimbursed = [r for r in rows if r.amount_type == "FBA Inventory Reimbursement"]
    assert all(r.sku and r.quantity and not r.order_id for r in reimbursed)


def test_same_seed_same_bytes():
    assert generate(orders=50, seed=4)[1] == generate(orders=50, seed=4)[1]
    assert generate(orders=50, seed=4)[1] != generate(orders=50, seed=5)[1]


@pytest.mark.parametrize(
    "options",
    [
        {"crlf": True, "bom": True},
        {"eu_decimal": True, "cp1252": True, "crlf": True},
        {"eu_decimal": True},
        {"settlement_id": "99887766554"},
    ],
)
def test_options_parse_cleanly(options):
    stats, data = generate(orders=120, seed=2, **options)
    if options.get("bom"):
        assert data.startswith(b"\xef\xbb\xbf")
    if options.get("crlf"):
        assert data.count(b"\r\n") == stats.rows + 2
    header, rows = parse(data)
    assert header.total_amount == stats.total
    assert len(rows) == stats.rows
    if options.get("eu_decimal"):
        assert header.currency == "EUR"
        assert b"," in data.split(b"\n")[1], "decimal comma in the total"
        assert any(r.amount_description == "Régularisation de frais" for r in rows)
    if "settlement_id" in options:
        assert header.settlement_id == "99887766554"


def test_match_sandbox_uses_the_datasets_orders():
    dataset = build_dataset(orders=150, skus=20, seed=6)
    stats, data = generate(orders=150, skus=20, seed=6, match_sandbox=True)
    _header, rows = parse(data)
    costed_lines = [
        line for order in dataset.orders for line in order["lines"] if line["product"]
    ]
    numbers = {
        o["order_number"]
        for o in dataset.orders
        if any(line["product"] for line in o["lines"])
    }
    assert {r.order_id for r in rows if r.kind == "order"} == numbers
    assert stats.orders == len(numbers) < len(dataset.orders), "split orders merged"
    assert stats.units_ordered == sum(li["quantity"]["amount"] for li in costed_lines)
    skus = {li["product"]["item_number"] for li in costed_lines}
    assert {r.sku for r in rows if r.kind == "order"} == skus
    returned = {o["order_number"] for o in dataset.orders if o.get("returns")}
    assert {r.order_id for r in rows if r.kind == "refund"} == returned
    # Same result when the caller passes the dataset itself.
    assert generate(dataset=dataset, seed=6)[1] == data


def test_cli_writes_a_file(tmp_path, capsys):
    path = tmp_path / "settlement.txt"
    code = settlement_generator.main(
        ["--orders", "30", "--seed", "9", "--out", str(path), "--eu-decimal"]
    )
    assert code == 0
    with open(path, "rb") as handle:
        header, rows = read_settlement(handle)
    assert header.currency == "EUR"
    message = capsys.readouterr().err
    assert f"settlement {header.settlement_id}: {len(rows)} rows" in message


def test_cli_refuses_bom_with_cp1252():
    with pytest.raises(SystemExit):
        settlement_generator.main(["--bom", "--cp1252", "--out", "-"])


def test_cli_matches_a_sandbox_json_data_set(tmp_path):
    dataset = build_dataset(orders=40, skus=10, seed=12, missing_share=0.3)
    data_path = tmp_path / "dataset.json"
    dataset.to_json(data_path)
    out = tmp_path / "settlement.txt"
    settlement_generator.main(["--data", str(data_path), "--out", str(out)])
    with open(out, "rb") as handle:
        _header, rows = read_settlement(handle)
    numbers = {
        o["order_number"]
        for o in dataset.orders
        if any(li["product"] for li in o["lines"])
    }
    assert {r.order_id for r in rows if r.kind == "order"} == numbers
    # Same file from the JSON, from the data set itself, or rebuilt from the
    # sandbox's arguments.
    from_object = generate(dataset=dataset, seed=1)[1]
    assert out.read_bytes() == from_object
    rebuilt = generate(
        orders=40, skus=10, seed=12, missing_share=0.3, match_sandbox=True
    )
    assert generate(dataset=dataset, seed=12)[1] == rebuilt[1]
