"""The COGS workbook of one or many settlements, without Odoo.

The Odoo report (``report/cogs_xlsx.py``) reads each settlement with a few SQL
queries and hands plain data here; this module turns it into rows and writes
them with xlsxwriter, so the writer can be tested and benchmarked alone.

A settlement is a dict:

``name``, ``store``, ``settlement_ref``, ``currency`` (code), ``decimals``
(the currency's decimal places), ``period_start``, ``period_end`` (naive UTC
datetimes or None), ``deposit_date`` (date or None), ``deposit`` (the reported
total), ``state`` (draft/posted/cancelled), ``posted_with_estimates``,
``booked_cogs`` (what the COGS entries booked, None when not posted),
``products`` ({product id: display name}) and ``lines``: an iterable, read
once, of tuples in :data:`LINE_FIELDS` order.

Three sheets: *COGS* (a row per cost line, a totals row), *By SKU* and
*Summary* (a row per settlement). Missing costs are highlighted and read
"Missing cost"; their unit and total cost cells stay blank (unknown, not 0).
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from .vocabulary import (
    COST_KINDS,
    COST_SOURCES,
    SETTLEMENT_STATES,
    STATE_COSTED,
    STATE_MISSING,
)

# xlsxwriter Workbook options of the report (report_xlsx get_workbook_options):
# rows are flushed to disk as they are written (150,000-line settlements), and
# marketplace text is never turned into a formula, a URL or a number: a SKU
# "=HYPERLINK(...)" stays text.
WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}

# Fields of a cost line tuple, in order. ``quantity`` is signed (negative:
# goods back to stock); ``total_cost`` is signed and currency-rounded; kind,
# source and state are the codes of goflow.cost.line.
LINE_FIELDS = (
    "posted_date",
    "kind",
    "order_ref",
    "adjustment_ref",
    "sku",
    "product_id",
    "quantity",
    "unit_cost",
    "total_cost",
    "source",
    "state",
    "synced_at",
)
UNIT_COST_DECIMALS = 4  # the "Goflow Unit Cost" precision

TEXT = "text"
DATE = "date"
DATETIME = "datetime"
QUANTITY = "quantity"
MONEY = "money"
UNIT_COST = "unit_cost"
COUNT = "count"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a sheet: its key, English header, width and cell type."""

    key: str
    header: str
    width: float
    kind: str = TEXT


COGS_COLUMNS = (
    Column("settlement", "Settlement", 26),
    Column("posted_date", "Posted Date", 12, DATE),
    Column("kind", "Kind", 11),
    Column("order_ref", "Order ID", 21),
    Column("adjustment_ref", "Adjustment ID", 15),
    Column("sku", "SKU", 22),
    Column("product", "Product", 34),
    Column("quantity", "Quantity", 10, QUANTITY),
    Column("unit_cost", "Unit Cost", 12, UNIT_COST),
    Column("total_cost", "Total Cost", 14, MONEY),
    Column("source", "Source", 16),
    Column("status", "Status", 14),
    Column("synced_at", "Last Goflow Sync", 18, DATETIME),
)
SKU_COLUMNS = (
    Column("sku", "SKU", 22),
    Column("product", "Product", 34),
    Column("currency", "Currency", 9),
    Column("quantity", "Quantity", 10, QUANTITY),
    Column("total_cost", "Total Cost", 14, MONEY),
    Column("lines", "Cost Lines", 10, COUNT),
    Column("missing", "Missing Costs", 13, COUNT),
    Column("missing_quantity", "Units Without Cost", 17, QUANTITY),
)
SUMMARY_COLUMNS = (
    Column("store", "Store", 22),
    Column("settlement_ref", "Settlement ID", 16),
    Column("period_start", "Period Start", 18, DATETIME),
    Column("period_end", "Period End", 18, DATETIME),
    Column("deposit_date", "Deposit Date", 12, DATE),
    Column("currency", "Currency", 9),
    Column("deposit", "Deposit", 14, MONEY),
    Column("total_cogs", "Total COGS", 14, MONEY),
    Column("lines", "Cost Lines", 10, COUNT),
    Column("missing", "Missing Costs", 13, COUNT),
    Column("missing_quantity", "Units Without Cost", 17, QUANTITY),
    Column("state", "Status", 12),
    Column("posted_with_estimates", "Posted With Estimates", 20),
    Column("booked_cogs", "Booked COGS", 14, MONEY),
)

