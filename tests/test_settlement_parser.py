"""The settlement parser on well-formed files: one fixture per feature.

Fixtures in ``tests/data/settlements/`` are small hand-written settlements
(their V2 vocabulary and its sources are in ``settlement_const``).
"""

import codecs
import dataclasses
import io
import pickle
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from connectbooks_goflow.core import settlement_const as const
from connectbooks_goflow.core.settlement_parser import (
    SettlementFileError,
    SettlementReader,
    SettlementRow,
    _Issues,
    _Numbers,
    classify,
    parse_datetime,
    read_settlement,
)

DATA = Path(__file__).parent / "data" / "settlements"
UTC = timezone.utc


def read(name, **kwargs):
    with open(DATA / name, "rb") as handle:
        return read_settlement(handle, filename=name, **kwargs)


def rows_by(rows, **match):
    return [r for r in rows if all(getattr(r, k) == v for k, v in match.items())]


# --- Amazon US file: summary row, kinds, quantity once -----------------------


def test_us_file_header_from_summary_row():
    header, rows = read("amazon_v2_us.txt")
    assert header.settlement_id == "24010823451"
    assert header.layout == const.LAYOUT_AMAZON_V2
    assert header.currency == "USD"
    assert header.total_amount == Decimal("127.20")
    assert header.start == datetime(2024, 3, 1, 7, tzinfo=UTC)
    assert header.end == datetime(2024, 3, 15, 7, tzinfo=UTC)
    assert header.deposit_date == datetime(2024, 3, 17, 7, tzinfo=UTC)
    assert len(rows) == 34, "the summary row is not a transaction row"
    assert rows[0].line_no == 3, "line 1 is the header, line 2 the summary"
    assert sum(r.amount for r in rows) == header.total_amount


def test_us_file_kinds_of_every_row_type():
    _header, rows = read("amazon_v2_us.txt")
    kinds = {
        (r.transaction_type, r.amount_type, r.amount_description): r.kind for r in rows
    }
    expected = {
        ("Order", "ItemPrice", "Principal"): "order",
        ("Order", "Promotion", "Principal"): "order",
        ("Order", "ItemFees", "FBAPerUnitFulfillmentFee"): "order",
        ("Order_Retrocharge", "ItemPrice", "Tax"): "order",
        ("Refund", "ItemFees", "RefundCommission"): "refund",
        ("Chargeback Refund", "ItemPrice", "Principal"): "refund",
        (
            "other-transaction",
            "FBA Inventory Reimbursement",
            "WAREHOUSE_DAMAGE",
        ): "adjustment",
        (
            "other-transaction",
            "FBA Inventory Reimbursement",
            "REVERSAL_REIMBURSEMENT",
        ): "adjustment",
        (
            "other-transaction",
            "other-transaction",
            "Previous Reserve Amount Balance",
        ): "reserve",
        ("other-transaction", "other-transaction", "Current Reserve Amount"): "reserve",
        ("other-transaction", "other-transaction", "Storage Fee"): "fee",
        ("other-transaction", "other-transaction", "Subscription Fee"): "fee",
        ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"): "fee",
        ("other-transaction", "other-transaction", "MiscAdjustment"): "other",
    }
    for key, kind in expected.items():
        assert kinds[key] == kind, f"{key} should be {kind}"


def test_quantity_counted_once_per_order_item():
    _header, rows = read("amazon_v2_us.txt")
    blue = rows_by(
        rows, order_id="112-4455667-1234567", sku="BLU-MUG-12OZ", kind="order"
    )
    assert [r.quantity for r in blue] == [2, 0, 0, 0, 0, 0], (
        "Amazon repeats the quantity on every amount row; only the first counts"
    )
    # Same SKU in another order: its own item, counted again.
    other = rows_by(rows, order_id="114-2233445-5566778", transaction_type="Order")
    assert [r.quantity for r in other] == [1, 0, 0]
    # The refund of the first item is a separate item (adjustment id differs).
    refund = rows_by(rows, adjustment_id="80013452210")
    assert [r.quantity for r in refund] == [0] * 5, "the refund rows carry 0"
    chargeback = rows_by(rows, adjustment_id="80013452299")
    assert [r.quantity for r in chargeback] == [1, 0, 0]
    # Reimbursements have no order id: each row keeps its own quantity.
    reimbursed = rows_by(rows, amount_type="FBA Inventory Reimbursement")
    assert [r.quantity for r in reimbursed] == [1, 1]


