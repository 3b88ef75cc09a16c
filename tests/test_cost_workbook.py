"""The costs workbook (core/cost_workbook.py): written with xlsxwriter, filled
in with openpyxl as a person would, read back."""

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter

from connectbooks_goflow.core.cost_workbook import (
    COLUMN_INDEX,
    COLUMNS,
    FILE_NOT_COSTS,
    FILE_NOT_XLSX,
    FILE_OTHER_DATABASE,
    FILE_UNREADABLE,
    FILE_XLS,
    FILE_XLSM,
    MAX_LISTED_ERRORS,
    ROW_BAD_FLAG,
    ROW_BAD_KEY,
    ROW_DUPLICATE,
    ROW_FORMULA,
    ROW_NEGATIVE,
    ROW_NO_KEY,
    ROW_NO_PREFILL,
    ROW_NOT_A_NUMBER,
    ROW_TEXT,
    ROW_TOO_LARGE,
    WORKBOOK_OPTIONS,
    WorkbookError,
    _data_rows,
    _data_rows_openpyxl,
    _row_number,
    parse_key,
    read_workbook,
    row_key,
    write_workbook,
)

SECRET = b"test-secret-of-database-a"
OTHER_SECRET = b"test-secret-of-database-b"
UNIT = COLUMN_INDEX["unit_cost"] + 1  # openpyxl columns are 1-based
FLAG = COLUMN_INDEX["use_prefill"] + 1
KEY = 1
FIRST = 3  # first data row


def row(line_id, sku="MUG-1", prefill=Decimal("4.2"), unit_cost=None, **values):
    base = {
        "settlement": "Amazon US 1001",
        "posted_date": date(2025, 1, 10),
        "kind": "order",
        "order_ref": f"111-{line_id:07d}",
        "adjustment_ref": "",
        "product": "[MUG-1] Mug",
        "quantity": 2.0,
        "missing_reason": "no_goflow_cost",
        "basis": "Goflow average" if prefill is not None else "no cost known",
        "source": None,
    }
    base.update(values)
    return (
        line_id,
        base["settlement"],
        base["posted_date"],
        base["kind"],
        base["order_ref"],
        base["adjustment_ref"],
        sku,
        base["product"],
        base["quantity"],
        base["missing_reason"],
        prefill,
        base["basis"],
        unit_cost,
        base["source"],
    )


def build(rows, secret=SECRET, labels=None):
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    written = write_workbook(workbook, rows, secret, labels)
    workbook.close()
    return buffer.getvalue(), written


