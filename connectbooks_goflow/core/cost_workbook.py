"""The costs workbook: missing costs out to Excel and back, without Odoo.

The Odoo layer (``report/cost_workbook_xlsx.py``, the upload wizard) reads
the cost lines and the pre-fills and hands plain rows here; this module
writes them with xlsxwriter (:func:`write_workbook`) and reads a filled-in
copy back with openpyxl in read-only mode (:func:`read_workbook`), so both
can be tested and benchmarked alone.

Layout of the *Costs* sheet: row 1 is hidden and holds the column codes
(:data:`COLUMNS`), the reader finds its columns by them, so a sheet whose
columns were moved still reads; row 2 holds the headers; a row per cost line
follows. Column A, hidden and locked, holds each row's key: the cost line id
and its pre-fill, signed with an HMAC whose key the Odoo layer derives from
the database secret (:func:`row_key`). The code of column A carries a
signature of the workbook itself, so a workbook of another database is told
apart from a key someone changed. Only *Unit Cost* and *Use Pre-filled* are
unlocked; the sheet is protected without a password.
"""

import hashlib
import hmac
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# The sheet's look is the COGS workbook's: the same xlsxwriter options, column
# spec, header style and number formats.
from .cogs_workbook import (
    DATE,
    DATE_FORMAT,
    HEADER_STYLE,
    QUANTITY,
    QUANTITY_FORMAT,
    TEXT,
    UNIT_COST,
    WORKBOOK_OPTIONS,
    Column,
)
from .costing import UNIT_COST_DECIMALS
from .vocabulary import COST_KINDS, COST_SOURCES, MISSING_REASONS

# The code of the key column starts with this; what follows is the workbook
# signature. Changing the layout of the sheet means a new version.
MARKER = "connectbooks_goflow.costs/1"
# Hex digits of a row key's HMAC-SHA256 kept: 96 bits.
MAC_CHARS = 24
# A unit cost above this is a typing error (and beyond Decimal's precision
# once quantized); the data validation of the sheet says the same.
MAX_UNIT_COST = Decimal(999_999_999)
# Row errors named one by one; beyond, only counted.
MAX_LISTED_ERRORS = 50
# A workbook whose parts unzip to more than this is refused before reading:
# 50,000 rows unzip to about 15 MB.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
# First data row (1-based, as Excel numbers rows): codes, headers, data.
FIRST_DATA_ROW = 3

# Content types of the workbook part ([Content_Types].xml), from ECMA-376
# Part 1 and Microsoft's [MS-OFFCRYPTO]/[MS-XLSX]: .xlsx and .xltx, .xlsm.
XLSX_MAIN_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
)
XLSM_MAIN_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
# File signatures: ZIP (every OOXML file), OLE2 compound file (.xls).
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Cell types of this sheet only; the others are the COGS workbook's.
INPUT_COST = "input_cost"
INPUT_FLAG = "input_flag"
KEY = "key"


COLUMNS = (
    Column("key", "Key", 10, KEY),
    Column("settlement", "Settlement", 26),
    Column("posted_date", "Posted Date", 12, DATE),
    Column("kind", "Kind", 11),
    Column("order_ref", "Order ID", 21),
    Column("adjustment_ref", "Adjustment ID", 15),
    Column("sku", "SKU", 22),
    Column("product", "Product", 30),
    Column("quantity", "Quantity", 10, QUANTITY),
    Column("missing_reason", "Why Missing", 24),
    Column("prefill_cost", "Pre-filled Cost", 14, UNIT_COST),
    Column("prefill_basis", "Pre-filled From", 30),
    Column("current_cost", "Current Cost", 13, UNIT_COST),
    Column("source", "Source", 15),
    Column("unit_cost", "Unit Cost", 13, INPUT_COST),
    Column("use_prefill", "Use Pre-filled", 13, INPUT_FLAG),
)
COLUMN_INDEX = {column.key: index for index, column in enumerate(COLUMNS)}

