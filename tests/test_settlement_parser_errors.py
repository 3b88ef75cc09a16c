"""Malformed settlement files: refused as a whole, every problem located.

Each case starts from the well-formed ``amazon_v2_us.txt`` (line 1 header,
line 2 summary, line 3 the reserve released, line 4 the first order row) and
breaks one thing.
"""

import gzip
import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from connectbooks_goflow.core import settlement_const as const
from connectbooks_goflow.core import settlement_parser
from connectbooks_goflow.core.settlement_parser import (
    SettlementFileError,
    SettlementIssue,
    SettlementReader,
    read_settlement,
)

DATA = Path(__file__).parent / "data" / "settlements"
BASE = (DATA / "amazon_v2_us.txt").read_text("utf-8").splitlines()
COLUMNS = BASE[0].split("\t")


def set_field(lines, line_no, column, value):
    """Copy of ``lines`` with ``column`` of file line ``line_no`` replaced."""
    lines = list(lines)
    fields = lines[line_no - 1].split("\t")
    fields[COLUMNS.index(column)] = value
    lines[line_no - 1] = "\t".join(fields)
    return lines


def drop_column(lines, column):
    index = COLUMNS.index(column)
    out = []
    for line in lines:
        fields = line.split("\t")
        del fields[index]
        out.append("\t".join(fields))
    return out


def to_bytes(lines, encoding="utf-8"):
    return ("\n".join(lines) + "\n").encode(encoding)


def refuse(data, **kwargs):
    """Parse ``data`` completely; return the SettlementFileError raised."""
    with pytest.raises(SettlementFileError) as info:
        read_settlement(io.BytesIO(data), filename="broken.txt", **kwargs)
    return info.value


def assert_issue(error, line, column, *words):
    """``error`` lists an issue at ``line``/``column`` whose text has ``words``."""
    text = str(error)
    for issue in error.errors:
        if issue.line == line and issue.column == column:
            located = str(issue)
            assert all(w in located for w in words), located
            assert located in text, "the message lists the issue"
            prefix = f"line {line}" if line is not None else ""
            if column:
                prefix += f", column '{column}'" if prefix else f"column '{column}'"
            assert located.startswith(prefix), located
            return issue
    raise AssertionError(f"no issue at line {line}, column {column!r} in:\n{text}")


# --- Header --------------------------------------------------------------------


def test_wrong_header_another_report():
    data = (
        b'"date/time","settlement id","type","order id","sku","description",'
        b'"quantity","total"\n"Mar 2, 2024 2:22:31 PM PST","24010823451",'
        b'"Order","112-4455667-1234567","BLU-MUG-12OZ","Blue mug","2","39.98"\n'
    )
    error = refuse(data)
    # The transaction report shares a few names only: the rest are named.
    assert_issue(error, 1, "total_amount", "required column is missing")
    assert_issue(error, 1, "amount", "required column is missing")
    assert_issue(error, 1, None, "posted_date or posted_date_time")


def test_header_with_no_known_column():
    error = refuse(b"name\tvalue\nfoo\t1\n")
    issue = assert_issue(error, 1, None, "not a settlement file", "settlement-id")
    assert issue.message.endswith("separated by tab.")


@pytest.mark.parametrize(
    "column", ["amount", "total-amount", "settlement-id", "sku", "quantity-purchased"]
)
def test_missing_required_column(column):
    error = refuse(to_bytes(drop_column(BASE, column)))
    assert_issue(error, 1, column, "required column is missing")
    assert len(error.errors) == 1


def test_missing_both_posted_date_columns():
    lines = drop_column(BASE, "posted-date-time")  # the later column first
    lines = drop_column(lines, "posted-date")
    error = refuse(to_bytes(lines))
    assert_issue(error, 1, None, "posted-date or posted-date-time")


def test_duplicate_header_column():
    lines = list(BASE)
    lines[0] = lines[0].replace("\tpromotion-id", "\tsku")
    error = refuse(to_bytes(lines))
    assert_issue(error, 1, "sku", "appears twice", "columns 22 and 24")