def test_row_fields_are_carried():
    _header, rows = read("amazon_v2_us.txt")
    promo = rows_by(rows, amount_type="Promotion")[0]
    assert promo.promotion_id == "PLM-7c1e5a90b3"
    assert promo.amount == Decimal("-4.00")
    assert promo.fulfillment_id == "AFN"
    assert promo.shipment_id == "DkQm3vX9p"
    assert promo.marketplace_name == "Amazon.com"
    assert promo.order_item_code == "62134589012345"
    assert promo.posted_date == date(2024, 3, 2)
    mfn = rows_by(rows, order_id="113-9988776-7654321", transaction_type="Order")[0]
    assert mfn.merchant_order_id == "5512"
    assert mfn.fulfillment_id == "MFN"
    refund = rows_by(rows, adjustment_id="80013452210")[0]
    assert refund.merchant_adjustment_item_id == "amzn1:crow:Rf1"
    assert refund.order_id == "112-4455667-1234567"


def test_promotion_id_column_absent():
    header, rows = read("amazon_v2_no_promotion_id.txt")
    assert header.total_amount == Decimal("283.01")
    assert all(r.promotion_id == "" for r in rows)
    assert [r.quantity for r in rows if r.kind == "order"] == [1, 0, 0]


# --- Encodings and line ends -------------------------------------------------


def test_bom_and_crlf_read_like_the_plain_file():
    plain_header, plain_rows = read("amazon_v2_us.txt")
    header, rows = read("amazon_v2_bom_crlf.txt")
    raw = (DATA / "amazon_v2_bom_crlf.txt").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) and b"\r\n" in raw, "fixture sanity"
    assert header == plain_header
    assert rows == plain_rows
    assert rows[0].transaction_type == "other-transaction", "no BOM or CR left over"
    assert rows[-1].promotion_id == "", "no CR glued to the last column"


def test_cp1252_eu_file_with_accents_decimal_commas_and_dotted_dates():
    header, rows = read("amazon_v2_de_cp1252.txt")
    assert header.currency == "EUR"
    assert header.total_amount == Decimal("130.30")
    assert header.start == datetime(2024, 3, 1, 7, tzinfo=UTC)
    accented = rows_by(rows, amount_type="other-transaction")
    descriptions = {r.amount_description for r in accented}
    assert "Frais de réexpédition – retour client" in descriptions
    reserve = rows_by(rows, amount_description="Previous Reserve Amount Balance")[0]
    assert reserve.amount == Decimal("1250.00"), "'1.250,00' is 1250"
    assert reserve.posted_date == date(2024, 3, 1), "'01.03.2024' is 1 March"
    assert sum(r.amount for r in rows) == header.total_amount


def test_utf16_file_from_excel_unicode_text():
    text = (DATA / "amazon_v2_us.txt").read_text("utf-8")
    data = codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le")
    header, rows = read_settlement(io.BytesIO(data))
    assert header.total_amount == Decimal("127.20")
    assert len(rows) == 34


def test_cp1252_detected_after_a_long_ascii_start():
    """The first non-ASCII byte may come after the sniffed block."""
    text = (DATA / "amazon_v2_us.txt").read_text("utf-8")
    head, summary, *body = text.splitlines()
    padding = [body[0]] * 3000  # 3000 x the reserve row, ~0.5 MB of ASCII
    accented = body[-2].replace("MiscAdjustment", "Régularisation")
    lines = [head, summary, *padding, *body[:-2], accented, body[-1]]
    # Keep the total right: the padding adds 3000 x 1250.00.
    total = Decimal("127.20") + 3000 * Decimal("1250.00")
    lines[1] = summary.replace("\t127.20\t", f"\t{total}\t")
    data = ("\n".join(lines) + "\n").encode("cp1252")
    assert len(data) > 2 * const.SNIFF_BYTES
    header, rows = read_settlement(io.BytesIO(data))
    assert header.total_amount == total
    assert rows_by(rows, amount_description="Régularisation")


def test_lone_cr_line_ends():
    text = (DATA / "amazon_v2_us.txt").read_text("utf-8")
    header, rows = read_settlement(io.BytesIO(text.replace("\n", "\r").encode()))
    assert header.total_amount == Decimal("127.20")
    assert len(rows) == 34


# --- Columns -----------------------------------------------------------------


def test_extra_columns_other_order_and_offsets():
    header, rows = read("amazon_v2_extra_columns.txt")
    assert header.total_amount == Decimal("13.36")
    assert [r.amount for r in rows] == [
        Decimal("19.99"),
        Decimal("-3.00"),
        Decimal("-3.63"),
    ]
    # 22:40 at UTC-8 on 5 March: the file's own date is kept.
    assert rows[0].posted_date == date(2024, 3, 5)
    assert rows[0].shipment_id == "", "absent optional column reads as empty"