def fill(data, cells, sheet=None):
    """Set ``{(row, col): value}`` with openpyxl and save, as a person's
    spreadsheet program would."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    ws = workbook[sheet] if sheet else workbook.worksheets[0]
    for (r, c), value in cells.items():
        ws.cell(r, c).value = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def codes(result):
    return [(e.row, e.column, e.code) for e in result.errors]


# --- keys ----------------------------------------------------------------------


def test_key_round_trip_and_tamper():
    key = row_key(SECRET, 42, Decimal("4.2"))
    assert key.startswith("42:4.2000:")
    assert parse_key(SECRET, key) == (42, Decimal("4.2000"))
    assert parse_key(OTHER_SECRET, key) is None, "another database's secret"
    assert parse_key(SECRET, key.replace("42:", "43:", 1)) is None, "id changed"
    assert parse_key(SECRET, key.replace("4.2000", "1.0000")) is None, "pre-fill"
    assert parse_key(SECRET, row_key(SECRET, 7, None)) == (7, None)
    assert parse_key(SECRET, "garbage") is None
    assert parse_key(SECRET, 42) is None


# --- writer --------------------------------------------------------------------


def test_writer_layout_protection_and_validation():
    rows = [
        row(1),
        row(2, sku="TEA", prefill=None),
        row(3, unit_cost=5.5, source="goflow", missing_reason=None, prefill=None),
    ]
    data, written = build(rows)
    assert written == 3
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Costs", "Instructions"]
    ws = workbook["Costs"]
    assert ws.row_dimensions[1].hidden, "the code row is hidden"
    assert ws.column_dimensions["A"].hidden, "the key column is hidden"
    assert ws.protection.sheet, "the sheet is protected"
    assert not ws.protection.password, "without a password"
    headers = [ws.cell(2, c + 1).value for c in range(len(COLUMNS))]
    assert headers == [column.header for column in COLUMNS]
    assert ws.cell(1, UNIT).value == "unit_cost"
    assert parse_key(SECRET, ws.cell(FIRST, KEY).value) == (1, Decimal("4.2"))
    assert ws.cell(FIRST, KEY).protection.locked, "key locked"
    assert ws.cell(FIRST, COLUMN_INDEX["sku"] + 1).protection.locked
    assert not ws.cell(FIRST, UNIT).protection.locked, "Unit Cost unlocked"
    assert ws.cell(FIRST, UNIT).value is None, "Unit Cost starts empty"
    assert not ws.cell(FIRST, FLAG).protection.locked
    assert ws.cell(FIRST, FLAG).value == "No"
    assert ws.cell(FIRST, COLUMN_INDEX["prefill_cost"] + 1).value == 4.2
    assert ws.cell(FIRST, COLUMN_INDEX["posted_date"] + 1).value.date() == date(
        2025, 1, 10
    )
    assert ws.cell(FIRST, COLUMN_INDEX["missing_reason"] + 1).value == (
        "No cost in Goflow"
    )
    assert ws.cell(FIRST + 1, FLAG).value is None, "no pre-fill: nothing to use"
    assert ws.cell(FIRST + 1, FLAG).protection.locked
    costed = FIRST + 2
    assert ws.cell(costed, COLUMN_INDEX["current_cost"] + 1).value == 5.5
    assert ws.cell(costed, COLUMN_INDEX["source"] + 1).value == "Goflow"
    assert ws.cell(costed, UNIT).protection.locked, "a costed line is not typed over"
    validations = {str(v.sqref): v for v in ws.data_validations.dataValidation}
    unit_letter = openpyxl.utils.get_column_letter(UNIT)
    decimal = validations[f"{unit_letter}{FIRST}:{unit_letter}{costed}"]
    assert (decimal.type, decimal.operator or "between", decimal.formula1) == (
        "decimal",
        "between",
        "0",
    ), "a number >= 0 (between is Excel's default operator)"
    instructions = workbook["Instructions"]
    assert instructions["A1"].value == "How to fill in this workbook"
    assert "Unit Cost" in instructions["A4"].value


def test_writer_keeps_formula_like_text_as_text():
    data, _written = build([row(1, sku='=HYPERLINK("http://x","y")')])
    ws = openpyxl.load_workbook(io.BytesIO(data))["Costs"]
    cell = ws.cell(FIRST, COLUMN_INDEX["sku"] + 1)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x","y")', "s")


def test_writer_translated_labels():
    labels = {
        "sheet_costs": "Coûts",
        "yes": "Oui",
        "no": "Non",
        "headers": {"unit_cost": "Coût unitaire"},
    }
    data, _written = build([row(1)], labels=labels)
    ws = openpyxl.load_workbook(io.BytesIO(data))["Coûts"]
    assert ws.cell(2, UNIT).value == "Coût unitaire"
    assert ws.cell(FIRST, FLAG).value == "Non"


# --- reader: rows --------------------------------------------------------------


def test_round_trip_typed_prefill_and_untouched():
    data, _written = build([row(1), row(2), row(3), row(4, prefill=None)])
    filled = fill(
        data,
        {
            (FIRST, UNIT): 3.75,  # typed
            (FIRST + 1, FLAG): "Yes",  # take the pre-fill
            (FIRST + 3, UNIT): 0,  # a typed 0 is a 0
        },
    )
    result = read_workbook(filled, SECRET)
    assert result.error_count == 0, codes(result)
    assert result.rows_read == 4
    assert result.sheet == "Costs"
    got = [(r.line_id, r.row, r.unit_cost, r.use_prefill) for r in result.rows]
    assert got == [
        (1, FIRST, Decimal("3.75"), False),
        (2, FIRST + 1, None, True),
        (4, FIRST + 3, Decimal(0), False),
    ], "row 3 untouched is left alone"
    assert result.rows[1].prefill == Decimal("4.2")


def test_typed_cost_wins_over_use_prefill():
    data, _written = build([row(1)])
    filled = fill(data, {(FIRST, UNIT): 5, (FIRST, FLAG): "Yes"})
    (only,) = read_workbook(filled, SECRET).rows
    assert (only.unit_cost, only.use_prefill) == (Decimal(5), False)


def test_flag_words_of_the_uploader_language():
    data, _written = build([row(1), row(2), row(3)])
    filled = fill(
        data, {(FIRST, FLAG): "oui", (FIRST + 1, FLAG): True, (FIRST + 2, FLAG): "Non"}
    )
    result = read_workbook(
        filled, SECRET, {"yes_labels": ["Oui"], "no_labels": ["Non"]}
    )
    assert [r.line_id for r in result.rows] == [1, 2]


def test_columns_found_by_code_when_moved():
    data, _written = build([row(1)])
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    ws = workbook["Costs"]
    ws.protection.sheet = False
    ws.insert_cols(3)  # a column added in front of Unit Cost
    ws.cell(FIRST, UNIT + 1).value = 2.5
    out = io.BytesIO()
    workbook.save(out)
    (only,) = read_workbook(out.getvalue(), SECRET).rows
    assert only.unit_cost == Decimal("2.5")


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({(FIRST, UNIT): -1.5}, (FIRST, "O", ROW_NEGATIVE)),
        ({(FIRST, UNIT): "abc"}, (FIRST, "O", ROW_TEXT)),
        ({(FIRST, UNIT): "12.50"}, (FIRST, "O", ROW_TEXT)),
        ({(FIRST, UNIT): "=1+2"}, (FIRST, "O", ROW_FORMULA)),
        ({(FIRST, UNIT): '=WEBSERVICE("http://x")'}, (FIRST, "O", ROW_FORMULA)),
        ({(FIRST, UNIT): True}, (FIRST, "O", ROW_NOT_A_NUMBER)),
        ({(FIRST, UNIT): date(2025, 1, 1)}, (FIRST, "O", ROW_NOT_A_NUMBER)),
        ({(FIRST, UNIT): 1e12}, (FIRST, "O", ROW_TOO_LARGE)),
        ({(FIRST, FLAG): "maybe"}, (FIRST, "P", ROW_BAD_FLAG)),
        (
            {(FIRST, KEY): "1:4.2000:000000000000000000000000"},
            (FIRST, "A", ROW_BAD_KEY),
        ),
        (
            {(FIRST, KEY): row_key(SECRET, 2, Decimal("4.2"))},
            (FIRST + 1, "A", ROW_DUPLICATE),
        ),
        ({(FIRST + 5, UNIT): 3}, (FIRST + 5, "A", ROW_NO_KEY)),
    ],
)
def test_bad_rows(cells, expected):
    data, _written = build([row(1), row(2)])
    result = read_workbook(fill(data, cells), SECRET)
    assert codes(result) == [expected]
    assert result.error_count == 1


def test_use_prefill_without_one():
    data, _written = build([row(1, prefill=None)])
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    workbook["Costs"].cell(FIRST, FLAG).value = "Yes"
    out = io.BytesIO()
    workbook.save(out)
    result = read_workbook(out.getvalue(), SECRET)
    assert codes(result) == [(FIRST, "P", ROW_NO_PREFILL)]


def test_formula_is_never_evaluated():
    """The cached value a spreadsheet program stores with a formula is not
    read: only the formula's text, refused."""
    data, _written = build([row(1)])
    filled = fill(data, {(FIRST, UNIT): "=2*3"})
    result = read_workbook(filled, SECRET)
    assert result.errors[0].params == {"formula": "=2*3"}
    assert not result.rows