def test_header_only():
    error = refuse(to_bytes(BASE[:1]))
    assert_issue(error, 1, None, "no settlement rows")


def test_header_and_blank_lines_only():
    error = refuse(to_bytes([BASE[0], "", "   ", ""]))
    assert_issue(error, 4, None, "no settlement rows")


# --- Empty and binary files ----------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\n", b"  \r\n\t\r\n", b"\xef\xbb\xbf"])
def test_empty_file(data):
    error = refuse(data)
    assert error.errors == [SettlementIssue(None, None, "The file is empty.")]
    assert "broken.txt" in str(error)


def test_binary_file_with_nul_bytes():
    data = b"settlement-id\x00\x00\x01\x02\n\x89\x00\xff\xfe" * 20
    error = refuse(data)
    assert_issue(error, 1, None, "binary")


def test_nul_bytes_later_in_the_file():
    data = to_bytes(BASE[:6]) + b"\x00" * 10 + b"\n" + to_bytes(BASE[6:])
    error = refuse(data)
    assert_issue(error, 7, None, "NUL")


@pytest.mark.parametrize(
    ("magic", "what"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook (.xlsx)"),
        (b"%PDF-1.7\n", "PDF"),
        (b"\x1f\x8b\x08\x00", "gzip"),
    ],
)
def test_spreadsheets_and_archives(magic, what):
    error = refuse(magic + b"\x00rest of the file")
    assert what in str(error)


def test_undecodable_bytes_after_utf8_text():
    """Valid UTF-8 accents first, then a lone 0xE9: mixed encodings."""
    lines = set_field(BASE, 33, "amount-description", "Régularisation")
    fields = BASE[34].split("\t")
    fields[13] = "Caf\xe9"
    data = to_bytes(lines[:34]) + "\t".join(fields).encode("latin-1")
    error = refuse(data)
    assert_issue(error, 35, None, "not valid UTF-8")


# --- Summary row -----------------------------------------------------------------


def test_missing_total_amount():
    error = refuse(to_bytes(set_field(BASE, 2, "total-amount", "")))
    assert_issue(error, 2, "total-amount", "empty on the summary row")


def test_missing_settlement_id_on_summary():
    error = refuse(to_bytes(set_field(BASE, 2, "settlement-id", "")))
    assert_issue(error, 2, "settlement-id", "empty")


def test_missing_currency():
    error = refuse(to_bytes(set_field(BASE, 2, "currency", "")))
    assert_issue(error, 2, "currency", "empty")


def test_bad_deposit_date():
    error = refuse(to_bytes(set_field(BASE, 2, "deposit-date", "17/03/2024")))
    assert_issue(error, 2, "deposit-date", "'17/03/2024' is not a date")


def test_settlement_ends_before_it_starts():
    lines = set_field(BASE, 2, "settlement-end-date", "2024-02-15T07:00:00+00:00")
    error = refuse(to_bytes(lines))
    assert_issue(error, 2, "settlement-end-date", "ends before it starts")


def test_bad_total_amount():
    error = refuse(to_bytes(set_field(BASE, 2, "total-amount", "12x.20")))
    assert_issue(error, 2, "total-amount", "'12x.20' is not a number")


# --- Transaction rows ------------------------------------------------------------


def test_two_settlement_ids():
    lines = set_field(BASE, 10, "settlement-id", "24010899999")
    lines = set_field(lines, 11, "settlement-id", "24010899999")
    error = refuse(to_bytes(lines))
    assert_issue(error, 10, "settlement-id", "second settlement id '24010899999'")
    assert len([i for i in error.errors if i.column == "settlement-id"]) == 1