def test_transaction_types_compared_case_insensitively():
    _header, rows = read("amazon_v2_mixed_case.txt")
    assert [(r.transaction_type, r.kind) for r in rows] == [
        ("ORDER", "order"),
        ("order", "order"),
        ("REFUND", "refund"),
        ("refund", "refund"),
        ("Other-Transaction", "reserve"),
        ("SERVICEFEE", "fee"),
        ("OTHER-TRANSACTION", "adjustment"),
    ]
    # ORDER and order rows are one item: the quantity still counts once.
    assert [r.quantity for r in rows[:2]] == [2, 0]


# --- Generic CSV -------------------------------------------------------------


def test_generic_csv_with_repeated_settlement_fields():
    header, rows = read("generic_walmart.csv")
    assert header.layout == const.LAYOUT_GENERIC_CSV
    assert header.settlement_id == "WM-20240315"
    assert header.deposit_date == datetime(2024, 3, 15, tzinfo=UTC)
    assert header.marketplace_name == "Walmart.com"
    assert len(rows) == 11, "no summary row: the first row is a transaction"
    assert rows[0].line_no == 2
    assert [r.kind for r in rows] == [
        "order",
        "order",
        "order",
        "order",
        "order",
        "refund",
        "refund",
        "adjustment",
        "adjustment",
        "reserve",
        "reserve",
    ]
    assert rows[3].amount == Decimal("1012.99"), "quoted '1,012.99'"
    assert [r.quantity for r in rows[:3]] == [2, 0, 0]
    assert rows[7].sku == "RED-MUG-12OZ" and rows[7].quantity == 1


def test_generic_csv_semicolon_summary_row_eu_numbers():
    header, rows = read("generic_semicolon_eu.csv")
    assert header.layout == const.LAYOUT_GENERIC_CSV
    assert header.total_amount == Decimal("1014.27")
    assert header.start == datetime(2024, 3, 1, tzinfo=UTC)
    amounts = [r.amount for r in rows]
    assert amounts == [
        Decimal("1249.00"),
        Decimal("-187.35"),
        Decimal("-4.38"),
        Decimal("-3.5"),
        Decimal("-39.00"),
        Decimal("-0.50"),
    ]
    assert rows[-1].amount_description == "Gebühr; Versandetikett"


def test_generic_layout_forced_on_a_tab_file_is_refused_cleanly():
    with pytest.raises(SettlementFileError) as info:
        read("amazon_v2_us.txt", layout="generic_csv")
    assert "line 1" in str(info.value)


# --- Reader behaviour --------------------------------------------------------


def test_header_available_before_iteration_and_single_pass():
    with open(DATA / "amazon_v2_us.txt", "rb") as handle:
        reader = SettlementReader(handle)
        assert reader.header.settlement_id == "24010823451"
        first = next(iter(reader))
        assert first.line_no == 3
    reader = SettlementReader(io.BytesIO((DATA / "amazon_v2_us.txt").read_bytes()))
    assert len(list(reader)) == 34
    with pytest.raises(RuntimeError):
        list(reader)


def test_rows_are_frozen_settlement_rows():
    """Rows are built by a faster path; they must be plain frozen rows."""
    _header, rows = read("amazon_v2_us.txt")
    row = rows[0]
    assert type(row) is SettlementRow
    with pytest.raises(AttributeError):
        row.amount = Decimal(0)
    same = SettlementRow(**dataclasses.asdict(row))
    assert same == row and hash(same) == hash(row)
    assert repr(same) == repr(row)
    assert pickle.loads(pickle.dumps(row)) == row


# --- Units: amounts, dates, kinds --------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.34", "12.34"),
        ("-3.50", "-3.50"),
        ("+7", "7"),
        ("1,234.56", "1234.56"),
        ("-1,234,567.89", "-1234567.89"),
        ("1.234,56", "1234.56"),
        ("95,00", "95.00"),
        ("-3,5", "-3.5"),
        ("1 234,56", "1234.56"),
        ("1\u202f234,56", "1234.56"),
        ("0,123", "0.123"),
        ("1,234", "1234"),  # no evidence yet: a decimal point file
        ("-,50", "-0.50"),
    ],
)
def test_amount_forms(raw, expected):
    issues = _Issues()
    assert _Numbers(issues).parse(raw, 1, "amount") == Decimal(expected)
    assert not issues.kept