def test_many_errors_first_fifty_listed_then_counted():
    data, _written = build([row(i) for i in range(1, 3001)])
    filled = fill(data, {(FIRST + i, UNIT): -1 for i in range(3000)})
    result = read_workbook(filled, SECRET)
    assert result.error_count == 3000
    assert len(result.errors) == MAX_LISTED_ERRORS
    assert [e.row for e in result.errors[:3]] == [FIRST, FIRST + 1, FIRST + 2]


# --- reader: files -------------------------------------------------------------


def _zip(parts):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _as_xlsm(data):
    source = zipfile.ZipFile(io.BytesIO(data))
    parts = {name: source.read(name) for name in source.namelist()}
    parts["[Content_Types].xml"] = (
        parts["[Content_Types].xml"]
        .decode()
        .replace(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        )
    )
    parts["xl/vbaProject.bin"] = b"\x00" * 16
    return _zip(parts)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, FILE_XLS),
        (b"settlement,sku,unit cost\n1001,MUG-1,2.5\n", FILE_NOT_XLSX),
        (PNG, FILE_NOT_XLSX),
        (b"", FILE_NOT_XLSX),
        (
            _zip({"word/document.xml": "<w/>", "[Content_Types].xml": "<T/>"}),
            FILE_NOT_XLSX,
        ),
        (b"PK\x03\x04" + b"\x00" * 100, FILE_UNREADABLE),
    ],
)
def test_not_an_xlsx(content, code):
    with pytest.raises(WorkbookError) as caught:
        read_workbook(content, SECRET)
    assert caught.value.code == code