# English texts; the Odoo layer passes translated ones (same keys).
DEFAULT_LABELS = {
    "sheet_cogs": "COGS",
    "sheet_sku": "By SKU",
    "sheet_summary": "Summary",
    "total": "Total",
    "missing_cost": "Missing cost",
    "missing_total": "%(count)s missing",
    "yes": "Yes",
    "no": "No",
    "kind": dict(COST_KINDS),
    "source": dict(COST_SOURCES),
    # "Missing cost" rather than the field's "Missing": a sheet has no context
    "state": {STATE_COSTED: "Costed", STATE_MISSING: "Missing cost"},
    "settlement_state": dict(SETTLEMENT_STATES),
    "headers": {},
}

HEADER_STYLE = {
    "bold": True,
    "bg_color": "#D9E1F2",
    "bottom": 1,
    "text_wrap": True,
    "valign": "top",
}
TOTAL_STYLE = {"bold": True, "top": 1}
# Light amber fill of a row whose cost is missing (Odoo's warning colour family).
MISSING_STYLE = {"bg_color": "#FFE699", "font_color": "#7F6000"}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
QUANTITY_FORMAT = "#,##0.####;-#,##0.####;0"
COUNT_FORMAT = "#,##0"

_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_EPOCH_DAY = _EXCEL_EPOCH.toordinal()


# --- rows ----------------------------------------------------------------------


def merged_labels(labels=None):
    """:data:`DEFAULT_LABELS` updated with ``labels`` (nested dicts merged)."""
    result = {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in DEFAULT_LABELS.items()
    }
    for key, value in (labels or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key].update(value)
        else:
            result[key] = value
    return result


def cogs_rows(settlement, labels=None):
    """The *COGS* rows of one settlement.

    :param settlement: a settlement dict (module docstring)
    :param labels: texts (:data:`DEFAULT_LABELS` keys), already merged or not
    :return: generator of ``(values, missing)``: ``values`` in
        :data:`COGS_COLUMNS` order (unit and total cost None when missing),
        ``missing`` True for a line without cost
    """
    return _rows(settlement, merged_labels(labels))


def _rows(settlement, labels):
    name = settlement.get("name") or ""
    products = settlement.get("products") or {}
    kinds = labels["kind"]
    sources = labels["source"]
    states = labels["state"]
    missing_label = labels["missing_cost"]
    for (
        posted_date,
        kind,
        order_ref,
        adjustment_ref,
        sku,
        product_id,
        quantity,
        unit_cost,
        total_cost,
        source,
        state,
        synced_at,
    ) in settlement["lines"]:
        missing = state == STATE_MISSING
        yield (
            (
                name,
                posted_date,
                kinds.get(kind, kind),
                order_ref,
                adjustment_ref,
                sku,
                products.get(product_id, "") if product_id else "",
                quantity,
                None if missing else unit_cost,
                None if missing else total_cost,
                sources.get(source, source) if source else "",
                missing_label if missing else states.get(state, state),
                synced_at,
            ),
            missing,
        )


@dataclass(slots=True)
class SkuTotal:
    """Quantity and cost of one SKU (in one currency) over the rows given."""

    sku: str
    currency: str
    product: str = ""
    quantity: float = 0.0
    cost_minor: int = 0  # total cost in minor units (cents): exact sums
    decimals: int = 2
    lines: int = 0
    missing: int = 0
    missing_quantity: float = 0.0

    @property
    def total_cost(self):
        return Decimal(self.cost_minor).scaleb(-self.decimals)


@dataclass(slots=True)
class SettlementTotal:
    """What the *Summary* sheet says of one settlement."""

    currency: str = ""
    decimals: int = 2
    lines: int = 0
    quantity: float = 0.0
    cost_minor: int = 0
    missing: int = 0
    missing_quantity: float = 0.0

    @property
    def total_cost(self):
        return Decimal(self.cost_minor).scaleb(-self.decimals)


