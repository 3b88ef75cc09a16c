"""Walmart reports that cannot be imported: every problem by line and
column, all or nothing; the zip Walmart delivers, and zips that are not it."""

import io
import zipfile

import pytest

from connectbooks_goflow.core.settlement_parser import (
    SettlementFileError,
    SettlementReader,
    read_settlement,
)
from tests.test_walmart_recon import (
    FIXTURE,
    LINES,
    issues,
    read,
    refuse,
    to_bytes,
    with_cell,
)

CSV = FIXTURE.read_bytes()
MEMBER = "Kivals_Demo_10001051452_MP_03172026_reconciliationreport_v1.csv"


def zipped(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek (a download, a pipe)."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


# --- malformed files ----------------------------------------------------------


def test_missing_column_named_on_the_header_line():
    lines = list(LINES)
    lines[0] = lines[0].replace(",Amount,", ",Value,")
    error = refuse(to_bytes(lines))
    assert issues(error) == [(1, "Amount")]
    assert "required column is missing" in str(error)


def test_column_twice():
    lines = list(LINES)
    lines[0] = lines[0].replace("Store Id", "Ship Qty")
    error = refuse(to_bytes(lines))
    assert issues(error) == [(1, "Ship Qty")]
    assert "columns 15 and 43" in str(error)


def test_summary_differs_from_the_sum_of_the_rows():
    error = refuse(with_cell(7, "Amount", "25.99"))
    assert issues(error) == [(3, "Total Payable")]
    message = error.errors[0].message
    assert "the rows add up to 854.14 but the total amount is 854.13" in message
    assert "difference -0.01" in message


def test_bad_number():
    error = refuse(with_cell(8, "Amount", "2.1x4"))
    assert issues(error)[0] == (8, "Amount")
    assert "'2.1x4' is not a number" in str(error)


def test_empty_amount():
    error = refuse(with_cell(9, "Amount", ""))
    assert issues(error)[0] == (9, "Amount")
    assert "the amount is empty" in str(error)


@pytest.mark.parametrize(
    ("line_no", "column", "value"),
    [
        (7, "Transaction Posted Timestamp", "16/03/2026"),
        (4, "Period Start Date", "2026/03/01"),
        (3, "Period End Date", "03/32/2026"),
        (3, "Period Start Date", ""),
    ],
)
def test_bad_date(line_no, column, value):
    error = refuse(with_cell(line_no, column, value))
    assert issues(error)[0] == (line_no, column)
    assert "expected MM/DD/YYYY" in str(error) or "the date is empty" in str(error)


def test_bad_date_of_a_row_is_its_only_problem():
    """Its amount still counts: the rows still add up to Total Payable."""
    error = refuse(with_cell(7, "Transaction Posted Timestamp", "13/45/2026"))
    assert issues(error) == [(7, "Transaction Posted Timestamp")]


def test_every_problem_is_listed_at_once():
    data = with_cell(8, "Amount", "abc")
    data = with_cell(12, "Ship Qty", "1.5", data.decode().splitlines())
    data = with_cell(17, "Currency", "CAD", data.decode().splitlines())
    error = refuse(data)
    assert issues(error)[:3] == [(8, "Amount"), (12, "Ship Qty"), (17, "Currency")]


def test_line_count_says_the_file_is_cut_short():
    error = refuse(to_bytes(LINES[:-1]))
    assert (2, None) in issues(error)
    assert "announces 19 lines after this one but has 18" in str(error)


def test_line_count_that_is_not_a_number():
    lines = list(LINES)
    lines[1] = "Number of Lines in file many"
    error = refuse(to_bytes(lines))
    assert issues(error) == [(2, None)]


def test_first_row_must_be_the_payment_summary():
    lines = LINES[:2] + LINES[3:]
    error = refuse(to_bytes(lines))
    assert issues(error) == [(3, "Transaction Type")]
    assert "not the payment summary" in str(error)


def test_a_second_payment_summary():
    error = refuse(to_bytes([*LINES, LINES[2]]))
    assert (22, "Transaction Type") in issues(error)
    assert "a second payment summary (the first is on line 3)" in str(error)


def test_summary_without_total_or_currency():
    data = with_cell(3, "Total Payable", "")
    error = refuse(with_cell(3, "Currency", "", data.decode().splitlines()))
    assert issues(error) == [(3, "Total Payable"), (3, "Currency")]


def test_period_ends_before_it_starts():
    error = refuse(with_cell(3, "Period End Date", "02/01/2026"))
    assert issues(error) == [(3, "Period End Date")]


def test_rows_cut_short_or_too_long():
    lines = list(LINES)
    lines[7] = ",".join(lines[7].split(",")[:10])
    lines[8] += ",extra"
    error = refuse(to_bytes(lines))
    assert issues(error)[:2] == [(8, None), (9, None)]
    assert "the line has 10 fields but the header has 43" in str(error)
    assert "the line has 44 fields" in str(error)


def test_sale_without_ship_qty():
    lines = list(LINES)
    for line_no in (12, 13, 14):
        lines = with_cell(line_no, "Ship Qty", "", lines).decode().splitlines()
    error = refuse(to_bytes(lines))
    assert issues(error) == [(12, "Ship Qty")]
    assert "order 129119800000001, line 1: no Ship Qty" in str(error)


def test_negative_ship_qty_on_a_sale():
    error = refuse(with_cell(15, "Ship Qty", "-1"))
    assert issues(error) == [(15, "Ship Qty")]
    assert "negative on a sale" in str(error)


def test_ids_destroyed_by_a_spreadsheet():
    error = refuse(with_cell(12, "Purchase Order #", "1.2912E+14"))
    assert issues(error) == [(12, "Purchase Order #")]
    assert "saved by a spreadsheet program" in str(error)


def test_unclosed_quote():
    lines = list(LINES)
    lines[-1] = lines[-1].replace('"Blue Mug, 12 oz"', '"Blue Mug, 12 oz')
    error = refuse(to_bytes(lines))
    assert issues(error)[0] == (21, None)
    assert "never closed" in str(error)


def test_header_only():
    error = refuse(to_bytes(LINES[:2]))
    assert "no payment summary row" in str(error)


def test_rows_are_not_to_be_trusted_before_the_end():
    """All or nothing: the rows come, the error at the end."""
    data = with_cell(20, "Amount", "oops")
    reader = SettlementReader(io.BytesIO(data))
    seen = []
    with pytest.raises(SettlementFileError):
        for row in reader:
            seen.append(row.line_no)
    assert seen[:3] == [4, 5, 6]


# --- the zip --------------------------------------------------------------------


def test_the_zip_walmart_delivers_is_read():
    header, rows = read(zipped({MEMBER: CSV}))
    expected_header, expected_rows = read(CSV)
    assert header == expected_header
    assert rows == expected_rows


def test_a_zip_from_a_stream_that_cannot_seek():
    header, rows = read_settlement(OneWayStream(zipped({MEMBER: CSV})))
    assert header.layout == "walmart_recon_v1" and len(rows) == 18


def test_zip_with_two_files():
    error = refuse(zipped({MEMBER: CSV, "readme.txt": b"hello"}))
    assert issues(error) == [(None, None)]
    assert f"holds 2 files ('{MEMBER}', 'readme.txt')" in str(error)
    assert "exactly one CSV file" in str(error)


def test_empty_zip():
    error = refuse(zipped({}))
    assert "The ZIP archive is empty" in str(error)


def test_zip_holding_no_csv():
    error = refuse(zipped({"report.pdf": b"%PDF-1.7"}))
    assert "holding 'report.pdf', which is not a CSV file" in str(error)


def test_zip_holding_an_empty_csv():
    error = refuse(zipped({MEMBER: b""}))
    assert f"'{MEMBER}' in the ZIP archive is empty" in str(error)


def test_zip_cut_short():
    data = zipped({MEMBER: CSV * 40})
    error = refuse(data[: len(data) // 2])
    assert "cannot be opened" in str(error)
    assert "Download it again" in str(error)


def test_zip_member_damaged():
    data = bytearray(zipped({MEMBER: CSV * 40}))
    middle = 30 + len(MEMBER) + 200  # inside the compressed data
    data[middle : middle + 40] = b"\x00" * 40
    error = refuse(bytes(data))
    assert error.unexpected is None
    assert "cannot be read" in str(error) or "damaged" in str(error)


def test_workbook_is_named():
    error = refuse(
        zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"})
    )
    assert "This is an Excel workbook (.xlsx)" in str(error)


def test_zip_of_a_generic_csv_is_read_too():
    data = (FIXTURE.parent / "generic_walmart.csv").read_bytes()
    header, _rows = read(zipped({"settlement.csv": data}))
    assert header.layout == "generic_csv"