# Fields of a row handed to the writer, in order. Kind, reason and source
# are keys (vocabulary.py); the pre-fill is a Decimal or None, its basis a
# text; ``unit_cost`` is the line's cost when it has one (None: missing).
ROW_FIELDS = (
    "line_id",
    "settlement",
    "posted_date",
    "kind",
    "order_ref",
    "adjustment_ref",
    "sku",
    "product",
    "quantity",
    "missing_reason",
    "prefill_cost",
    "prefill_basis",
    "unit_cost",
    "source",
)

# English texts; the Odoo layer passes translated ones (same keys).
DEFAULT_LABELS = {
    "sheet_costs": "Costs",
    "sheet_instructions": "Instructions",
    "yes": "Yes",
    "no": "No",
    "kind": dict(COST_KINDS),
    "reason": dict(MISSING_REASONS),
    "source": dict(COST_SOURCES),
    "headers": {},
    "validation_title": "Unit Cost",
    "validation_message": "A number, 0 or more. Leave it empty to leave the "
    "line as it is.",
    "flag_message": "Yes: save the pre-filled cost when Unit Cost is empty.",
    "instructions_title": "How to fill in this workbook",
    "instructions": (
        "Each row of the Costs sheet is one cost line still missing (or, if "
        "you asked for every line, one line of a draft settlement).",
        "Type the cost of one unit in the Unit Cost column. It is saved as a "
        "manual cost, with your name and the time. A 0 you type is saved as "
        "0.",
        "To take the pre-filled cost instead, leave Unit Cost empty and "
        "choose Yes in Use Pre-filled. It is saved as the current average, "
        "as in the Resolve wizard.",
        "Rows left empty are not changed.",
        "Do not add rows or change the hidden Key column: each row is tied "
        "to its cost line, and a workbook whose keys were changed is refused.",
        "Formulas are refused: type the numbers (or paste them as values).",
        "Upload the workbook with Upload Costs (Excel), in the database you "
        "downloaded it from. If one row is wrong, nothing is saved and every "
        "problem is listed with its row and column.",
        "A line that got a cost meanwhile, or whose settlement was posted, "
        "is skipped and listed as such.",
    ),
}

# Where to type: a light green fill, unlocked.
INPUT_STYLE = {"bg_color": "#E2EFDA", "locked": False}
UNIT_COST_FORMAT = "#,##0.0000"
# What a protected sheet still lets a person do (xlsxwriter protect options).
PROTECT_OPTIONS = {
    "select_locked_cells": True,
    "select_unlocked_cells": True,
    "autofilter": True,
    "format_columns": True,
}

_EXCEL_EPOCH_DAY = datetime(1899, 12, 30).toordinal()
_QUANTUM = Decimal(1).scaleb(-UNIT_COST_DECIMALS)


# --- keys ----------------------------------------------------------------------


def _mac(secret, message):
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()[:MAC_CHARS]


def prefill_text(prefill):
    """The pre-fill as a key holds it: 4 decimals, or "" for none."""
    if prefill is None:
        return ""
    return str(Decimal(prefill).quantize(_QUANTUM, rounding=ROUND_HALF_UP))


def row_key(secret, line_id, prefill):
    """The key of a row: ``<line id>:<pre-fill>:<HMAC>``.

    :param secret: bytes, the HMAC key (derived by the Odoo layer from the
        database secret)
    :param prefill: the pre-filled unit cost (Decimal) or None
    """
    body = f"{int(line_id)}:{prefill_text(prefill)}"
    return f"{body}:{_mac(secret, body)}"


def parse_key(secret, key):
    """``(line id, pre-fill Decimal or None)`` of a key, or None when it is
    not a key this secret signed."""
    if not isinstance(key, str):
        return None
    parts = key.strip().split(":")
    if len(parts) != 3:
        return None
    line_id, prefill, mac = parts
    if not hmac.compare_digest(_mac(secret, f"{line_id}:{prefill}"), mac):
        return None
    try:
        return int(line_id), Decimal(prefill) if prefill else None
    except (ValueError, InvalidOperation):
        return None