def test_xlsm_refused():
    data, _written = build([row(1)])
    with pytest.raises(WorkbookError) as caught:
        read_workbook(_as_xlsm(data), SECRET)
    assert caught.value.code == FILE_XLSM


def test_other_database():
    data, _written = build([row(1)], secret=OTHER_SECRET)
    with pytest.raises(WorkbookError) as caught:
        read_workbook(fill(data, {(FIRST, UNIT): 2}), SECRET)
    assert caught.value.code == FILE_OTHER_DATABASE


def test_some_other_workbook():
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "SKU"
    workbook.active["B1"] = "Unit Cost"
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(WorkbookError) as caught:
        read_workbook(out.getvalue(), SECRET)
    assert caught.value.code == FILE_NOT_COSTS


# --- reader: the sheet's cells -------------------------------------------------

# Rows as no spreadsheet program writes them, but a file may hold them: rows
# and cells without their ``r``, rows out of order, a cell after the last one
# of its row, inline and shared strings, booleans, errors, dates by their
# style, a shared formula whose first cell is in a column the reader skips.
ODD_ROWS = """<sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>codes</t></is></c></row>
<row r="3"><c r="A3" t="inlineStr"><is><t>k3</t></is></c>\
<c r="B3" t="inlineStr"><is><t>te</t><t>xt</t></is></c><c r="C3"><v>2.5</v></c>\
<c r="D3" t="s"><v>0</v></c></row>
<row><c t="str"><v>k4</v></c><c/><c><v>7</v></c><c t="inlineStr"><is><t>no</t></is></c>\
</row>
<row r="6"><c r="B6"><f t="shared" ref="B6:C7" si="0">A6*2</f><v>0</v></c>\
<c r="C6"><f t="shared" si="0"/><v>0</v></c></row>
<row r="7"><c r="B7"><f t="shared" si="0"/><v>0</v></c>\
<c r="C7"><f t="shared" si="0"/><v>0</v></c><c r="D7"><f>SUM(B7:C7)</f></c></row>
<row r="5"><c r="A5" t="inlineStr"><is><t>out of order</t></is></c></row>
<row r="8.0"><c r="C8" t="b"><v>1</v></c><c r="A8" t="e"><v>#N/A</v></c></row>
<row r="9"><c r="a9" s="{date}"><v>45000</v></c><c r="D9" s="{date}"><v>45000.5</v></c>\
</row>
<row r="10"/>
<row r="11" spans="1:4"><c r="A11" t="d"><v>2025-01-02T00:00:00</v></c>\
<c r="C11"><v>1E3</v></c><c r="C11"><v>4</v></c><c r="D11" t="b"><v>0</v></c></row>
</sheetData>"""