class _Totals:
    """Accumulates settlement and SKU totals while the rows stream by.

    Costs are summed as integers of minor units (they are currency-rounded),
    so a total is exact, as Decimal arithmetic would be, at a float's speed.
    """

    def __init__(self):
        self.skus = {}

    @staticmethod
    def start(settlement):
        return SettlementTotal(
            currency=settlement.get("currency") or "",
            decimals=settlement.get("decimals", 2),
        )

    def add(self, total, values, missing):
        quantity = values[7] or 0.0
        currency = total.currency
        key = (values[5] or "", currency)
        sku = self.skus.get(key)
        if sku is None:
            sku = self.skus[key] = SkuTotal(key[0], currency, decimals=total.decimals)
        if not sku.product and values[6]:
            sku.product = values[6]
        total.lines += 1
        sku.lines += 1
        total.quantity += quantity
        sku.quantity += quantity
        if missing:
            total.missing += 1
            sku.missing += 1
            total.missing_quantity += abs(quantity)
            sku.missing_quantity += abs(quantity)
        elif values[9]:
            minor = round(values[9] * 10**total.decimals)
            total.cost_minor += minor
            sku.cost_minor += minor


def sku_totals(settlements, labels=None):
    """Per (SKU, currency) totals of the settlements' cost lines, by SKU.

    :param settlements: iterable of settlement dicts (their lines are read)
    :return: list of :class:`SkuTotal`
    """
    labels = merged_labels(labels)
    totals = _Totals()
    for settlement in settlements:
        total = totals.start(settlement)
        for values, missing in _rows(settlement, labels):
            totals.add(total, values, missing)
    return sorted(totals.skus.values(), key=lambda s: (s.sku, s.currency))


# --- writer --------------------------------------------------------------------


def excel_date(value):
    """Excel serial number of a date or naive datetime (None stays None)."""
    if value is None or value is False:
        return None
    if isinstance(value, datetime):
        delta = value - _EXCEL_EPOCH
        return delta.days + delta.seconds / 86400 + delta.microseconds / 864e8
    return value.toordinal() - _EXCEL_EPOCH_DAY


class _Converter:
    """Dates to Excel serials (datetimes from UTC to ``tz``), cached: a
    settlement has few distinct dates and one or two sync times."""

    def __init__(self, tz=None):
        self.tz = tz
        self.cache = {}

    def __call__(self, value):
        if value is None or value is False:
            return None
        serial = self.cache.get(value)
        if serial is None:
            shown = value
            if self.tz is not None and isinstance(value, datetime):
                shown = (
                    value.replace(tzinfo=timezone.utc)
                    .astimezone(self.tz)
                    .replace(tzinfo=None)
                )
            serial = self.cache[value] = excel_date(shown)
        return serial


class _Formats:
    """Every cell format of the workbook, created once."""

    def __init__(self, workbook):
        self.workbook = workbook
        self.cache = {}

    def get(self, kind, decimals=2, missing=False, total=False):
        key = (kind, decimals if kind == MONEY else None, missing, total)
        fmt = self.cache.get(key)
        if fmt is None:
            props = {}
            if kind == DATE:
                props["num_format"] = DATE_FORMAT
            elif kind == DATETIME:
                props["num_format"] = DATETIME_FORMAT
            elif kind == QUANTITY:
                props["num_format"] = QUANTITY_FORMAT
            elif kind == COUNT:
                props["num_format"] = COUNT_FORMAT
            elif kind == MONEY:
                props["num_format"] = _money_format(decimals)
            elif kind == UNIT_COST:
                props["num_format"] = _money_format(UNIT_COST_DECIMALS)
            if missing:
                props.update(MISSING_STYLE)
            if total:
                props.update(TOTAL_STYLE)
            fmt = self.cache[key] = self.workbook.add_format(props)
        return fmt

    def header(self):
        fmt = self.cache.get("header")
        if fmt is None:
            fmt = self.cache["header"] = self.workbook.add_format(HEADER_STYLE)
        return fmt


def _money_format(decimals):
    if decimals <= 0:
        return "#,##0"
    return "#,##0." + "0" * decimals


def _header_row(sheet, columns, labels, formats, hide=()):
    headers = labels["headers"]
    header_fmt = formats.header()
    col = 0
    for column in columns:
        if column.key in hide:
            continue
        sheet.set_column(col, col, column.width)
        sheet.write_string(0, col, headers.get(column.key, column.header), header_fmt)
        col += 1
    sheet.freeze_panes(1, 0)
    return col