def workbook_signature(secret):
    """The code of the key column: the marker and a signature of it."""
    return f"{MARKER}:{_mac(secret, MARKER)}"


# --- writer --------------------------------------------------------------------


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


def excel_date(value):
    """Excel serial number of a date (None and False stay None)."""
    if not value:
        return None
    if isinstance(value, datetime):
        value = value.date()
    return value.toordinal() - _EXCEL_EPOCH_DAY


def write_workbook(workbook, rows, secret, labels=None):
    """Write the *Costs* and *Instructions* sheets.

    :param workbook: an ``xlsxwriter.Workbook`` made with
        :data:`WORKBOOK_OPTIONS`
    :param rows: iterable of tuples in :data:`ROW_FIELDS` order, read once
    :param secret: bytes, the HMAC key of the row keys
    :param labels: texts (:data:`DEFAULT_LABELS` keys)
    :return: number of rows written
    """
    labels = merged_labels(labels)
    headers = labels["headers"]
    sheet = workbook.add_worksheet(labels["sheet_costs"])
    instructions = workbook.add_worksheet(labels["sheet_instructions"])

    locked = {
        TEXT: workbook.add_format(),
        DATE: workbook.add_format({"num_format": DATE_FORMAT}),
        QUANTITY: workbook.add_format({"num_format": QUANTITY_FORMAT}),
        UNIT_COST: workbook.add_format({"num_format": UNIT_COST_FORMAT}),
    }
    cost_input = workbook.add_format({**INPUT_STYLE, "num_format": UNIT_COST_FORMAT})
    flag_input = workbook.add_format(INPUT_STYLE)
    header = workbook.add_format(HEADER_STYLE)

    for col, column in enumerate(COLUMNS):
        options = {"hidden": True} if column.kind == KEY else None
        sheet.set_column(col, col, column.width, None, options)
    sheet.set_row(0, None, None, {"hidden": True})
    codes = [workbook_signature(secret), *(c.key for c in COLUMNS[1:])]
    for col, code in enumerate(codes):
        sheet.write_string(0, col, code)
    sheet.set_row(1, 30)
    for col, column in enumerate(COLUMNS):
        sheet.write_string(1, col, headers.get(column.key, column.header), header)
    sheet.freeze_panes(2, 2)

    yes, no = labels["yes"], labels["no"]
    kinds, reasons, sources = labels["kind"], labels["reason"], labels["source"]
    write_string = sheet.write_string
    write_number = sheet.write_number
    write_blank = sheet.write_blank
    text_fmt, date_fmt = locked[TEXT], locked[DATE]
    qty_fmt, cost_fmt = locked[QUANTITY], locked[UNIT_COST]
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    dates = {}
    row = FIRST_DATA_ROW - 2
    for (
        line_id,
        settlement,
        posted_date,
        kind,
        order_ref,
        adjustment_ref,
        sku,
        product,
        quantity,
        reason,
        prefill,
        basis,
        unit_cost,
        source,
    ) in rows:
        row += 1
        prefill_str = prefill_text(prefill)
        body = f"{line_id}:{prefill_str}"
        signer = mac.copy()
        signer.update(body.encode())
        write_string(row, 0, f"{body}:{signer.hexdigest()[:MAC_CHARS]}", text_fmt)
        if settlement:
            write_string(row, 1, settlement, text_fmt)
        if posted_date:
            serial = dates.get(posted_date)
            if serial is None:
                serial = dates[posted_date] = excel_date(posted_date)
            write_number(row, 2, serial, date_fmt)
        write_string(row, 3, kinds.get(kind, kind or ""), text_fmt)
        if order_ref:
            write_string(row, 4, order_ref, text_fmt)
        if adjustment_ref:
            write_string(row, 5, adjustment_ref, text_fmt)
        if sku:
            write_string(row, 6, sku, text_fmt)
        if product:
            write_string(row, 7, product, text_fmt)
        write_number(row, 8, quantity, qty_fmt)
        if reason:
            write_string(row, 9, reasons.get(reason, reason), text_fmt)
        if prefill_str:
            write_number(row, 10, float(prefill), cost_fmt)
        if basis:
            write_string(row, 11, basis, text_fmt)
        if unit_cost is not None:
            # a line with a cost: shown, not to be typed over
            write_number(row, 12, float(unit_cost), cost_fmt)
            if source:
                write_string(row, 13, sources.get(source, source), text_fmt)
            continue
        write_blank(row, 14, None, cost_input)
        if prefill_str:
            write_string(row, 15, no, flag_input)
    last = row
    if last >= FIRST_DATA_ROW - 1:
        unit_col = COLUMN_INDEX["unit_cost"]
        flag_col = COLUMN_INDEX["use_prefill"]
        sheet.data_validation(
            FIRST_DATA_ROW - 1,
            unit_col,
            last,
            unit_col,
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": 0,
                "maximum": int(MAX_UNIT_COST),
                "ignore_blank": True,
                "input_title": labels["validation_title"][:32],
                "input_message": labels["validation_message"][:255],
                "error_title": labels["validation_title"][:32],
                "error_message": labels["validation_message"][:255],
            },
        )
        sheet.data_validation(
            FIRST_DATA_ROW - 1,
            flag_col,
            last,
            flag_col,
            {
                "validate": "list",
                "source": [yes, no],
                "ignore_blank": True,
                "input_message": labels["flag_message"][:255],
                "error_message": labels["flag_message"][:255],
            },
        )
        sheet.autofilter(1, 0, last, len(COLUMNS) - 1)
    sheet.protect("", PROTECT_OPTIONS)

    instructions.set_column(0, 0, 110)
    title = workbook.add_format({"bold": True, "font_size": 13})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    instructions.write_string(0, 0, labels["instructions_title"], title)
    for index, text in enumerate(labels["instructions"], start=2):
        instructions.write_string(index, 0, f"{index - 1}. {text}", wrap)
    sheet.activate()
    return last - (FIRST_DATA_ROW - 2)