def test_bad_posted_date():
    error = refuse(to_bytes(set_field(BASE, 7, "posted-date", "2024-02-30")))
    assert_issue(error, 7, "posted-date", "'2024-02-30' is not a date")
    # its amount still counts: no "rows do not add up" besides
    assert [(i.line, i.column) for i in error.errors] == [(7, "posted-date")]


def test_bad_posted_date_time():
    lines = set_field(BASE, 8, "posted-date-time", "2024-03-02 25:22:31 UTC")
    error = refuse(to_bytes(lines))
    assert_issue(error, 8, "posted-date-time", "is not a date")


@pytest.mark.parametrize(
    "raw", ["12..5", "abc", "1,2,3", "12.5.6,7", "--3", "1e5", "NaN"]
)
def test_bad_amount(raw):
    error = refuse(to_bytes(set_field(BASE, 5, "amount", raw)))
    assert_issue(error, 5, "amount", f"'{raw}' is not a number")


def test_empty_amount():
    error = refuse(to_bytes(set_field(BASE, 5, "amount", "")))
    assert_issue(error, 5, "amount", "empty")


@pytest.mark.parametrize(
    ("raw", "words"), [("two", "not a number"), ("1.5", "not a whole quantity")]
)
def test_bad_quantity(raw, words):
    error = refuse(to_bytes(set_field(BASE, 4, "quantity-purchased", raw)))
    assert_issue(error, 4, "quantity-purchased", words)


def test_empty_transaction_type():
    error = refuse(to_bytes(set_field(BASE, 9, "transaction-type", "")))
    assert_issue(error, 9, "transaction-type", "empty")


def test_sum_differs_from_total():
    error = refuse(to_bytes(set_field(BASE, 2, "total-amount", "127.25")))
    issue = assert_issue(error, 2, "total-amount", "127.20", "127.25", "0.05")
    assert "difference" in issue.message


def test_missing_row_is_caught_by_the_total():
    lines = BASE[:20] + BASE[21:]
    error = refuse(to_bytes(lines))
    assert_issue(error, 2, "total-amount", "difference")


def test_truncated_last_line():
    data = to_bytes(BASE)[:-40]
    error = refuse(data)
    issue = assert_issue(error, len(BASE), None, "cut short")
    assert "fields but the header has 24" in issue.message


def test_line_with_too_many_fields():
    lines = set_field(BASE, 12, "amount-description", "Commission\tExtra")
    error = refuse(to_bytes(lines))
    assert_issue(error, 12, None, "25 fields", "shifted")
    assert len(error.errors) == 2, "the line, then the total without it"


def test_mixed_decimal_styles():
    error = refuse(to_bytes(set_field(BASE, 6, "amount", "-4,00")))
    assert_issue(error, 6, "amount", "decimal comma", "decimal points")


def test_ambiguous_amount_before_decimal_commas_show():
    """'1.250' read as 1.25 would be wrong once the file shows decimal commas."""
    lines = set_field(BASE, 2, "total-amount", "1.250")
    lines = set_field(lines, 3, "amount", "95,00")
    error = refuse(to_bytes(lines))
    assert_issue(error, 2, "total-amount", "decimal point", "decimal commas (line 3)")


# --- Generic CSV ------------------------------------------------------------------

GENERIC = (DATA / "generic_walmart.csv").read_text("utf-8").splitlines()


def test_generic_repeated_total_differs():
    lines = list(GENERIC)
    lines[5] = lines[5].replace(",87.41,", ",87.42,")
    error = refuse(to_bytes(lines))
    assert_issue(error, 6, "total_amount", "differs from the total amount")


def test_generic_currency_differs():
    lines = list(GENERIC)
    lines[4] = lines[4].replace(",USD,", ",CAD,")
    error = refuse(to_bytes(lines))
    assert_issue(error, 5, "currency", "CAD", "USD")


def test_generic_badly_quoted_field():
    lines = list(GENERIC)
    lines[3] = lines[3].replace('"Referral fee, 13%"', '"Referral fee" 13%')
    error = refuse(to_bytes(lines))
    assert_issue(error, 4, None, "badly quoted")


