"""The COGS workbook rows and writer (core/cogs_workbook.py), read back with
openpyxl."""

import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter

from connectbooks_goflow.core.cogs_workbook import (
    COGS_COLUMNS,
    MISSING_STYLE,
    SKU_COLUMNS,
    SUMMARY_COLUMNS,
    WORKBOOK_OPTIONS,
    cogs_rows,
    excel_date,
    sku_totals,
    write_workbook,
)

FORMULA_SKU = '=HYPERLINK("http://x","y")'
SYNCED = datetime(2025, 1, 20, 9, 30)


def line(
    kind="order",
    order="111-0000001",
    sku="MUG-1",
    qty=1.0,
    unit=2.5,
    total=None,
    state="costed",
    source="goflow",
    adjustment="",
    product=None,
    posted=date(2025, 1, 10),
    synced=SYNCED,
):
    if total is None:
        total = 0.0 if state == "missing" else round(qty * unit, 2)
    return (
        posted,
        kind,
        order,
        adjustment,
        sku,
        product,
        qty,
        None if state == "missing" else unit,
        total,
        None if state == "missing" else source,
        state,
        synced,
    )


def settlement(lines, **values):
    data = {
        "name": "Amazon US 1000001",
        "store": "Amazon US",
        "settlement_ref": "1000001",
        "currency": "USD",
        "decimals": 2,
        "period_start": datetime(2025, 1, 1),
        "period_end": datetime(2025, 1, 15),
        "deposit_date": date(2025, 1, 17),
        "deposit": 1234.56,
        "state": "draft",
        "posted_with_estimates": False,
        "booked_cogs": None,
        "products": {7: "[MUG-1] Blue mug"},
        "lines": lines,
    }
    data.update(values)
    return data


def render(settlements, **kwargs):
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    result = write_workbook(workbook, settlements, **kwargs)
    workbook.close()
    buffer.seek(0)
    return openpyxl.load_workbook(buffer, data_only=True), result