# --- reader --------------------------------------------------------------------

# What is wrong with a file as a whole (:class:`WorkbookError` ``code``).
FILE_XLS = "xls"  # Excel 97-2003
FILE_XLSM = "xlsm"  # macro-enabled
FILE_NOT_XLSX = "not_xlsx"  # text, an image, another kind of zip
FILE_UNREADABLE = "unreadable"  # a zip that openpyxl cannot read
FILE_TOO_LARGE = "too_large"
FILE_NOT_COSTS = "not_costs"  # an xlsx, but not one of ours
FILE_OTHER_DATABASE = "other_database"

# What is wrong with a row (:class:`RowError` ``code``).
ROW_BAD_KEY = "bad_key"  # changed, or from another database
ROW_NO_KEY = "no_key"  # a row added by hand
ROW_DUPLICATE = "duplicate"  # ``params``: first row
ROW_FORMULA = "formula"  # ``params``: formula
ROW_TEXT = "text"  # ``params``: text
ROW_NOT_A_NUMBER = "not_a_number"  # a date, a boolean, an error value
ROW_NEGATIVE = "negative"  # ``params``: value
ROW_TOO_LARGE = "too_large"  # ``params``: value
ROW_BAD_FLAG = "bad_flag"  # ``params``: text
ROW_NO_PREFILL = "no_prefill"


class WorkbookError(Exception):
    """The file as a whole cannot be read: ``code`` is one of ``FILE_*``."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of one cell: sheet, Excel row number, column letter and
    code, ``code`` one of ``ROW_*``."""

    sheet: str
    row: int
    column: str
    code: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CostRow:
    """A row that asks for something: a typed unit cost (Decimal), or the
    pre-fill (``use_prefill``; ``unit_cost`` None)."""

    line_id: int
    row: int
    unit_cost: Decimal | None
    use_prefill: bool
    prefill: Decimal | None


@dataclass(slots=True)
class ReadResult:
    """What :func:`read_workbook` found: the rows to save, the first
    :data:`MAX_LISTED_ERRORS` errors and how many there are, the sheet name."""

    rows: list
    errors: list
    error_count: int
    sheet: str
    rows_read: int = 0