def _odd_workbook():
    """A workbook whose first sheet holds :data:`ODD_ROWS`."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out)  # strings shared, as Excel saves them
    sheet = workbook.add_worksheet("Costs")
    sheet.write_string(0, 0, "Yes")  # shared string 0
    sheet.write_datetime(
        1, 0, datetime(2025, 1, 1), workbook.add_format({"num_format": "yyyy-mm-dd"})
    )
    workbook.close()
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    parts = {name: source.read(name) for name in source.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    date_style = xml.split('<c r="A2"', 1)[1].split('s="', 1)[1].split('"', 1)[0]
    start, end = xml.index("<sheetData>"), xml.index("</sheetData>") + 12
    parts["xl/worksheets/sheet1.xml"] = (
        xml[:start] + ODD_ROWS.format(date=date_style) + xml[end:]
    )
    return _zip(parts)


@pytest.mark.parametrize("columns", [(0, 2, 3), (2,), (3, 0), (1, 2), (0, 6)])
def test_cells_read_as_openpyxl_reads_them(columns):
    """The reader converts only the cells it needs; what it gets is what
    openpyxl's read-only ``iter_rows`` gives for them."""
    data = _odd_workbook()
    fast = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    public = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    for workbook in (fast, public):
        workbook.worksheets[0].reset_dimensions()
    rows = list(_data_rows(fast, fast.worksheets[0], columns))
    expected = [
        (number, values)
        for number, values in _data_rows_openpyxl(public.worksheets[0], columns)
        if any(value is not None for value in values)
    ]
    assert [(n, v) for n, v in rows if any(x is not None for x in v)] == expected
    assert [number for number, _values in rows] == [3, 4, 6, 7, 8, 9, 10, 11]
    by_row = dict(rows)
    if columns == (0, 2, 3):
        assert by_row[3] == ["k3", 2.5, "Yes"]
        assert by_row[4] == ["k4", 7, "no"]
        assert by_row[7] == [None, "=B7*2", "=SUM(B7:C7)"]
        assert by_row[8] == ["#N/A", None, None]  # C8 is after A8, the last
        assert by_row[11][1:] == [4, False]
        assert isinstance(by_row[9][0], datetime)


def test_row_numbers():
    assert _row_number("12") == 12
    assert _row_number("12.0") == 12
    with pytest.raises(ValueError):
        _row_number("12.5")
    with pytest.raises(ValueError):
        _row_number("x")


def test_shared_formula_from_a_column_not_read():
    """A Unit Cost holding a formula shared from a column the reader skips
    is refused with the formula's text."""
    data, _written = build([row(1), row(2)])
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    workbook["Costs"].protection.sheet = False
    out = io.BytesIO()
    workbook.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    parts = {name: source.read(name) for name in source.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    # N3 (Source, not read) starts a formula shared by N3:O3, O3 is Unit Cost
    xml = re.sub(
        r'<c r="O3"([^>]*?)(/>|></c>)',
        r'<c r="N3"><f t="shared" ref="N3:O3" si="0">M3*2</f></c>'
        r'<c r="O3"\1><f t="shared" si="0"/></c>',
        xml,
        count=1,
    )
    parts["xl/worksheets/sheet1.xml"] = xml
    result = read_workbook(_zip(parts), SECRET)
    assert codes(result) == [(FIRST, "O", ROW_FORMULA)]
    assert result.errors[0].params == {"formula": "=N3*2"}
