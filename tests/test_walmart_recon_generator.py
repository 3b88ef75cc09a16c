"""The Walmart generator writes reports the reader reads and that tie out;
the reader streams them."""

import collections
import io
import tracemalloc
import zipfile

import pytest

from connectbooks_goflow.core import settlement_const as const
from connectbooks_goflow.core.costing import cost_keys
from connectbooks_goflow.core.settlement_parser import SettlementReader, read_settlement
from tests.test_settlement_parser_stream import CountingReader
from tools import settlement_generator
from tools.goflow_sandbox.dataset import build_dataset
from tools.walmart_recon_generator import write_walmart_recon


def generate(**kwargs):
    out = io.BytesIO()
    stats = write_walmart_recon(out, **kwargs)
    return stats, out.getvalue()


def parse(data, **kwargs):
    return read_settlement(io.BytesIO(data), filename="generated.csv", **kwargs)


def test_default_report_parses_and_ties_out():
    stats, data = generate(orders=600, seed=3, skus=40)
    header, rows = parse(data)
    assert header.layout == "walmart_recon_v1"
    assert header.settlement_id == stats.settlement_id == "20250101-20250114"
    assert header.total_amount == stats.total == sum(r.amount for r in rows)
    assert len(rows) == stats.rows
    kinds = collections.Counter(r.kind for r in rows)
    assert set(kinds) == {"order", "refund", "adjustment", "fee", "reserve"}, kinds
    assert len({r.order_id for r in rows if r.kind == "order"}) == 600
    types = {(r.transaction_type, r.amount_type) for r in rows}
    for expected in (
        ("Sale", "Product Price"),
        ("Sale", "Product tax"),
        ("Sale", "Product tax withheld"),
        ("Sale", "Commission on Product"),
        ("Sale", "Promo Code"),
        ("Sale", "Shipping Price"),
        ("Refund", "Product Price"),
        ("Adjustment", "Fee/Reimbursement"),
        ("Adjustment", "WFS Inventory Fee/Reimbursement"),
        ("Service Fee", "WFS Inventory Fee/Reimbursement"),
        ("", ""),
        ("Reserve", "Reserve"),
        ("Release Reserve", "Reserve"),
    ):
        assert expected in types, expected


def test_the_traits_of_a_real_report():
    _stats, data = generate(orders=100, seed=4)
    lines = data.decode().splitlines()
    assert lines[0].split(",") == list(const.WALMART_COLUMNS)
    assert lines[1].startswith("Number of Lines in file ")
    assert int(lines[1].split()[-1]) == len(lines) - 2
    assert len(lines[2].split(",")) == 34 and ",PaymentSummary," in lines[2]
    assert sum(line.startswith('"",') for line in lines) > len(lines) * 0.9
    wfs = [line for line in lines if ",WFS StorageFee," in line]
    assert [line[:21] for line in wfs] == [
        "01/01/2025,01/07/2025",
        "01/08/2025,01/14/2025",
    ], "weekly periods of their own"


def test_units_and_cost_needs_match_the_generator():
    stats, data = generate(orders=800, seed=5, skus=30)
    _header, rows = parse(data)
    needs = cost_keys(rows)
    ordered = sum(n.quantity for n in needs if n.kind == "order")
    refunded = sum(n.quantity for n in needs if n.kind == "refund")
    assert ordered == stats.units_ordered
    assert refunded == stats.units_refunded
    assert stats.refunds and {n.sign for n in needs if n.kind == "refund"} == {-1}


def test_same_seed_same_report():
    assert generate(orders=50, seed=9)[1] == generate(orders=50, seed=9)[1]


def test_orders_and_skus_match_the_goflow_sandbox():
    dataset = build_dataset(orders=80, skus=20, seed=12)
    stats, data = generate(dataset=dataset)
    _header, rows = parse(data)
    orders = {r.order_id for r in rows if r.kind == "order"}
    assert orders <= set(dataset.order_numbers())
    assert len(orders) == stats.orders
    skus = {p["item_number"] for p in dataset.products}
    assert {r.sku for r in rows if r.sku} <= skus
    _header, by_po = parse(data, order_number="purchase_order")
    assert {r.merchant_order_id for r in by_po if r.kind == "order"} == orders


def test_zip_as_walmart_delivers_it(tmp_path):
    path = tmp_path / "recon.zip"
    stats = write_walmart_recon(path, orders=60, seed=6, zip_archive=True)
    with zipfile.ZipFile(path) as archive:
        (name,) = archive.namelist()
    assert (
        name == "Sandbox_Seller_LLC_10001051452_MP_01172025_reconciliationreport_v1.csv"
    )
    with path.open("rb") as handle:
        header, rows = read_settlement(handle)
    assert header.total_amount == stats.total and len(rows) == stats.rows


def test_command_line(tmp_path, capsys):
    out = tmp_path / "recon.zip"
    argv = ["--marketplace", "walmart", "--orders", "30", "--zip", "--out", str(out)]
    assert settlement_generator.main(argv) == 0
    assert "Walmart payment 20250101-20250114" in capsys.readouterr().err
    assert zipfile.is_zipfile(out)
    with pytest.raises(SystemExit):
        settlement_generator.main(["--zip", "--out", str(tmp_path / "a.txt")])
    with pytest.raises(SystemExit):
        settlement_generator.main(["--marketplace", "walmart", "--eu-decimal"])


def test_reads_ahead_at_most_one_block():
    stats, data = generate(orders=6_000, seed=21)
    assert len(data) > 5 * const.READ_BLOCK_BYTES
    line_ends = []
    position = data.find(b"\n")
    while position >= 0:
        line_ends.append(position + 1)
        position = data.find(b"\n", position + 1)
    stream = CountingReader(data)
    reader = SettlementReader(stream)
    slack = const.SNIFF_BYTES + const.READ_BLOCK_BYTES
    assert stream.position <= slack
    count = 0
    for row in reader:
        count += 1
        if count % 997 == 0:
            consumed = line_ends[row.line_no - 1]
            assert stream.position - consumed <= slack, f"read ahead at {row.line_no}"
    assert count == stats.rows


@pytest.mark.slow
def test_memory_stays_bounded_on_100k_rows(tmp_path):
    path = tmp_path / "big.csv"
    stats = write_walmart_recon(path, orders=16_000, seed=22)
    assert stats.rows >= 100_000
    tracemalloc.start()
    try:
        with open(path, "rb") as handle:
            reader = SettlementReader(handle)
            rows = sum(1 for _row in reader)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == stats.rows
    assert reader.total == stats.total
    # A block of text, its lines and the per-line keys of the quantity rule
    # (~23,000 purchase order lines here, ~33 bytes each); the file itself
    # is ~30 MB, the rows ~150 MB.
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