def check_file(data):
    """Refuse what is not an .xlsx workbook, before openpyxl reads it.

    :param data: the file's bytes
    :raise WorkbookError: ``FILE_XLS``, ``FILE_XLSM``, ``FILE_NOT_XLSX``,
        ``FILE_UNREADABLE`` or ``FILE_TOO_LARGE``
    """
    head = bytes(data[:8])
    if head.startswith(OLE2_MAGIC):
        raise WorkbookError(FILE_XLS)
    if not head.startswith(ZIP_MAGIC):
        raise WorkbookError(FILE_NOT_XLSX)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise WorkbookError(FILE_NOT_XLSX)
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise WorkbookError(FILE_TOO_LARGE)
            types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError) as error:
        raise WorkbookError(FILE_UNREADABLE) from error
    if XLSM_MAIN_TYPE in types or "xl/vbaProject.bin" in names:
        raise WorkbookError(FILE_XLSM)
    if not any(main in types for main in XLSX_MAIN_TYPES):
        raise WorkbookError(FILE_NOT_XLSX)


def _column_letter(col):
    """Letter(s) of a 0-based column index (A, ..., Z, AA, ...)."""
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _Errors:
    """The first :data:`MAX_LISTED_ERRORS` row errors, and the count."""

    def __init__(self, sheet):
        self.sheet = sheet
        self.listed = []
        self.count = 0

    def add(self, row, col, code, **params):
        self.count += 1
        if len(self.listed) < MAX_LISTED_ERRORS:
            self.listed.append(
                RowError(self.sheet, row, _column_letter(col), code, params)
            )


def _flag_values(labels):
    yes = {"yes", "y", "true", "1"}
    no = {"no", "n", "false", "0"}
    for label in labels.get("yes_labels", ()) or (labels.get("yes"),):
        if label:
            yes.add(str(label).strip().casefold())
    for label in labels.get("no_labels", ()) or (labels.get("no"),):
        if label:
            no.add(str(label).strip().casefold())
    return yes, no


def read_workbook(data, secret, labels=None):
    """Read a filled-in costs workbook, streamed (openpyxl read-only mode,
    formulas as their text: never evaluated).

    :param data: the file's bytes
    :param secret: bytes, the HMAC key of the row keys
    :param labels: ``yes_labels`` / ``no_labels``: the words accepted in
        *Use Pre-filled* besides English yes/no (the uploader's language)
    :return: :class:`ReadResult`
    :raise WorkbookError: the file cannot be read, is not a costs workbook,
        or was signed by another database
    """
    check_file(data)
    import openpyxl  # noqa: PLC0415 (the writer does not need it)

    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=False, keep_links=False
        )
    except Exception as error:  # openpyxl raises whatever its parsers raise
        raise WorkbookError(FILE_UNREADABLE) from error
    try:
        return _read(workbook, secret, labels or {})
    except WorkbookError:
        raise
    except Exception as error:  # a broken part found while streaming
        raise WorkbookError(FILE_UNREADABLE) from error
    finally:
        workbook.close()


def _find_sheet(workbook, secret):
    """The costs sheet and its column positions (``{code: index}``)."""
    signature = workbook_signature(secret)
    foreign = False
    for sheet in workbook.worksheets:
        # the size a file declares is not trusted: rows are read to their end
        sheet.reset_dimensions()
        first = next(sheet.iter_rows(max_row=1, values_only=True), ())
        if not first or not isinstance(first[0], str):
            continue
        if not first[0].startswith(MARKER):
            continue
        if not hmac.compare_digest(first[0], signature):
            foreign = True
            continue
        positions = {
            code: index for index, code in enumerate(first) if isinstance(code, str)
        }
        positions["key"] = 0
        return sheet, positions
    raise WorkbookError(FILE_OTHER_DATABASE if foreign else FILE_NOT_COSTS)