def test_ambiguous_amount_follows_the_file_style():
    issues = _Issues()
    numbers = _Numbers(issues)
    assert numbers.parse("95,00", 1, "amount") == Decimal("95.00")
    assert numbers.parse("1.234", 2, "amount") == Decimal("1234"), "thousands"
    assert numbers.parse("1,234", 3, "amount") == Decimal("1.234"), "decimal comma"
    assert not issues.kept


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-02T03:04:05+00:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02 03:04:05 UTC", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("02.01.2024 03:04:05 UTC", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("02.01.2024", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.250Z", datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        (
            "2024-01-02T03:04:05-08:00",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-8))),
        ),
    ],
)
def test_date_forms(raw, expected):
    value = parse_datetime(raw)
    assert value == expected
    assert value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "raw", ["01/02/2024", "2024-13-01", "32.01.2024", "yesterday", "2024-01-02 PST"]
)
def test_date_forms_refused(raw):
    with pytest.raises(ValueError):
        parse_datetime(raw)


@pytest.mark.parametrize(
    ("types", "kind"),
    [
        (("Order", "ItemPrice", "Principal"), "order"),
        (("Order_Retrocharge", "ItemPrice", "Tax"), "order"),
        (("Refund", "ItemPrice", "Principal"), "refund"),
        (("A-to-z Guarantee Refund", "ItemPrice", "Principal"), "refund"),
        (("Refund_Retrocharge", "ItemPrice", "Tax"), "refund"),
        (
            ("other-transaction", "FBA Inventory Reimbursement", "WAREHOUSE_LOST"),
            "adjustment",
        ),
        (
            ("Liquidations", "other-transaction", "LiquidationsBrokerageFee"),
            "adjustment",
        ),
        (
            ("other-transaction", "other-transaction", "Current Reserve Amount"),
            "reserve",
        ),
        (("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"), "fee"),
        (("Vine Enrollment Fee", "Vine Enrollment Fee", "Vine"), "fee"),
        (("other-transaction", "other-transaction", "StorageRenewalBilling"), "fee"),
        (("other-transaction", "other-transaction", "Payable to Amazon"), "other"),
        (("Something New", "", ""), "other"),
    ],
)
def test_classify(types, kind):
    assert classify(*types) == kind


def test_trailing_unnamed_header_column_and_unknown_duplicates():
    lines = (DATA / "amazon_v2_us.txt").read_text("utf-8").splitlines()
    lines[0] += "\tnote\tnote\t"  # two unknown columns and a trailing tab
    lines[3] += "\tchecked\tagain"  # one row fills them, the others do not
    header, rows = read_settlement(io.BytesIO(("\n".join(lines) + "\n").encode()))
    assert header.total_amount == Decimal("127.20")
    assert len(rows) == 34
    assert rows[1].amount == Decimal("39.98")


def test_examples_of_the_generic_csv_documentation():
    """The examples in docs/generic_csv.md import as documented."""
    doc = (Path(__file__).parent.parent / "docs" / "generic_csv.md").read_text("utf-8")
    blocks = [part.split("```", 1)[0] for part in doc.split("```csv\n")[1:]]
    assert len(blocks) == 2
    parsed = [read_settlement(io.BytesIO(block.encode())) for block in blocks]
    (walmart, walmart_rows), (summary, summary_rows) = parsed
    assert walmart.total_amount == Decimal("2.60") and len(walmart_rows) == 6
    assert [r.kind for r in walmart_rows] == [
        "order",
        "order",
        "refund",
        "refund",
        "adjustment",
        "reserve",
    ]
    assert summary.total_amount == Decimal("1057.27") and len(summary_rows) == 3


def test_generic_csv_quoted_line_break_keeps_line_numbers():
    lines = (DATA / "generic_walmart.csv").read_text("utf-8").splitlines()
    lines[1] += '"first line\nsecond line"'
    header, rows = read_settlement(io.BytesIO(("\n".join(lines) + "\n").encode()))
    assert header.total_amount == Decimal("87.41")
    assert [r.line_no for r in rows[:3]] == [2, 4, 5], "row 2 spans lines 2-3"


def test_tab_file_saved_by_excel_with_quotes_and_repeated_currency():
    lines = (DATA / "amazon_v2_us.txt").read_text("utf-8").splitlines()
    out = [lines[0], lines[1]]
    for line in lines[2:]:
        fields = line.split("\t")
        fields[5] = "USD"  # some files repeat the currency on every row
        if fields[13] == "Storage Fee":
            fields[13] = '"Storage Fee, January"'
        out.append("\t".join(fields))
    header, rows = read_settlement(io.BytesIO(("\r\n".join(out) + "\r\n").encode()))
    assert header.total_amount == Decimal("127.20")
    assert rows_by(rows, amount_description="Storage Fee, January")[0].kind == "other"