def write_workbook(workbook, settlements, labels=None, tz=None):
    """Write the *COGS*, *By SKU* and *Summary* sheets into ``workbook``.

    :param workbook: an open ``xlsxwriter.Workbook`` (best created with
        :data:`WORKBOOK_OPTIONS`); closing it is the caller's business
    :param settlements: iterable of settlement dicts (module docstring), read
        once and in order, so each one's lines can be a lazy cursor stream
    :param labels: translated texts, see :data:`DEFAULT_LABELS`
    :param tz: a ``tzinfo`` to show the sync and period times in (else UTC)
    :return: list of ``(settlement dict, SettlementTotal)``
    """
    labels = merged_labels(labels)
    formats = _Formats(workbook)
    convert = _Converter(tz)
    cogs = workbook.add_worksheet(labels["sheet_cogs"])
    by_sku = workbook.add_worksheet(labels["sheet_sku"])
    summary = workbook.add_worksheet(labels["sheet_summary"])
    ncols = _header_row(cogs, COGS_COLUMNS, labels, formats)

    write_string = cogs.write_string
    write_number = cogs.write_number
    write_blank = cogs.write_blank
    kinds = [column.kind for column in COGS_COLUMNS]
    dated = {i for i, kind in enumerate(kinds) if kind in (DATE, DATETIME)}
    numeric = {i for i, kind in enumerate(kinds) if kind != TEXT}

    totals = _Totals()
    done = []
    row = 0
    currencies = {}
    for settlement in settlements:
        total = totals.start(settlement)
        decimals = total.decimals
        currencies.setdefault(total.currency, decimals)
        plain = [formats.get(kind, decimals) for kind in kinds]
        marked = [formats.get(kind, decimals, missing=True) for kind in kinds]
        for values, missing in _rows(settlement, labels):
            row += 1
            fmts = marked if missing else plain
            for col, value in enumerate(values):
                if value is None or value == "":
                    if missing:
                        write_blank(row, col, None, fmts[col])
                    continue
                if col in numeric:
                    if col in dated:
                        value = convert(value)
                    write_number(row, col, value, fmts[col])
                else:
                    write_string(row, col, value, fmts[col])
            totals.add(total, values, missing)
        done.append((settlement, total))
    if row:
        cogs.autofilter(0, 0, row, ncols - 1)
    _cogs_totals(cogs, row, done, currencies, labels, formats, convert)

    _write_sku_sheet(by_sku, totals, currencies, labels, formats)
    _write_summary(summary, done, labels, formats, convert)
    return done


def _cogs_totals(sheet, row, done, currencies, labels, formats, convert):
    """One totals row (a SUBTOTAL that follows the autofilter, with its
    value cached), or one per currency when the settlements mix them."""
    col_qty = _col(COGS_COLUMNS, "quantity")
    col_cost = _col(COGS_COLUMNS, "total_cost")
    col_status = _col(COGS_COLUMNS, "status")
    last = row
    text_fmt = formats.get(TEXT, total=True)
    qty_fmt = formats.get(QUANTITY, total=True)
    if len(currencies) <= 1:
        decimals = next(iter(currencies.values()), 2)
        quantity = sum(t.quantity for _s, t in done)
        cost = sum((t.total_cost for _s, t in done), Decimal(0))
        missing = sum(t.missing for _s, t in done)
        row += 1
        sheet.write_string(row, 0, labels["total"], text_fmt)
        for col, value, fmt in (
            (col_qty, quantity, qty_fmt),
            (col_cost, cost, formats.get(MONEY, decimals, total=True)),
        ):
            if last:
                letter = _letter(col)
                sheet.write_formula(
                    row,
                    col,
                    f"=SUBTOTAL(9,{letter}2:{letter}{last + 1})",
                    fmt,
                    float(value),
                )
            else:
                sheet.write_number(row, col, float(value), fmt)
        _missing_cell(sheet, row, col_status, missing, labels, formats)
        return
    for currency, decimals in sorted(currencies.items()):
        mine = [t for _s, t in done if t.currency == currency]
        row += 1
        sheet.write_string(row, 0, f"{labels['total']} {currency}", text_fmt)
        sheet.write_number(row, col_qty, sum(t.quantity for t in mine), qty_fmt)
        sheet.write_number(
            row,
            col_cost,
            float(sum((t.total_cost for t in mine), Decimal(0))),
            formats.get(MONEY, decimals, total=True),
        )
        _missing_cell(
            sheet, row, col_status, sum(t.missing for t in mine), labels, formats
        )


