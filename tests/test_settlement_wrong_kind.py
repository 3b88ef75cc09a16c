"""Files of the wrong kind are named as such, in one message that says what
to import instead: Amazon's Flat File V1, and a settlement a spreadsheet
re-saved (its ids and dates are no longer Amazon's)."""

import io
from pathlib import Path

import pytest

from connectbooks_goflow.core.settlement_parser import (
    SettlementFileError,
    SettlementReader,
    read_settlement,
)

DATA = Path(__file__).parent / "data" / "settlements"
BASE = (DATA / "amazon_v2_us.txt").read_text("utf-8").splitlines()
COLUMNS = BASE[0].split("\t")


def refuse(data, name="settlement.txt"):
    with pytest.raises(SettlementFileError) as info:
        read_settlement(io.BytesIO(data), filename=name)
    return info.value


def as_spreadsheet_csv(lines, *, dates=True):
    """``lines`` as a spreadsheet saves them: commas, CR line ends, posted
    dates as m/d/yy and order item codes in scientific notation."""
    out = []
    posted = COLUMNS.index("posted-date")
    item = COLUMNS.index("order-item-code")
    for line in lines:
        fields = line.split("\t")
        if dates and fields[posted][:4].isdigit():
            year, month, day = fields[posted].split("-")
            fields[posted] = f"{int(month)}/{int(day)}/{year[2:]}"
        if fields[item].isdigit():
            mantissa, exponent = f"{int(fields[item]):E}".split("E")
            mantissa = f"{float(mantissa):.5f}".rstrip("0").rstrip(".")
            fields[item] = f"{mantissa}E+{int(exponent)}"  # 6.21346E+13
        out.append(",".join(fields))
    return ("\r".join(out) + "\r").encode()


def test_amazon_flat_file_v1():
    error = refuse((DATA / "amazon_v1_flat.txt").read_bytes(), "v1.txt")
    assert len(error.errors) == 1, "one message, not a list of missing columns"
    text = str(error)
    assert "old Flat File (V1) layout" in text
    assert "download this settlement as a Flat File V2" in text
    assert "Seller Central" in text
    assert "required column" not in text


def test_spreadsheet_resave_dates_and_ids():
    error = refuse(as_spreadsheet_csv(BASE), "resaved.csv")
    assert len(error.errors) == 1, "one message, not one per date"
    issue = error.errors[0]
    assert (issue.line, issue.column) == (3, "posted-date"), "the first one"
    text = str(error)
    assert "saved by a spreadsheet program" in text
    assert "'3/1/24'" in text
    assert "7.82115E+12" in text, "an example of what happened to the ids"
    assert "download the settlement report (Flat File V2) again" in text
    assert "without opening and saving it in a spreadsheet" in text


def test_spreadsheet_resave_is_named_before_any_row_is_read():
    """The import checks for a settlement already imported once the header
    is read: the spreadsheet's damage must be known by then."""
    with pytest.raises(SettlementFileError) as info:
        SettlementReader(io.BytesIO(as_spreadsheet_csv(BASE)), filename="r.csv")
    assert "saved by a spreadsheet program" in str(info.value)


def test_spreadsheet_resave_ids_only():
    """Dates kept as text, ids destroyed: the id tells."""
    error = refuse(as_spreadsheet_csv(BASE, dates=False), "resaved.csv")
    assert len(error.errors) == 1
    issue = error.errors[0]
    assert (issue.line, issue.column) == (4, "order-item-code")
    assert "'6.21346E+13'" in issue.message
    assert "digits are lost" in issue.message


def test_spreadsheet_resave_of_a_tab_file():
    lines = [line.replace("62134589012345", "6.21346E+13") for line in BASE]
    error = refuse(("\n".join(lines) + "\n").encode())
    assert len(error.errors) == 1
    assert "saved by a spreadsheet program" in str(error)


def test_a_generic_csv_file_with_destroyed_ids():
    lines = (DATA / "generic_walmart.csv").read_text("utf-8").splitlines()
    lines[2] = lines[2].replace("108829453211847", "1.08829E+14", 1)
    error = refuse(("\n".join(lines) + "\n").encode(), "walmart.csv")
    assert len(error.errors) == 1
    text = str(error)
    assert "'1.08829E+14'" in text
    assert "id columns formatted as text" in text
    assert "Seller Central" not in text


def test_one_slash_date_in_an_amazon_file_is_a_date_error():
    """Only the short posted date is a spreadsheet's sign; a deposit date
    typed by hand is just not a date."""
    lines = list(BASE)
    fields = lines[1].split("\t")
    fields[COLUMNS.index("deposit-date")] = "17/03/2024"
    lines[1] = "\t".join(fields)
    error = refuse(("\n".join(lines) + "\n").encode())
    assert "'17/03/2024' is not a date" in str(error)


def test_walmart_reconciliation_report_is_read_natively():
    """A recon report is told apart from a generic CSV by its columns; one
    without the purchase order columns is refused for those, by name."""
    header = (
        "Period Start Date,Period End Date,Total Payable,Currency,Transaction Key,"
        "Transaction Posted Timestamp,Transaction Type,Transaction Description,"
        "Customer Order #,Customer Order line #,Amount,Amount Type,Ship Qty,"
        "Partner Item Id"
    )
    rows = [
        header,
        "Number of Lines in file 2            ",
        "07/11/2026,07/25/2026,12.00,USD,,07/25/2026,PaymentSummary,Deposited,,,,,,",
        '"",07/25/2026,12.00,USD,K1,07/16/2026,Sale,Purchase,111,1,12.00,'
        "Product Price,1,BLU-MUG-12OZ",
    ]
    error = refuse(("\n".join(rows) + "\n").encode(), "recon.csv")
    assert [(i.line, i.column) for i in error.errors] == [
        (1, "Purchase Order #"),
        (1, "Purchase Order line #"),
    ]
    assert "required column is missing" in str(error)
    assert "settlement_id" not in str(error)