def values(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def mixed():
    return settlement(
        [
            line(sku="MUG-1", qty=2, unit=6.25, product=7),
            line(sku="MUG-1", order="111-0000002", qty=1, unit=5.3333),
            line(kind="refund", sku="MUG-1", qty=-1, unit=6.25, total=-6.25),
            line(sku="TEA-1", order="111-0000003", qty=3, state="missing"),
            line(
                kind="adjustment",
                order="",
                adjustment="A-9",
                sku=FORMULA_SKU,
                qty=1,
                state="missing",
            ),
        ]
    )


def test_rows_label_missing_and_blank_their_cost(mixed):
    rows = list(cogs_rows(mixed))
    assert len(rows) == 5, "one row per cost line"
    first, _missing = rows[0]
    assert first == (
        "Amazon US 1000001",
        date(2025, 1, 10),
        "Order",
        "111-0000001",
        "",
        "MUG-1",
        "[MUG-1] Blue mug",
        2,
        6.25,
        12.5,
        "Goflow",
        "Costed",
        SYNCED,
    )
    flags = [missing for _values, missing in rows]
    assert flags == [False, False, False, True, True]
    missing_row = rows[3][0]
    assert missing_row[11] == "Missing cost", "missing rows read 'Missing cost'"
    assert missing_row[8] is None and missing_row[9] is None, (
        "a missing cost is unknown, not 0"
    )
    assert rows[2][0][2] == "Refund" and rows[2][0][9] == -6.25


def test_rows_use_given_labels(mixed):
    rows = list(
        cogs_rows(
            mixed,
            {"missing_cost": "Coût manquant", "kind": {"order": "Commande"}},
        )
    )
    assert rows[0][0][2] == "Commande", "translated kind"
    assert rows[2][0][2] == "Refund", "labels not given keep the English default"
    assert rows[3][0][11] == "Coût manquant"


def test_sku_totals(mixed):
    totals = {total.sku: total for total in sku_totals([mixed])}
    mug = totals["MUG-1"]
    assert mug.quantity == 2, "2 + 1 sold, 1 back"
    assert mug.total_cost == Decimal("11.58"), "12.50 + 5.33 - 6.25, exact"
    assert (mug.lines, mug.missing) == (3, 0)
    assert mug.product == "[MUG-1] Blue mug"
    tea = totals["TEA-1"]
    assert (tea.missing, tea.missing_quantity, tea.total_cost) == (1, 3, 0)


def test_totals_are_exact_over_many_lines():
    lines = [line(order=f"O-{i}", qty=1, unit=0.1) for i in range(1000)]
    (total,) = sku_totals([settlement(lines)])
    assert total.total_cost == Decimal("100.00"), "no float drift over 1000 x 0.10"


def test_workbook_sheets_headers_and_rows(mixed):
    book, result = render([mixed])
    assert book.sheetnames == ["COGS", "By SKU", "Summary"]
    cogs = book["COGS"]
    rows = values(cogs)
    assert rows[0] == [c.header for c in COGS_COLUMNS]
    assert len(rows) == 1 + 5 + 1, "header, a row per cost line, totals"
    assert rows[1][1] == datetime(2025, 1, 10), "posted date is a date cell"
    assert cogs["B2"].number_format == "yyyy-mm-dd"
    assert rows[1][12] == SYNCED, "sync time shown in UTC without tz"
    assert cogs.freeze_panes == "A2", "frozen header"
    assert cogs.auto_filter.ref == "A1:M6", "autofilter over header and lines"
    assert cogs.column_dimensions["G"].width > 30, "product column is wide"
    total_row = rows[-1]
    assert total_row[0] == "Total"
    assert total_row[9] == pytest.approx(11.58), "total of the cost lines"
    assert total_row[7] == 6, "net units"
    assert total_row[11] == "2 missing"
    assert cogs["J7"].value == pytest.approx(11.58)
    ((_data, total),) = result
    assert total.total_cost == Decimal("11.58") and total.missing == 2


def test_totals_row_is_a_subtotal_formula(mixed):
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    write_workbook(workbook, [mixed])
    workbook.close()
    buffer.seek(0)
    cogs = openpyxl.load_workbook(buffer)["COGS"]
    assert cogs["J7"].value == "=SUBTOTAL(9,J2:J6)", "follows the autofilter"


def test_missing_rows_are_highlighted(mixed):
    book, _result = render([mixed])
    cogs = book["COGS"]
    fill = MISSING_STYLE["bg_color"].lstrip("#").upper()
    for row in (5, 6):
        for col in "AFIJL":
            cell = cogs[f"{col}{row}"]
            assert cell.fill.fgColor.rgb.endswith(fill), f"{cell.coordinate} marked"
    assert not cogs["A2"].fill.fgColor.rgb.endswith(fill), "costed row not marked"
    assert cogs["L5"].value == "Missing cost"
    assert cogs["J5"].value is None, "no cost written for a missing line"


def test_formula_like_text_stays_text(mixed):
    book, _result = render([mixed])
    cell = book["COGS"]["F6"]
    assert cell.value == FORMULA_SKU
    assert cell.data_type == "s", "a SKU starting with '=' is a string cell"
    urlish = settlement([line(sku="http://example.com/x", order="=1+1")])
    cogs = render([urlish])[0]["COGS"]
    assert cogs["F2"].data_type == "s" and cogs["F2"].hyperlink is None
    assert cogs["D2"].value == "=1+1" and cogs["D2"].data_type == "s"


def test_money_in_currency_decimals():
    yen = settlement([line(qty=2, unit=150.0, total=300.0)], currency="JPY", decimals=0)
    cogs = render([yen])[0]["COGS"]
    assert cogs["J2"].number_format == "#,##0"
    assert cogs["I2"].number_format == "#,##0.0000", "unit costs keep 4 decimals"
    usd = render([settlement([line()])])[0]["COGS"]
    assert usd["J2"].number_format == "#,##0.00"


def test_by_sku_sheet(mixed):
    sheet = render([mixed])[0]["By SKU"]
    rows = values(sheet)
    headers = [c.header for c in SKU_COLUMNS if c.key != "currency"]
    assert rows[0] == headers, "currency column only when currencies differ"
    by_sku = {row[0]: row for row in rows[1:-1]}
    assert by_sku["MUG-1"][2:] == [2, pytest.approx(11.58), 3, 0, 0]
    assert by_sku["TEA-1"][2:] == [3, 0, 1, 1, 3]
    assert rows[-1][0] == "Total" and rows[-1][3] == pytest.approx(11.58)
    assert rows[-1][5] == 2, "missing count per SKU adds up"
    assert sheet.freeze_panes == "A2"


def test_summary_sheet(mixed):
    posted = settlement(
        [line(qty=1, unit=4.0)],
        settlement_ref="1000002",
        name="Amazon US 1000002",
        state="posted",
        posted_with_estimates=True,
        booked_cogs=4.0,
    )
    sheet = render([mixed, posted])[0]["Summary"]
    rows = values(sheet)
    assert rows[0] == [c.header for c in SUMMARY_COLUMNS]
    first, second = rows[1], rows[2]
    assert first[:2] == ["Amazon US", "1000001"]
    assert first[2] == datetime(2025, 1, 1) and first[4] == datetime(2025, 1, 17)
    assert first[6] == pytest.approx(1234.56), "the deposit"
    assert first[7] == pytest.approx(11.58), "total COGS"
    assert first[8:11] == [5, 2, 4], "cost lines, missing lines, units"
    assert first[11:14] == ["Draft", "No", None]
    assert second[11:14] == ["Posted", "Yes", 4.0], "booked COGS when posted"


def test_two_settlements_one_sheet(mixed):
    other = settlement([line(order="222-1", qty=1, unit=1.0)], name="Amazon US 1000002")
    book, _result = render([mixed, other])
    rows = values(book["COGS"])
    assert len(rows) == 1 + 6 + 1
    assert {row[0] for row in rows[1:-1]} == {"Amazon US 1000001", "Amazon US 1000002"}
    assert rows[-1][9] == pytest.approx(12.58)


def test_mixed_currencies_total_per_currency(mixed):
    euro = settlement(
        [line(order="EU-1", qty=1, unit=3.0)], currency="EUR", name="Amazon DE 9"
    )
    book, _result = render([mixed, euro])
    rows = values(book["COGS"])
    assert [row[0] for row in rows[-2:]] == ["Total EUR", "Total USD"]
    assert rows[-2][9] == 3.0 and rows[-1][9] == pytest.approx(11.58)
    sku_rows = values(book["By SKU"])
    assert "Currency" in sku_rows[0]


def test_times_shown_in_the_given_zone():
    tz = timezone(timedelta(hours=-5))
    book, _result = render([settlement([line()])], tz=tz)
    assert book["COGS"]["M2"].value == datetime(2025, 1, 20, 4, 30)
    assert book["COGS"]["B2"].value == datetime(2025, 1, 10), "dates unchanged"


def test_empty_settlement():
    book, result = render([settlement([])])
    rows = values(book["COGS"])
    assert len(rows) == 2 and rows[-1][0] == "Total" and rows[-1][9] == 0
    assert result[0][1].lines == 0


def test_excel_date():
    assert excel_date(date(1900, 3, 1)) == 61
    assert excel_date(datetime(2025, 1, 1, 12)) == excel_date(date(2025, 1, 1)) + 0.5
    assert excel_date(None) is None