def _read(workbook, secret, labels):
    sheet, positions = _find_sheet(workbook, secret)
    if "unit_cost" not in positions:
        raise WorkbookError(FILE_NOT_COSTS)
    unit_col = positions["unit_cost"]
    flag_col = positions.get("use_prefill")
    yes, no = _flag_values(labels)
    errors = _Errors(sheet.title)
    rows = []
    seen = {}
    rows_read = 0
    key_mac = hmac.new(secret, digestmod=hashlib.sha256)
    compare = hmac.compare_digest
    columns = (0, unit_col) if flag_col is None else (0, unit_col, flag_col)
    for number, values in _data_rows(workbook, sheet, columns):
        key, unit = values[0], values[1]
        flag = values[2] if flag_col is not None else None
        if isinstance(unit, str) and not unit.strip():
            unit = None
        if isinstance(flag, str) and not flag.strip():
            flag = None
        if key is None or (isinstance(key, str) and not key.strip()):
            if unit is not None or _is_yes(flag, yes):
                errors.add(number, 0, ROW_NO_KEY)
            continue
        rows_read += 1
        parsed = None
        if isinstance(key, str):
            parts = key.strip().split(":")
            if len(parts) == 3:
                signer = key_mac.copy()
                signer.update(f"{parts[0]}:{parts[1]}".encode())
                if compare(signer.hexdigest()[:MAC_CHARS], parts[2]):
                    parsed = _key_values(parts)
        if parsed is None:
            errors.add(number, 0, ROW_BAD_KEY)
            continue
        line_id, prefill = parsed
        first = seen.get(line_id)
        if first is not None:
            errors.add(number, 0, ROW_DUPLICATE, first=first)
            continue
        seen[line_id] = number
        cost = _unit_cost(unit, number, unit_col, errors)
        use_prefill = _flag(flag, number, flag_col, yes, no, errors)
        if cost is _INVALID or use_prefill is None:
            continue
        if cost is not None:
            rows.append(CostRow(line_id, number, cost, False, prefill))
        elif use_prefill:
            if prefill is None:
                errors.add(number, flag_col, ROW_NO_PREFILL)
                continue
            rows.append(CostRow(line_id, number, None, True, prefill))
    return ReadResult(rows, errors.listed, errors.count, sheet.title, rows_read)


def _data_rows(workbook, sheet, columns):
    """``(row number, values)`` of the data rows of ``sheet``, ``values``
    the cells of ``columns`` (distinct 0-based indexes), None when empty: what
    ``sheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True)`` gives for
    these cells, at a fraction of its cost.

    openpyxl's read-only mode turns every cell of a row into a value, and
    most of a costs workbook is the read-only text around the three cells
    read here (the key, Unit Cost, Use Pre-filled), often as inline strings,
    the slowest kind. This streams the sheet's XML as openpyxl does (its
    ``iterparse``) and hands only the cells of ``columns`` to openpyxl's own
    cell parser, so their values are openpyxl's: shared strings, dates by
    their number format, formulas as their text, never evaluated. The rest of
    a row is only looked at for its column (and, when the row holds a
    formula, for a shared formula that a cell read here may reuse). Rows and
    cells are placed as openpyxl places them: by their ``r`` (or after the
    previous one); a row numbered at or before the previous one is dropped,
    and so is a cell beyond the last cell of its row.
    """
    try:
        from openpyxl.utils.cell import (  # noqa: PLC0415
            column_index_from_string,
        )
        from openpyxl.worksheet._reader import (  # noqa: PLC0415
            FORMULA_TAG,
            ROW_TAG,
            WorkSheetParser,
        )
        from openpyxl.xml.functions import iterparse  # noqa: PLC0415

        parser = WorkSheetParser(
            None,
            sheet._shared_strings,
            data_only=workbook.data_only,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        source = sheet._get_source()
    except (ImportError, AttributeError, TypeError):
        # an openpyxl whose inner parts differ: its public way, every cell
        yield from _data_rows_openpyxl(sheet, columns)
        return
    slots = {col + 1: slot for slot, col in enumerate(columns)}
    last_wanted = max(slots)
    width = len(columns)
    parse_cell = parser.parse_cell
    parse_formula = parser.parse_formula
    known = {}  # column letters: column number
    previous = FIRST_DATA_ROW - 1
    number = 0
    formulas = False  # the current row holds a formula
    try:
        for _event, element in iterparse(source):
            tag = element.tag
            if tag == FORMULA_TAG:
                formulas = True
                continue
            if tag != ROW_TAG:
                continue
            r = element.get("r")
            number = number + 1 if r is None else _row_number(r)
            wanted = number > previous
            values = [None] * width
            col = 0
            for cell in element:
                coordinate = cell.get("r")
                if coordinate:
                    letters = coordinate.rstrip(_DIGITS)
                    col = known.get(letters)
                    if col is None:
                        col = known[letters] = column_index_from_string(letters)
                else:
                    col += 1
                slot = slots.get(col) if wanted else None
                if slot is not None:
                    parser.col_counter = col - 1
                    values[slot] = parse_cell(cell)["value"]
                elif formulas and cell.find(FORMULA_TAG) is not None:
                    parse_formula(cell)  # a shared formula's first cell
            element.clear()
            formulas = False
            if not wanted:
                continue
            if col < last_wanted:
                for column, slot in slots.items():
                    if column > col:
                        values[slot] = None
            previous = number
            yield number, values
    finally:
        source.close()


def _data_rows_openpyxl(sheet, columns):
    """:func:`_data_rows` through openpyxl's public ``iter_rows``."""
    for number, row in enumerate(
        sheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True),
        start=FIRST_DATA_ROW,
    ):
        width = len(row)
        yield number, [row[col] if col < width else None for col in columns]