def test_generic_missing_required_column_uses_file_naming():
    lines = [line.rsplit(",", 0)[0] for line in GENERIC]
    lines[0] = lines[0].replace("transaction_type", "kind")
    error = refuse(to_bytes(lines))
    assert_issue(error, 1, "transaction_type", "required column is missing")


# --- Collection and reporting -------------------------------------------------------


def test_all_problems_in_one_error():
    lines = set_field(BASE, 4, "posted-date", "2024-03-32")
    lines = set_field(lines, 5, "amount", "x")
    lines = set_field(lines, 6, "quantity-purchased", "?")
    error = refuse(to_bytes(lines))
    lines_columns = {(i.line, i.column) for i in error.errors}
    assert {
        (4, "posted-date"),
        (5, "amount"),
        (6, "quantity-purchased"),
    } <= lines_columns
    assert str(error).startswith("'broken.txt' cannot be imported:")


def test_every_problem_of_a_row_is_listed():
    lines = set_field(BASE, 4, "amount", "bad")
    lines = set_field(lines, 4, "posted-date", "bad")
    lines = set_field(lines, 4, "transaction-type", "")
    error = refuse(to_bytes(lines))
    columns = [i.column for i in error.errors if i.line == 4]
    assert columns == ["transaction-type", "amount", "posted-date"]


def test_first_fifty_listed_then_a_count():
    bad = set_field(set_field(BASE, 4, "amount", "bad"), 4, "posted-date", "bad")[3]
    lines = [*BASE[:2], *[bad] * 26, *BASE[2:]]
    error = refuse(to_bytes(lines))
    text = str(error)
    assert error.total == 52, "2 per bad row"
    assert len(error.errors) == 52
    assert text.count("\n  line ") == const.MAX_LISTED_ISSUES
    assert text.rstrip().endswith("... and 2 more")


def test_reading_stops_after_too_many_problems():
    bad = set_field(BASE, 4, "amount", "bad")[3]
    lines = BASE[:2] + [bad] * (const.MAX_KEPT_ISSUES + 500)
    error = refuse(to_bytes(lines))
    assert error.total == const.MAX_KEPT_ISSUES + 1
    assert "Reading stopped here" in str(error.errors[-1])


def test_rows_are_yielded_but_the_error_comes_at_the_end():
    """The caller sees rows while reading and must not trust them before the end."""
    reader = SettlementReader(
        io.BytesIO(to_bytes(set_field(BASE, 2, "total-amount", "1.00")))
    )
    seen = []
    with pytest.raises(SettlementFileError):
        for row in reader:
            seen.append(row)
    assert len(seen) == 34


# --- Files that are not settlements at all: a message, never a traceback ---------


def test_first_line_is_one_huge_field():
    """A 1 MiB first line once reached the csv module's field limit."""
    error = refuse(b"x" * (1 << 20) + b"\n" + to_bytes(BASE))
    issue = assert_issue(error, 1, None, "1,048,576 characters", "at most 65,536")
    assert "not a settlement text file" in issue.message
    assert len(error.errors) == 1


def test_huge_quoted_field_in_a_tab_file():
    lines = set_field(BASE, 9, "amount-description", '"' + "y" * 200_000 + '"')
    error = refuse(to_bytes(lines))
    assert_issue(error, 9, None, "200,155 characters")


def test_a_file_without_line_ends():
    error = refuse(b"settlement-id\t" * 400_000)
    assert_issue(error, 1, None, "more than 65,536 characters")


def test_csv_value_over_the_field_limit():
    """A quote never closed swallows the lines after it: located where it opens."""
    lines = list(GENERIC)
    lines[3] = lines[3].replace('"Referral fee, 13%"', '"Referral fee, 13%')
    lines[4:4] = ["z" * 60_000] * 3
    error = refuse(to_bytes(lines))
    issue = assert_issue(error, 4, None, "longer than 131,072 characters")
    assert "a quote is never closed" in issue.message
    assert len(error.errors) == 1