def _missing_cell(sheet, row, col, missing, labels, formats):
    if missing:
        sheet.write_string(
            row,
            col,
            labels["missing_total"] % {"count": missing},
            formats.get(TEXT, missing=True, total=True),
        )


def _write_sku_sheet(sheet, totals, currencies, labels, formats):
    hide = () if len(currencies) > 1 else ("currency",)
    columns = [c for c in SKU_COLUMNS if c.key not in hide]
    ncols = _header_row(sheet, SKU_COLUMNS, labels, formats, hide=hide)
    rows = sorted(totals.skus.values(), key=lambda s: (s.sku, s.currency))
    row = 0
    for sku in rows:
        row += 1
        values = {
            "sku": sku.sku,
            "product": sku.product,
            "currency": sku.currency,
            "quantity": sku.quantity,
            "total_cost": float(sku.total_cost),
            "lines": sku.lines,
            "missing": sku.missing,
            "missing_quantity": sku.missing_quantity,
        }
        _write_values(sheet, row, columns, values, formats, sku.decimals, sku.missing)
    if row:
        sheet.autofilter(0, 0, row, ncols - 1)
        if len(currencies) <= 1:
            row += 1
            sheet.write_string(row, 0, labels["total"], formats.get(TEXT, total=True))
            decimals = next(iter(currencies.values()), 2)
            for col, column in enumerate(columns):
                if column.kind in (TEXT, DATE, DATETIME) or column.key == "currency":
                    continue
                letter = _letter(col)
                cached = sum(
                    getattr(s, column.key)
                    if column.key != "total_cost"
                    else s.total_cost
                    for s in rows
                )
                sheet.write_formula(
                    row,
                    col,
                    f"=SUBTOTAL(9,{letter}2:{letter}{row})",
                    formats.get(column.kind, decimals, total=True),
                    float(cached),
                )


def _write_summary(sheet, done, labels, formats, convert):
    _header_row(sheet, SUMMARY_COLUMNS, labels, formats)
    states = labels["settlement_state"]
    row = 0
    for settlement, total in done:
        row += 1
        state = settlement.get("state") or ""
        booked = settlement.get("booked_cogs")
        values = {
            "store": settlement.get("store") or "",
            "settlement_ref": settlement.get("settlement_ref") or "",
            "period_start": convert(settlement.get("period_start")),
            "period_end": convert(settlement.get("period_end")),
            "deposit_date": convert(settlement.get("deposit_date")),
            "currency": settlement.get("currency") or "",
            "deposit": settlement.get("deposit"),
            "total_cogs": float(total.total_cost),
            "lines": total.lines,
            "missing": total.missing,
            "missing_quantity": total.missing_quantity,
            "state": states.get(state, state),
            "posted_with_estimates": labels["yes"]
            if settlement.get("posted_with_estimates")
            else labels["no"],
            "booked_cogs": None if booked is None else float(booked),
        }
        _write_values(
            sheet,
            row,
            SUMMARY_COLUMNS,
            values,
            formats,
            settlement.get("decimals", 2),
            total.missing,
        )


def _write_values(sheet, row, columns, values, formats, decimals, missing):
    for col, column in enumerate(columns):
        value = values[column.key]
        fmt = formats.get(column.kind, decimals, missing=bool(missing))
        if value is None or value == "":
            if missing:
                sheet.write_blank(row, col, None, fmt)
        elif column.kind == TEXT:
            sheet.write_string(row, col, str(value), fmt)
        else:
            sheet.write_number(row, col, value, fmt)


def _col(columns, key):
    return next(i for i, column in enumerate(columns) if column.key == key)


def _letter(col):
    """Column letter(s) of a 0-based column index (A, ..., Z, AA, ...)."""
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


__all__ = [
    "COGS_COLUMNS",
    "DEFAULT_LABELS",
    "LINE_FIELDS",
    "SKU_COLUMNS",
    "SUMMARY_COLUMNS",
    "WORKBOOK_OPTIONS",
    "Column",
    "SettlementTotal",
    "SkuTotal",
    "cogs_rows",
    "excel_date",
    "merged_labels",
    "sku_totals",
    "write_workbook",
]