_DIGITS = "0123456789"


def _row_number(text):
    """The number of a row from its ``r``, as openpyxl reads it."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise ValueError(f"{text} is not a valid row number") from None
        return int(value)


def _is_yes(flag, yes):
    return flag is True or (isinstance(flag, str) and flag.strip().casefold() in yes)


def _key_values(parts):
    try:
        return int(parts[0]), Decimal(parts[1]) if parts[1] else None
    except (ValueError, InvalidOperation):
        return None


_INVALID = object()


def _unit_cost(value, number, col, errors):
    """The unit cost of a cell: Decimal, None (empty) or _INVALID (an error
    was added)."""
    if value is None:
        return None
    if isinstance(value, bool):
        errors.add(number, col, ROW_NOT_A_NUMBER, value=str(value))
        return _INVALID
    if isinstance(value, int | float):
        cost = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not cost.is_finite():
            errors.add(number, col, ROW_NOT_A_NUMBER, value=str(value))
            return _INVALID
        if cost < 0:
            errors.add(number, col, ROW_NEGATIVE, value=str(value))
            return _INVALID
        if cost > MAX_UNIT_COST:
            errors.add(number, col, ROW_TOO_LARGE, value=str(value))
            return _INVALID
        return cost
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("="):
            errors.add(number, col, ROW_FORMULA, formula=text[:60])
        else:
            errors.add(number, col, ROW_TEXT, text=text[:60])
        return _INVALID
    if isinstance(value, date | datetime):
        errors.add(number, col, ROW_NOT_A_NUMBER, value=value.isoformat())
        return _INVALID
    errors.add(number, col, ROW_NOT_A_NUMBER, value=str(value)[:60])
    return _INVALID


def _flag(value, number, col, yes, no, errors):
    """True, False, or None when the cell is neither (an error was added)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip()
    if text.casefold() in yes:
        return True
    if text.casefold() in no:
        return False
    errors.add(number, col, ROW_BAD_FLAG, text=text[:60])
    return None


__all__ = [
    "COLUMNS",
    "DEFAULT_LABELS",
    "MARKER",
    "MAX_LISTED_ERRORS",
    "ROW_FIELDS",
    "WORKBOOK_OPTIONS",
    "CostRow",
    "ReadResult",
    "RowError",
    "WorkbookError",
    "check_file",
    "merged_labels",
    "parse_key",
    "read_workbook",
    "row_key",
    "workbook_signature",
    "write_workbook",
]