def _png():
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("settlement.txt", to_bytes(BASE))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (_png(), "This is an image (PNG), not a settlement text file."),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "This is an image (JPEG)"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff", "This is an image (GIF)"),
        (_zip(), "This is a ZIP archive holding 'settlement.txt', which is not"),
        (gzip.compress(to_bytes(BASE))[:300], "This is a gzip archive (.gz)"),
        ("\ufeffx".encode("utf-32"), "This is UTF-32 text"),
    ],
    ids=["png", "jpeg", "gif", "zip", "truncated-gzip", "utf-32"],
)
def test_images_archives_and_other_encodings(data, what):
    error = refuse(data)
    assert [issue.line for issue in error.errors] == [None]
    assert what in str(error)
    assert str(error).startswith("'broken.txt' cannot be imported: 1 problem:")


def test_truncated_gzip_says_what_to_do():
    error = refuse(gzip.compress(to_bytes(BASE))[:100])
    assert "extract that file" in str(error)
    assert "truncated archive cannot be extracted: download it again" in str(error)


def test_text_starting_like_an_image_is_read_as_text():
    """ "BM" opens a BMP image and may open a text line: text stays text."""
    error = refuse(b"BM\tvalue\nfoo\t1\n")
    assert_issue(error, 1, None, "not a settlement file")


def test_utf16_without_byte_order_mark():
    error = refuse(to_bytes(BASE).decode("utf-8").encode("utf-16-le"))
    assert "UTF-16 text without a byte order mark" in str(error)
    assert "Save it as UTF-8" in str(error)


def test_utf16_cut_in_the_middle_of_a_character():
    data = to_bytes(BASE).decode("utf-8").encode("utf-16")
    error = refuse(data[:-1])
    assert_issue(error, len(BASE), None, "ends in the middle of a character")


def test_encoding_that_cannot_be_recognised():
    """0x81 is neither UTF-8 (after ASCII) nor Windows-1252."""
    lines = set_field(BASE, 12, "amount-description", "Commission")
    data = to_bytes(lines[:11]) + lines[11].encode("ascii") + b"\x81\x8d\n"
    error = refuse(data + to_bytes(lines[12:]))
    assert_issue(error, 12, None, "encoding cannot be recognised", "UTF-8")


def test_quantity_over_the_limit():
    error = refuse(to_bytes(set_field(BASE, 4, "quantity-purchased", "99999999999")))
    assert_issue(error, 4, "quantity-purchased", "not a plausible quantity")


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
)
def test_date_out_of_range(raw):
    """Such dates overflowed when converted to UTC by the import."""
    error = refuse(to_bytes(set_field(BASE, 2, "deposit-date", raw)))
    assert_issue(error, 2, "deposit-date", "not a plausible date")


def test_a_fault_of_the_reader_while_reading_rows(monkeypatch):
    def broken(*args):
        raise KeyError("boom")

    monkeypatch.setattr(settlement_parser, "classify", broken)
    error = refuse(to_bytes(BASE))
    assert isinstance(error.unexpected, KeyError)
    assert error.__cause__ is error.unexpected, "the traceback is kept"
    text = str(error)
    assert text.startswith("'broken.txt' cannot be imported: 1 problem:")
    assert "near line 3" in text
    assert "KeyError: 'boom'" in text
    assert "fault of the importer" in text


def test_a_fault_of_the_reader_while_reading_the_header(monkeypatch):
    def broken(raw):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(settlement_parser, "parse_datetime", broken)
    error = refuse(to_bytes(BASE))
    assert isinstance(error.unexpected, ZeroDivisionError)
    assert "ZeroDivisionError: division by zero" in str(error)


def test_a_file_problem_is_not_a_fault_of_the_reader():
    error = refuse(to_bytes(set_field(BASE, 5, "amount", "x")))
    assert error.unexpected is None
