"""Streaming parser for marketplace settlement files.

Two layouts share one pipeline and one validation:

* ``amazon_v2``: Amazon's Settlement Report Flat File V2, tab-separated, one
  row per amount, a summary first row carrying the settlement totals (the
  columns and their sources are in ``settlement_const``);
* ``generic_csv``: the same fields in a comma (or semicolon) separated file
  with RFC 4180 quoting, for other marketplaces (``docs/generic_csv.md``).

The file is read block by block and rows are yielded one at a time; what is
kept while reading is bounded by the number of order items (for the
quantity rules), never by the number of rows. Errors are
collected while reading and raised together as one
:class:`SettlementFileError` once the file has been read: rows yielded before
that are not to be trusted until iteration ends without error. Whatever the
bytes, the reader ends in a :class:`SettlementFileError` (lines are bounded,
files that are not text are named, and a fault of the reader itself is
reported as such), never in another exception.
"""

import codecs
import csv
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, fields, make_dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from operator import itemgetter
from typing import BinaryIO

from . import settlement_const as const
from .costing import deposit_check
from .settlement_archive import ArchiveError, is_zip, open_single_csv

__all__ = [
    "SettlementFileError",
    "SettlementHeader",
    "SettlementIssue",
    "SettlementReader",
    "SettlementRow",
    "classify",
    "read_settlement",
]

_UTC = timezone.utc


# --- Public types ------------------------------------------------------------


@dataclass(frozen=True)
class SettlementIssue:
    """One problem found in a file, located by line (1-based) and column."""

    line: int | None
    column: str | None
    message: str

    def __str__(self):
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class SettlementFileError(ValueError):
    """The file cannot be imported; :attr:`errors` lists every issue kept.

    ``str()`` lists the first 50 issues, one per line, and how many more
    there were. :attr:`unexpected` is the exception when the reader itself
    failed (a bug, not a problem of the file): the caller should log it with
    its traceback (it is also the ``__cause__``).
    """

    def __init__(self, errors, *, filename=None, total=None, unexpected=None):
        self.errors = list(errors)
        self.filename = filename
        self.total = max(total or 0, len(self.errors))
        self.unexpected = unexpected
        super().__init__(self._describe())

    def _describe(self):
        name = f"'{self.filename}'" if self.filename else "The settlement file"
        count = self.total
        head = f"{name} cannot be imported: {count} problem{'s' if count != 1 else ''}"
        shown = self.errors[: const.MAX_LISTED_ISSUES]
        lines = [head + ":"] + [f"  {issue}" for issue in shown]
        if count > len(shown):
            lines.append(f"  ... and {count - len(shown)} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class SettlementHeader:
    """The settlement as a whole, from the summary (first) row."""

    settlement_id: str
    start: datetime | None
    end: datetime | None
    deposit_date: datetime | None
    total_amount: Decimal
    currency: str
    marketplace_name: str | None
    layout: str


@dataclass(frozen=True, slots=True)
class SettlementRow:
    """One amount row of the file (never the summary row).

    ``quantity`` is the item quantity counted once: on the first row that
    carries a non-zero quantity, 0 on the other rows (Amazon repeats it on
    every amount row). Rows of the same item share transaction type, order
    id, adjustment id and order item code (else merchant item id, else SKU);
    an order item counts it once per amount group (a group starts again at
    each further ``ItemPrice`` / ``Principal`` row of the item, see
    ``_ROLE_PRICE``); rows with neither order id nor adjustment id (e.g. FBA
    inventory reimbursements) keep their own quantity.
    """

    line_no: int
    transaction_type: str
    kind: str
    order_id: str
    merchant_order_id: str
    adjustment_id: str
    shipment_id: str
    marketplace_name: str
    amount_type: str
    amount_description: str
    amount: Decimal
    fulfillment_id: str
    posted_date: date | None
    order_item_code: str
    merchant_order_item_id: str
    merchant_adjustment_item_id: str
    sku: str
    quantity: int
    promotion_id: str


def _row_builder():
    """A constructor of :class:`SettlementRow` that skips the frozen ``__init__``.

    A frozen dataclass sets each of its 19 fields through
    ``object.__setattr__``, which is a third of the parse time of a large
    file. A plain slotted twin with the same fields is built instead and
    given the frozen class: same memory layout, same object afterwards.
    """
    specs = [(f.name, f.type) for f in fields(SettlementRow)]
    twin = make_dataclass("_SettlementRowBuilder", specs, slots=True, eq=False)

    def build(*values):
        row = twin(*values)
        row.__class__ = SettlementRow
        return row

    try:
        build(*range(len(specs)))
    except TypeError:  # another interpreter: keep the plain constructor
        return SettlementRow
    return build


_new_row = _row_builder()


# --- Kinds -------------------------------------------------------------------


def classify(transaction_type, amount_type="", amount_description=""):
    """Return the kind of a row from its three type columns (case-insensitive).

    :return: one of ``settlement_const.KINDS``
    """
    t = transaction_type.strip().lower()
    a = amount_type.strip().lower()
    d = amount_description.strip().lower()
    if t in const.ORDER_TRANSACTION_TYPES:
        return const.KIND_ORDER
    if t in const.REFUND_TRANSACTION_TYPES:
        return const.KIND_REFUND
    if t in const.RESERVE_TRANSACTION_TYPES or d in const.RESERVE_DESCRIPTIONS:
        return const.KIND_RESERVE
    if (
        t in const.ADJUSTMENT_TRANSACTION_TYPES
        or a in const.ADJUSTMENT_AMOUNT_TYPES
        or d in const.ADJUSTMENT_DESCRIPTIONS
    ):
        return const.KIND_ADJUSTMENT
    if (
        t in const.FEE_TRANSACTION_TYPES
        or a in const.FEE_AMOUNT_TYPES
        or d in const.FEE_DESCRIPTIONS
    ):
        return const.KIND_FEE
    return const.KIND_OTHER


# What a row is to the quantity rules (besides its kind): not a sold item
# (fees, refunds, retrocharges, ...), a row of a sold item, or the price row
# (``ItemPrice`` / ``Principal``) of a sold item.
#
# The quantity of an order item is counted once per *amount group*. Amazon
# writes the item's quantity on every row of a group (price, tax, fees,
# promotions), and one order item of one shipment can come in several groups,
# each with its own price row and its own quantity: a real Amazon.com file
# has Principal 10.99 with quantity 1 and fees, then Principal 21.98 with
# quantity 2 and fees, all with the same shipment id and posted time (3
# units). So a group starts at the item's first row, and again at each price
# row once the current group has had one; its quantity is the first non-zero
# quantity of its rows. Shipment id and posted time are not used: they are
# the same across such groups, and an item shipped twice has a price row in
# each shipment anyway.
_ROLE_NONE = 0
_ROLE_ITEM = 1
_ROLE_PRICE = 2


def _kind_and_role(transaction_type, amount_type, amount_description):
    kind = classify(transaction_type, amount_type, amount_description)
    if (
        kind != const.KIND_ORDER
        or transaction_type.strip().lower() in const.NO_GOODS_TRANSACTION_TYPES
    ):
        return kind, _ROLE_NONE
    amount = (amount_type.strip().lower(), amount_description.strip().lower())
    return kind, _ROLE_PRICE if amount == const.ITEM_PRICE_AMOUNT else _ROLE_ITEM


# --- Errors collected while reading ------------------------------------------


class _Issues:
    def __init__(self):
        self.kept = []
        self.count = 0

    def add(self, line, column, message):
        self.count += 1
        if len(self.kept) < const.MAX_KEPT_ISSUES:
            self.kept.append(SettlementIssue(line, column, message))

    @property
    def full(self):
        return self.count >= const.MAX_KEPT_ISSUES

    def stop(self, line):
        self.count += 1
        self.kept.append(
            SettlementIssue(line, None, "Reading stopped here: too many problems.")
        )


class _Fatal(Exception):
    """Reading cannot go on; the issues collected so far are raised."""


# --- Bytes to lines ----------------------------------------------------------

_ARCHIVE = (
    "If it holds a settlement file, extract that file and import it (a "
    "truncated archive cannot be extracted: download it again)."
)
_WORKBOOK = (
    "Import the settlement report as downloaded: a tab-delimited flat file "
    "(.txt), or a sheet saved as CSV."
)
_NOT_TEXT = (
    "Import the settlement report itself: the tab-delimited flat file (.txt) "
    "or a CSV file."
)
# Leading bytes of files that are not text: what they are, what to do.
_MAGIC = (
    (b"\x1f\x8b", "a gzip archive (.gz)", _ARCHIVE),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", _ARCHIVE),
    (b"Rar!\x1a\x07", "a RAR archive", _ARCHIVE),
    (b"BZh", "a bzip2 archive", _ARCHIVE),
    (b"\xfd7zXZ\x00", "an xz archive", _ARCHIVE),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)", _WORKBOOK),
    (b"%PDF", "a PDF document", _NOT_TEXT),
    (b"\x89PNG\r\n\x1a\n", "an image (PNG)", _NOT_TEXT),
    (b"\xff\xd8\xff", "an image (JPEG)", _NOT_TEXT),
    (b"GIF8", "an image (GIF)", _NOT_TEXT),
    (b"BM", "an image (BMP)", _NOT_TEXT),
    (b"RIFF", "an image or a sound (RIFF)", _NOT_TEXT),
    (b"II*\x00", "an image (TIFF)", _NOT_TEXT),
    (b"MM\x00*", "an image (TIFF)", _NOT_TEXT),
    (b"\xff\xfe\x00\x00", "UTF-32 text", "Save it as UTF-8 and import that file."),
    (b"\x00\x00\xfe\xff", "UTF-32 text", "Save it as UTF-8 and import that file."),
)


def _read_exactly(fileobj, size):
    parts = []
    while size > 0:
        chunk = fileobj.read(size)
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


class _LineSource:
    """Decode a binary stream into batches of text lines (no terminators).

    UTF-8 (with or without BOM) is tried first; a file whose first invalid
    UTF-8 byte comes while everything before it was plain ASCII is read as
    CP-1252 from there on (both agree on ASCII, so nothing read earlier
    changes). UTF-16 with a BOM (Excel's "Unicode text") is read too.
    CRLF, LF and CR line ends are accepted. A zip archive holding one CSV
    file (as Walmart delivers its reports) is read through: :attr:`member`
    is then the name of that file.
    """

    def __init__(self, fileobj, issues):
        self._issues = issues
        self.lines_read = 0
        self.member = None
        head = _read_exactly(fileobj, const.SNIFF_BYTES)
        if not head.strip():
            issues.add(None, None, "The file is empty.")
            raise _Fatal
        if is_zip(head):
            try:
                self.member, fileobj = open_single_csv(fileobj, head)
                head = _read_exactly(fileobj, const.SNIFF_BYTES)
            except ArchiveError as exc:
                issues.add(None, None, str(exc))
                raise _Fatal from None
            if not head.strip():
                issues.add(None, None, f"'{self.member}' in the ZIP archive is empty.")
                raise _Fatal
        self._file = fileobj
        for magic, what, advice in _MAGIC:
            # Some signatures ("BM", "RIFF") are also how a text line may
            # start: such a file is taken for what it says only when it is
            # not plain text.
            if head.startswith(magic) and not (magic.isalnum() and _plain_text(head)):
                issues.add(
                    None, None, f"This is {what}, not a settlement text file. {advice}"
                )
                raise _Fatal
        self.encoding = "utf-8"
        self.bom = False
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.encoding = "utf-16"
            self.bom = True
        else:
            if head.startswith(codecs.BOM_UTF8):
                head = head[len(codecs.BOM_UTF8) :]
                self.bom = True
            nul = head.find(b"\x00")
            if nul >= 0 and _utf16_without_bom(head):
                issues.add(
                    None,
                    None,
                    "The file is UTF-16 text without a byte order mark: its "
                    "encoding cannot be told for sure. Save it as UTF-8 (or as "
                    "Unicode text with a byte order mark) and import that file.",
                )
                raise _Fatal
            if nul >= 0:
                issues.add(
                    head.count(b"\n", 0, nul) + 1,
                    None,
                    "The file is binary (it contains NUL bytes), not a settlement "
                    "text file.",
                )
                raise _Fatal
        self._head = head
        self._cr_only = b"\n" not in head and b"\r" in head
        self._non_ascii = False

    def _blocks(self):
        yield self._head
        read = self._file.read
        while True:
            try:
                block = read(const.READ_BLOCK_BYTES)
            except ArchiveError as exc:
                self._issues.add(self.lines_read + 1, None, str(exc))
                raise _Fatal from None
            if not block:
                return
            yield block

    def first_line(self):
        """The first non-blank line of the file, decoded leniently: enough
        to tell layouts apart before reading."""
        encoding = "utf-16" if self.encoding == "utf-16" else "utf-8"
        for line in self._head.decode(encoding, errors="replace").splitlines():
            if line.strip():
                return line
        return ""

    def batches(self):
        """Yield lists of lines; ``self.lines_read`` counts lines yielded."""
        if self.encoding == "utf-16":
            yield from self._utf16_batches()
            return
        pending = b""
        newline = b"\r" if self._cr_only else b"\n"
        for block in self._blocks():
            data = pending + block if pending else block
            cut = data.rfind(newline)
            if cut < 0:
                pending = data
                if len(pending) > 4 * const.MAX_LINE_CHARS:  # 4: UTF-8's widest
                    self._too_long(self.lines_read + 1)
                continue
            pending = data[cut + 1 :]
            yield self._split(data[: cut + 1])
        if pending:
            yield self._split(pending)

    def _split(self, chunk):
        if self._cr_only:
            chunk = chunk.replace(b"\r", b"\n")
        first_line = self.lines_read + 1
        if b"\x00" in chunk:
            line = first_line + chunk.count(b"\n", 0, chunk.find(b"\x00"))
            self._issues.add(
                line, None, "Binary data (NUL bytes) in the file; it is damaged."
            )
            raise _Fatal
        text = self._decode(chunk, first_line)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        self._check_lengths(lines, first_line)
        self.lines_read += len(lines)
        return lines

    def _check_lengths(self, lines, first_line):
        if lines and max(map(len, lines)) > const.MAX_LINE_CHARS:
            for index, line in enumerate(lines):
                if len(line) > const.MAX_LINE_CHARS:
                    self._too_long(first_line + index, len(line))

    def _too_long(self, line_no, length=None):
        size = f"{length:,}" if length else f"more than {const.MAX_LINE_CHARS:,}"
        self._issues.add(
            line_no,
            None,
            f"the line has {size} characters; a settlement line has at most "
            f"{const.MAX_LINE_CHARS:,}. This is not a settlement text file, or "
            "its line ends are missing.",
        )
        raise _Fatal

    def _decode(self, chunk, first_line):
        ascii_chunk = chunk.isascii()
        if ascii_chunk:
            return chunk.decode("ascii")
        try:
            text = chunk.decode(self.encoding)
        except UnicodeDecodeError as exc:
            line = first_line + chunk.count(b"\n", 0, exc.start)
            if (
                self.encoding == "utf-8"
                and not self.bom
                and not self._non_ascii
                and chunk[: exc.start].isascii()
            ):
                # First non-ASCII byte of the file is not UTF-8: a CP-1252 file.
                self.encoding = "cp1252"
                return self._decode(chunk, first_line)
            which = "UTF-8" if self.encoding == "utf-8" else "Windows-1252"
            self._issues.add(
                line,
                None,
                f"Bytes that are not valid {which} text: the file's encoding "
                "cannot be recognised (it mixes encodings or is damaged). Save "
                "it again as UTF-8.",
            )
            text = chunk.decode(self.encoding, errors="replace")
        self._non_ascii = True
        return text

    def _utf16_batches(self):
        decoder = codecs.getincrementaldecoder("utf-16")(errors="strict")
        carry = ""
        for block in self._blocks():
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError:
                self._issues.add(
                    self.lines_read + 1, None, "Bytes that are not valid UTF-16 text."
                )
                raise _Fatal from None
            text = carry + text.replace("\r\n", "\n")
            carry = ""
            if text.endswith("\r"):
                text, carry = text[:-1], "\r"
            text = text.replace("\r", "\n")
            lines = text.split("\n")
            carry = lines.pop() + carry
            if "\x00" in text:
                self._issues.add(self.lines_read + 1, None, "Binary data in the file.")
                raise _Fatal
            self._check_lengths(lines, self.lines_read + 1)
            if len(carry) > const.MAX_LINE_CHARS:
                self._too_long(self.lines_read + len(lines) + 1)
            self.lines_read += len(lines)
            yield lines
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            self._issues.add(
                self.lines_read + 1,
                None,
                "The file ends in the middle of a character: it is cut short "
                "(truncated download?).",
            )
            raise _Fatal from None
        if carry.strip("\r"):
            self.lines_read += 1
            yield [carry.strip("\r")]


_CONTROL = bytes(c for c in range(32) if c not in b"\t\n\r")


def _plain_text(data):
    """ASCII text without control characters (tab and line ends aside)."""
    return data.isascii() and data.translate(None, _CONTROL) == data


def _utf16_without_bom(head):
    """Text of one-byte characters written as UTF-16 without a byte order
    mark: every other byte is NUL."""
    sample = head[:4096]
    half = len(sample) // 2
    if half < 8:
        return False
    return sample[1::2].count(0) > 0.9 * half or sample[0::2].count(0) > 0.9 * half


# --- Numbers and dates -------------------------------------------------------


class _Numbers:
    """Amounts in dot or comma decimal style, with thousands separators.

    ``1,234.56``, ``1.234,56``, ``95,00``, ``-3,5``, ``1 234,56``. A value
    whose only separator is followed by exactly three digits (``1,234``) can
    be read both ways: it follows the decimal style the file shows elsewhere;
    before any evidence it is read with a decimal point, and if the file later
    turns out to use decimal commas those earlier values are reported.
    """

    def __init__(self, issues):
        self._issues = issues
        self.cache = {}
        self.style = None  # "." or "," once a value shows it
        self.style_line = None
        self._pending = []  # ambiguous values read before the style was known

    def parse(self, raw, line, column):
        value = self.cache.get(raw)
        if value is not None:
            return value
        value, ambiguous = self._convert(raw, line, column)
        if value is None:
            self._issues.add(line, column, f"'{raw}' is not a number.")
            return None
        if not ambiguous:
            if len(self.cache) > 200_000:
                self.cache.clear()
            self.cache[raw] = value
        return value

    def _evidence(self, sep, raw, line, column):
        if self.style is None:
            self.style = sep
            self.style_line = line
            if sep == ",":
                for p_line, p_column, p_raw in self._pending:
                    self._issues.add(
                        p_line,
                        p_column,
                        f"'{p_raw}' was read with a decimal point but the file "
                        f"uses decimal commas (line {line}); write the amount "
                        "unambiguously.",
                    )
            self._pending = []
        elif sep != self.style:
            name = "comma" if sep == "," else "point"
            other = "commas" if self.style == "," else "points"
            self._issues.add(
                line,
                column,
                f"'{raw}' uses a decimal {name} but earlier amounts (line "
                f"{self.style_line}) use decimal {other}.",
            )

    def _convert(self, raw, line, column):
        s = raw.strip()
        if " " in s or "\xa0" in s or "\u202f" in s:
            s = s.replace(" ", "").replace("\xa0", "").replace("\u202f", "")
        sign = ""
        if s and s[0] in "+-":
            sign = "-" if s[0] == "-" else ""
            s = s[1:]
        dots = s.count(".")
        commas = s.count(",")
        evidence = None  # the decimal separator this value shows
        ambiguous = None  # the separator of a "1,234"-like value
        if dots and commas:
            evidence = "." if s.rfind(".") > s.rfind(",") else ","
            thousands = "," if evidence == "." else "."
            if s.count(evidence) != 1:
                return None, False
            whole, frac = s.split(evidence)
            whole = _ungroup(whole, thousands)
        elif dots or commas:
            sep = "." if dots else ","
            parts = s.split(sep)
            if len(parts) > 2:
                whole, frac = _ungroup(s, sep), ""
                evidence = "," if sep == "." else "."
            else:
                whole, frac = parts
                if not whole and frac:
                    whole = "0"
                if len(frac) == 3 and 0 < len(whole) <= 3 and whole != "0":
                    ambiguous = sep
                else:
                    evidence = sep
        else:
            whole, frac = s, ""
        if (
            not whole
            or not (whole.isascii() and whole.isdigit())
            or (frac and not (frac.isascii() and frac.isdigit()))
            or len(whole) > const.MAX_AMOUNT_DIGITS
        ):
            return None, False
        if evidence:
            self._evidence(evidence, raw, line, column)
        elif ambiguous:
            style = self.style
            if style is None:
                if len(self._pending) < const.MAX_LISTED_ISSUES:
                    self._pending.append((line, column, raw))
                style = "."
            if style != ambiguous:
                whole, frac = whole + frac, ""
        text = f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"
        return Decimal(text), ambiguous is not None


def _ungroup(whole, sep):
    """``1,234,567`` -> ``1234567``; None when the groups are not of three."""
    groups = whole.split(sep)
    if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
        return None
    return "".join(groups)


def parse_datetime(raw):
    """Parse one of the settlement date forms into an aware datetime.

    Forms: ``2024-01-02T03:04:05+00:00``, ``2024-01-02 03:04:05 UTC``,
    ``02.01.2024 03:04:05 UTC``, ``02.01.2024``, ``2024-01-02`` (also with
    ``Z`` or fractional seconds). The file's offset is kept; a value without
    one is taken as UTC.

    :raise ValueError: for anything else
    """
    s = raw.strip()
    tz = None
    for suffix in const.UTC_SUFFIXES:
        if s.endswith(suffix):
            s = s[: -len(suffix)].rstrip()
            tz = _UTC
            break
    if len(s) >= 10 and s[2] == "." and s[5] == ".":
        s = f"{s[6:10]}-{s[3:5]}-{s[0:2]}{s[10:]}"
    if len(s) < 10 or s[4] != "-" or s[7] != "-":
        raise ValueError(raw)
    value = datetime.fromisoformat(s)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz or _UTC)
    elif tz is not None:
        raise ValueError(raw)
    return value


# --- Reader ------------------------------------------------------------------

_DATE_FORMS = (
    "2024-01-31T23:59:59+00:00, 2024-01-31 23:59:59 UTC, "
    "31.01.2024 23:59:59 UTC, 31.01.2024 or 2024-01-31"
)
_IDX = {name: i for i, name in enumerate(const.FIELDS)}
_ID_INDEXES = tuple((field, _IDX[field]) for field in const.ID_FIELDS)
_SPREADSHEET_ID = re.compile(const.SPREADSHEET_ID_PATTERN).fullmatch
_SPREADSHEET_DATE = re.compile(const.SPREADSHEET_DATE_PATTERN).fullmatch
_HEADER_DATES = {
    const.F_START: "start",
    const.F_END: "end",
    const.F_DEPOSIT: "deposit_date",
}


def _normalise(name):
    key = name.strip().strip('"').strip().lower().replace("-", "_").replace(" ", "_")
    return const.HEADER_ALIASES.get(key, key)


def _walmart(layout, source):
    """Is the file to be read as Walmart's reconciliation report?"""
    if layout != const.LAYOUT_AUTO:
        return layout == const.LAYOUT_WALMART_RECON_V1
    line = source.first_line()
    if "," not in line:
        return False
    names = {_normalise(cell) for cell in next(csv.reader([line]))}
    return const.WALMART_RECON_COLUMNS <= names and const.F_SETTLEMENT_ID not in names


class SettlementReader:
    """Read one settlement file.

    :param fileobj: binary file object, read once from its current position
        (a zip archive holding one CSV file is read through)
    :param filename: shown in the error message
    :param layout: ``"auto"`` (Walmart's reconciliation report ->
        ``walmart_recon_v1``, else tab-separated -> ``amazon_v2``, comma or
        semicolon -> ``generic_csv``) or one of ``settlement_const.LAYOUTS``
    :param order_number: Walmart reports only: which Walmart number becomes
        the order id (``settlement_const.WALMART_ORDER_NUMBERS``; None: the
        customer order number)
    :raise SettlementFileError: at construction when the file has no usable
        header or summary; at the end of iteration for everything else

    Constructing it returns a
    :class:`~.walmart_recon.WalmartReconReader` (a subclass) for a Walmart
    reconciliation report. :attr:`header` is available after construction.
    Iterating yields :class:`SettlementRow` objects; when the file is
    exhausted the totals are checked and all problems found raise one
    :class:`SettlementFileError`.
    """

    def __new__(cls, fileobj, *, layout="auto", **_options):
        if layout not in const.LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}")
        issues = _Issues()
        source = failure = None
        try:
            # A fatal problem is already recorded in the issues, raised later.
            with suppress(_Fatal):
                source = _LineSource(fileobj, issues)
        except Exception as exc:  # a bug of the reader: said by __init__
            failure = exc
        if cls is SettlementReader and source is not None and _walmart(layout, source):
            # Imported here: walmart_recon builds on this module.
            from .walmart_recon import WalmartReconReader  # noqa: PLC0415

            cls = WalmartReconReader
        reader = super().__new__(cls)
        reader._opened = (issues, source, failure)
        return reader

    def __init__(
        self, fileobj: BinaryIO, *, filename=None, layout="auto", order_number=None
    ):
        # What every layout shares; each reads its own header and summary
        # (_read_header, _read_summary) and may check its options first
        # (_configure).
        self._configure(layout, order_number)
        self.filename = filename
        self.rows_read = 0
        self.total = Decimal(0)
        self._issues, source, failure = self._opened
        del self._opened
        self._numbers = _Numbers(self._issues)
        self._amounts = self._numbers.cache
        self._iterated = False
        self._amazon_names = False
        self._display = {}
        self._line_no = 0
        # Issues of the rows read ahead wait for the end, with the others.
        self._ahead_issues = 0
        if failure is not None:
            self._fail(failure, None)
        try:
            # A fatal problem is already recorded in the issues, raised below.
            with suppress(_Fatal):
                if source is None:
                    raise _Fatal
                self._source = source
                self._lines = source.batches()
                self._read_header(layout)
                self._read_summary()
        except Exception as exc:  # a bug of the reader: said, never a traceback
            self._fail(exc, self._line_no)
        if self._issues.count > self._ahead_issues:
            self._raise()

    def _configure(self, layout, order_number):
        """Check and keep the options of the layout (before anything is read)."""
        self._first_rows = []

    # -- error helpers

    def _raise(self):
        raise SettlementFileError(
            self._issues.kept, filename=self.filename, total=self._issues.count
        )

    def _fail(self, exc, line_no):
        """The reader itself failed: one issue says so, the exception is kept
        (``SettlementFileError.unexpected``) for the caller to log."""
        where = f" (near line {line_no})" if line_no else ""
        issue = SettlementIssue(
            None,
            None,
            f"The importer failed while reading this file{where}: "
            f"{type(exc).__name__}: {exc}. This is a fault of the importer, not "
            "of the file; nothing was imported. Report it to support with the "
            "file.",
        )
        raise SettlementFileError(
            [issue], filename=self.filename, unexpected=exc
        ) from exc

    def _replace_issues(self, line, field, message):
        """Drop every issue collected: ``message`` says all there is to say."""
        self._issues.kept.clear()
        self._issues.count = 0
        self._err(line, field, message)
        raise _Fatal

    def _err(self, line, field, message):
        self._issues.add(line, self._col(field), message)

    def _col(self, field):
        if field is None:
            return None
        return self._display.get(field) or self._canonical_name(field)

    def _canonical_name(self, field):
        if self.layout == const.LAYOUT_AMAZON_V2:
            return field.replace("_", "-")
        return field

    def _implausible_date(self, raw, line_no, field):
        self._err(
            line_no,
            field,
            f"'{raw}' is not a plausible date for a settlement (years "
            f"{const.MIN_YEAR} to {const.MAX_YEAR}).",
        )

    # -- header and iteration, every layout

    def _header_line(self):
        """The first line that is not blank: the header.

        ``_line_no`` becomes its number, the rest of its batch waits in
        ``_rest`` (see :meth:`_chain_rest`).

        :raise _Fatal: the file is empty
        """
        line_no = 0
        for batch in self._lines:
            for i, line in enumerate(batch):
                line_no += 1
                if line.strip():
                    self._line_no = line_no
                    self._rest = batch[i + 1 :]
                    return line
        self._line_no = line_no
        self._issues.add(None, None, "The file is empty.")
        raise _Fatal

    def _chain_rest(self):
        yield self._rest
        self._rest = None
        yield from self._lines

    def _column_twice(self, line_no, cell, first, position):
        self._issues.add(
            line_no,
            cell.strip(),
            f"the column appears twice (columns {first + 1} and "
            f"{position + 1}); remove one of them.",
        )

    def _required_columns(self, line_no, columns, required):
        for field in required:
            if field not in columns:
                self._err(line_no, field, "required column is missing.")

    def _summary_total(self, raw, line_no, field, empty):
        """The total (the deposit) of the summary row; None when it is
        ``empty`` (said with that message) or not a number."""
        if not raw.strip():
            self._err(line_no, field, empty)
            return None
        return self._numbers.parse(raw, line_no, self._col(field))

    def _start_iteration(self):
        if self._iterated:
            raise RuntimeError("a SettlementReader can be iterated only once")
        self._iterated = True

    # -- lines and header

    def _read_header(self, layout):
        self.layout = const.LAYOUT_AMAZON_V2 if layout == "auto" else layout
        header_line = self._header_line()
        line_no = self._line_no
        if layout == "auto":
            self.layout = (
                const.LAYOUT_AMAZON_V2
                if "\t" in header_line
                else const.LAYOUT_GENERIC_CSV
            )
        if self.layout == const.LAYOUT_AMAZON_V2:
            self._delimiter = "\t"
        else:
            self._delimiter = (
                ";" if header_line.count(";") > header_line.count(",") else ","
            )
        cells = next(csv.reader([header_line], delimiter=self._delimiter))
        columns = {}
        known = 0
        for position, cell in enumerate(cells):
            name = _normalise(cell)
            if not name:
                continue
            if name in columns:
                if name not in _IDX:
                    continue  # an unknown column is ignored, even twice
                self._column_twice(line_no, cell, columns[name], position)
                continue
            columns[name] = position
            if name in _IDX:
                known += 1
                self._display[name] = cell.strip()
        v1_columns = const.AMAZON_V1_COLUMNS.intersection(columns)
        if v1_columns and const.F_AMOUNT_TYPE not in columns:
            self._issues.add(
                line_no,
                None,
                "This is an Amazon settlement report in the old Flat File (V1) "
                "layout (it has columns such as price-type and "
                "item-related-fee-type instead of amount-type, "
                "amount-description and amount), which cannot be imported. In "
                "Seller Central, open Reports > Payments > All Statements, "
                "download this settlement as a Flat File V2 and import that file.",
            )
            raise _Fatal
        if (
            const.WALMART_RECON_COLUMNS.issubset(columns)
            and const.F_SETTLEMENT_ID not in columns
        ):
            self._issues.add(
                line_no,
                None,
                "This is Walmart's reconciliation report, which is not in the "
                f"{self.layout} layout asked for: import it with the layout "
                f"'{const.LAYOUT_AUTO}' or '{const.LAYOUT_WALMART_RECON_V1}'.",
            )
            raise _Fatal
        if not known:
            expected = ", ".join(self._canonical_name(f) for f in const.REQUIRED_FIELDS)
            sep = "tab" if self._delimiter == "\t" else repr(self._delimiter)
            self._issues.add(
                line_no,
                None,
                "This is not a settlement file: the header has none of the "
                f"expected columns ({expected}) separated by {sep}.",
            )
            raise _Fatal
        self._required_columns(line_no, columns, const.REQUIRED_FIELDS)
        if not any(f in columns for f in const.POSTED_DATE_FIELDS):
            names = " or ".join(self._col(f) for f in const.POSTED_DATE_FIELDS)
            self._issues.add(line_no, None, f"a {names} column is required.")
        if self._issues.count:
            raise _Fatal
        self._ncols = len(cells)
        # Amazon's own column names: a file from Seller Central, maybe re-saved.
        self._amazon_names = (
            self.layout == const.LAYOUT_AMAZON_V2
            or self._display.get(const.F_SETTLEMENT_ID) == "settlement-id"
        )
        # A row may stop after the last column that is read.
        self._min_fields = max(columns[f] for f in columns if f in _IDX) + 1
        missing = len(cells)  # index of the '' appended to every row
        self._getter = itemgetter(*(columns.get(f, missing) for f in const.FIELDS))
        self._seen_items = set()
        # order item -> state of its current amount group, packed in one int:
        # (line where the group starts) << 2 | has its price row << 1 | counted;
        # the item of the previous row is kept apart, its state unsaved:
        # [order id, item, transaction type, state, key]
        self._order_items = {}
        self._current_item = [None, None, None, 0, None]
        self._other_ids = set()
        self._kinds = {}
        self._quantities = {}
        self._short_dates = {}
        self._last_dt = (None, None)
        self._amount_column = self._col(const.F_AMOUNT)

    def _data_records(self):
        """Yield ``(line_no, values)`` for each line after the header.

        ``values`` is the tuple of :data:`settlement_const.FIELDS`, ``()`` for
        a blank line, None for a line with the wrong number of fields.
        """
        line_no = self._line_no
        values_of = self._values
        if self._delimiter == "\t":
            ncols = self._ncols
            getter = self._getter
            for batch in self._chain_rest():
                for line in batch:
                    line_no += 1
                    if not line:
                        continue
                    if '"' in line:
                        fields = next(csv.reader([line], delimiter="\t"))
                    else:
                        fields = line.split("\t")
                    if len(fields) == ncols:
                        fields.append("")
                        yield line_no, getter(fields)
                    else:
                        yield line_no, values_of(line_no, fields)
            self._line_no = line_no
            return
        # CSV: quoted fields may span lines, so the csv module drives.
        counter = [line_no]

        def lines():
            for batch in self._chain_rest():
                for line in batch:
                    counter[0] += 1
                    yield line + "\n"

        reader = csv.reader(lines(), delimiter=self._delimiter, strict=True)
        start = line_no + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if "field limit" in str(exc):
                    self._issues.add(
                        start,
                        None,
                        "a value that starts on this line is longer than "
                        f"{csv.field_size_limit():,} characters: a quote is never "
                        "closed, or this is not a settlement file.",
                    )
                    raise _Fatal from None
                self._issues.add(counter[0], None, f"badly quoted field ({exc}).")
                yield counter[0], None
                start = counter[0] + 1
                continue
            if fields:
                # Hand-made CSV often has "a, b": values are trimmed.
                yield start, values_of(start, [f.strip() for f in fields])
            start = counter[0] + 1
        self._line_no = counter[0]

    def _read_summary(self):
        self._records = self._data_records()
        for line_no, values in self._records:
            if values is None:
                if self._issues.full:
                    raise _Fatal
                continue
            if not any(values):
                continue
            summary = (
                not values[_IDX[const.F_TRANSACTION_TYPE]]
                and not values[_IDX[const.F_AMOUNT]].strip()
            )
            self._build_header(line_no, values)
            # The first rows are read ahead and checked now, before anything
            # is written (a settlement already imported would be named
            # first): was the file re-saved by a spreadsheet?
            first = [] if summary else [(line_no, values)]
            before = self._issues.count
            first.extend(self._next_rows(const.SPREADSHEET_CHECK_ROWS - len(first)))
            for record in first:
                self._check_spreadsheet(*record)
            self._ahead_issues = self._issues.count - before
            self._first_rows = first
            return
        self._issues.add(
            self._line_no,
            None,
            "The file has a header but no settlement rows: no summary row and no "
            "transactions.",
        )
        raise _Fatal

    def _next_rows(self, count):
        """Up to ``count`` next records with values."""
        rows = []
        if count <= 0:
            return rows
        for line_no, values in self._records:
            if values:
                rows.append((line_no, values))
                if len(rows) >= count:
                    break
            elif values is None and self._issues.full:
                raise _Fatal
        return rows

    def _check_spreadsheet(self, line_no, values):
        self._check_ids(line_no, values)
        raw = values[_IDX[const.F_POSTED_DATE]]
        if self._amazon_names and _SPREADSHEET_DATE(raw.strip()):
            self._spreadsheet_saved(line_no, const.F_POSTED_DATE, raw, date=True)

    def _values(self, line_no, fields):
        """Pick the fields of a line, checking its length against the header."""
        n = len(fields)
        if n != self._ncols:
            if n < self._min_fields:
                if not any(f.strip() for f in fields):
                    return ()
                self._wrong_length(
                    line_no,
                    n,
                    "it is cut short (truncated file?) or a separator is missing",
                )
                return None
            if n > self._ncols:
                self._wrong_length(
                    line_no, n, "a value contains a separator or is shifted"
                )
                return None
            # Short but complete up to the last named column: pad it.
            fields.extend([""] * (self._ncols - n))
        fields.append("")
        return self._getter(fields)

    def _wrong_length(self, line_no, n, why):
        self._issues.add(
            line_no,
            None,
            f"the line has {n} fields but the header has {self._ncols}: {why}.",
        )

    def _build_header(self, line_no, values):
        sid = values[0].strip()
        if not sid:
            self._err(line_no, const.F_SETTLEMENT_ID, "the settlement id is empty.")
        self._check_ids(line_no, values)
        currency = values[_IDX[const.F_CURRENCY]].strip()
        if not currency:
            self._err(line_no, const.F_CURRENCY, "the currency is empty.")
        total = self._summary_total(
            values[_IDX[const.F_TOTAL]],
            line_no,
            const.F_TOTAL,
            "the total amount (the deposit) is empty on the summary row.",
        )
        dates = {}
        for field in (const.F_START, const.F_END, const.F_DEPOSIT):
            raw = values[_IDX[field]]
            dates[field] = self._date(raw, line_no, field) if raw.strip() else None
        if dates[const.F_DEPOSIT] is None and not values[_IDX[const.F_DEPOSIT]].strip():
            self._err(line_no, const.F_DEPOSIT, "the deposit date is empty.")
        start, end = dates[const.F_START], dates[const.F_END]
        if start and end and start > end:
            self._err(line_no, const.F_END, "the settlement ends before it starts.")
        if self._issues.count:
            raise _Fatal
        self._summary_raw = tuple(values[_IDX[f]] for f in const.SUMMARY_FIELDS)
        self.header = SettlementHeader(
            settlement_id=sid,
            start=start,
            end=end,
            deposit_date=dates[const.F_DEPOSIT],
            total_amount=total,
            currency=currency.upper(),
            marketplace_name=values[_IDX[const.F_MARKETPLACE]].strip() or None,
            layout=self.layout,
        )
        self._summary_line = line_no

    def _check_ids(self, line_no, values):
        """Refuse the file at the first id a spreadsheet turned into a number."""
        for field, index in _ID_INDEXES:
            raw = values[index]
            if "E+" in raw and _SPREADSHEET_ID(raw.strip()):
                self._spreadsheet_saved(line_no, field, raw, date=False)

    def _spreadsheet_saved(self, line_no, field, raw, *, date):
        """One message for a file a spreadsheet re-saved: its ids and dates
        are no longer what the marketplace wrote, whatever else is wrong."""
        if date:
            found = (
                f"the date '{raw}' is in a spreadsheet's format, not the "
                "marketplace's, and such a file has usually lost the digits of "
                "its long ids too (an order item code shown as '7.82115E+12')"
            )
        else:
            found = (
                f"the id '{raw}' was turned into a number in scientific notation: "
                "its digits are lost and cannot be recovered"
            )
        if self._amazon_names:
            advice = (
                "Import the original file: download the settlement report "
                "(Flat File V2) again from Seller Central and import it as "
                "downloaded, without opening and saving it in a spreadsheet."
            )
        else:
            advice = (
                "Import the file as the marketplace delivered it, or make it "
                "again with the id columns formatted as text."
            )
        self._replace_issues(
            line_no,
            field,
            "this file was opened and saved by a spreadsheet program (such as "
            f"Excel), which changed it: {found}. {advice}",
        )

    def _date(self, raw, line_no, field):
        try:
            value = parse_datetime(raw)
            if const.MIN_YEAR <= value.year <= const.MAX_YEAR:
                return value
            self._implausible_date(raw, line_no, field)
            return None
        except ValueError:
            # Amazon's short posted date is the one a spreadsheet rewrites
            # (the others carry a time zone it does not recognise).
            if (
                field == const.F_POSTED_DATE
                and self._amazon_names
                and _SPREADSHEET_DATE(raw.strip())
            ):
                self._spreadsheet_saved(line_no, field, raw, date=True)
            self._err(
                line_no,
                field,
                f"'{raw}' is not a date; expected a form like {_DATE_FORMS}.",
            )
            return None

    # -- rows

    def __iter__(self) -> Iterator[SettlementRow]:
        self._start_iteration()
        issues = self._issues
        line_no = self._line_no
        try:
            with suppress(_Fatal):  # recorded in the issues, raised below
                first, self._first_rows = self._first_rows, []
                for line_no, values in first:
                    row = self._row(line_no, values)
                    if row is not None:
                        yield row
                row_of = self._row
                for line_no, values in self._records:
                    if values:
                        row = row_of(line_no, values)
                        if row is not None:
                            yield row
                            continue
                    elif values is not None:
                        continue  # blank line
                    if issues.full:
                        issues.stop(line_no)
                        break
                else:
                    self._check_order_items()
                    self._check_totals()
        except Exception as exc:  # a bug of the reader: said, never a traceback
            self._fail(exc, line_no)
        if issues.count:
            self._raise()

    def _row(self, line_no, values):
        (
            sid,
            start,
            end,
            deposit,
            total,
            currency,
            ttype,
            order_id,
            merchant_order_id,
            adjustment_id,
            shipment_id,
            marketplace,
            amount_type,
            amount_description,
            amount_raw,
            fulfillment_id,
            posted_raw,
            posted_dt_raw,
            item_code,
            merchant_item_id,
            merchant_adj_item_id,
            sku,
            quantity_raw,
            promotion_id,
        ) = values
        ok = True
        if (
            (sid and sid != self.header.settlement_id)
            or start
            or end
            or deposit
            or total
            or currency
        ):
            ok = self._check_summary_repeat(line_no, values)
        if not ttype:
            if not any(values):
                return None
            self._err(
                line_no, const.F_TRANSACTION_TYPE, "the transaction type is empty."
            )
            ok = False
        kind_key = (ttype, amount_type, amount_description)
        kind_role = self._kinds.get(kind_key)
        if kind_role is None:
            kind_role = self._kinds[kind_key] = _kind_and_role(*kind_key)
        kind, item_role = kind_role
        amount = self._amounts.get(amount_raw)
        if amount is None:
            if amount_raw:
                amount = self._numbers.parse(amount_raw, line_no, self._amount_column)
            else:
                self._err(line_no, const.F_AMOUNT, "the amount is empty.")
            ok = ok and amount is not None
        posted = None
        if posted_raw:
            posted = self._short_dates.get(posted_raw)
            if posted is None:
                dt = self._date(posted_raw, line_no, const.F_POSTED_DATE)
                if dt is None:
                    ok = False
                else:
                    posted = self._short_dates[posted_raw] = dt.date()
        if posted_dt_raw:
            last_raw, last_date = self._last_dt
            if posted_dt_raw != last_raw:
                dt = self._date(posted_dt_raw, line_no, const.F_POSTED_DATE_TIME)
                if dt is None:
                    ok = False
                else:
                    last_date = dt.date()
                    self._last_dt = (posted_dt_raw, last_date)
            if posted is None:
                posted = last_date
        quantity = 0
        if quantity_raw:
            quantity = self._quantities.get(quantity_raw)
            if quantity is None:
                quantity = self._quantity(quantity_raw, line_no)
                if quantity is None:
                    return None
        if item_role and sku:
            # Goods sold: the quantity is counted once per amount group of the
            # order item (_ROLE_* and _check_order_items say how), and must be
            # a positive number of units.
            if quantity < 0:
                self._err(
                    line_no,
                    const.F_QUANTITY,
                    f"the quantity {quantity_raw} is negative on an order row: "
                    "a sale takes units out of stock, so its cost of goods would "
                    "be booked backwards. Correct the quantity or the "
                    "transaction type.",
                )
            if order_id:
                item = item_code or merchant_item_id or sku
                current = self._current_item
                if (
                    order_id == current[0]
                    and item == current[1]
                    and ttype == current[2]
                ):
                    state = current[3]  # the rows of an item mostly follow
                else:
                    state = self._switch_item(ttype, order_id, item, line_no, values)
                if item_role == _ROLE_PRICE:
                    if not state & 2:
                        state |= 2
                    elif state >> 2 != line_no:
                        # A second price row of the item: a new amount group.
                        if not state & 1:
                            self._no_quantity(state >> 2, order_id, current[4])
                        state = line_no << 2 | 2
                if quantity and not state & 1:
                    state |= 1
                else:
                    quantity = 0
                current[3] = state
            elif not quantity:
                self._no_quantity(line_no, None, sku)
        elif ok and quantity and (order_id or adjustment_id):
            key = (
                f"{ttype.lower()}\x1f{order_id}\x1f{adjustment_id}\x1f"
                f"{item_code or merchant_item_id or merchant_adj_item_id or sku}"
            )
            if key in self._seen_items:
                quantity = 0
            else:
                self._seen_items.add(key)
                self._check_ids(line_no, values)
        if not ok:
            # A readable amount still counts: a bad date or id must not make
            # the rows seem not to add up to the total as well.
            if amount is not None:
                self.total += amount
            return None
        self.total += amount
        self.rows_read += 1
        return _new_row(
            line_no,
            ttype,
            kind,
            order_id,
            merchant_order_id,
            adjustment_id,
            shipment_id,
            marketplace,
            amount_type,
            amount_description,
            amount,
            fulfillment_id,
            posted,
            item_code,
            merchant_item_id,
            merchant_adj_item_id,
            sku,
            quantity,
            promotion_id,
        )

    def _quantity(self, raw, line_no):
        try:
            quantity = int(raw)
        except ValueError:
            value = self._numbers.parse(raw, line_no, self._col(const.F_QUANTITY))
            if value is None:
                return None
            if value != value.to_integral_value():
                self._err(
                    line_no, const.F_QUANTITY, f"'{raw}' is not a whole quantity."
                )
                return None
            quantity = int(value)
        if abs(quantity) > const.MAX_QUANTITY:
            self._err(
                line_no,
                const.F_QUANTITY,
                f"'{raw}' is not a plausible quantity (more than "
                f"{const.MAX_QUANTITY:,} units on one row).",
            )
            return None
        if len(self._quantities) < 10_000:
            self._quantities[raw] = quantity
        return quantity

    def _switch_item(self, ttype, order_id, item, line_no, values):
        """Save the state of the previous row's order item, return the state
        of this row's (a new item: its first amount group starts here)."""
        current = self._current_item
        items = self._order_items
        if current[4] is not None:
            items[current[4]] = current[3]
        key = f"{ttype.lower()}\x1f{order_id}\x1f{item}"
        state = items.get(key)
        if state is None:
            state = line_no << 2
            if "E+" in item or "E+" in order_id:
                self._check_ids(line_no, values)
        current[:] = [order_id, item, ttype, state, key]
        return state

    def _no_quantity(self, line_no, order_id, item):
        what = (
            f"order {order_id}, item {item.rsplit(chr(31), 1)[-1]}"
            if order_id
            else f"the order row of SKU {item}"
        )
        self._err(
            line_no,
            const.F_QUANTITY,
            f"{what}: no quantity on any of its rows (from here to its next "
            "price row): the units sold cannot be known, so neither can the "
            "cost of goods. Import the marketplace's original file; in a file "
            "you made, write the quantity on the item's rows.",
        )

    def _check_order_items(self):
        """Every order item's last amount group has its quantity (earlier
        groups were checked when the next one began)."""
        current = self._current_item
        if current[4] is not None:
            self._order_items[current[4]] = current[3]
        for key, state in self._order_items.items():
            if not state & 1:
                self._no_quantity(state >> 2, key.split("\x1f")[1], key)

    def _check_summary_repeat(self, line_no, values):
        """Settlement fields repeated on a row must agree with the summary."""
        ok = True
        for field, raw_summary in zip(
            const.SUMMARY_FIELDS, self._summary_raw, strict=True
        ):
            raw = values[_IDX[field]]
            if not raw or raw == raw_summary:
                continue
            if field == const.F_SETTLEMENT_ID:
                if raw not in self._other_ids and len(self._other_ids) < 20:
                    self._other_ids.add(raw)
                    self._err(
                        line_no,
                        field,
                        f"a second settlement id '{raw}' (the file is for "
                        f"settlement '{self.header.settlement_id}', line "
                        f"{self._summary_line}); import one settlement per file.",
                    )
                ok = False
            elif field == const.F_TOTAL:
                value = self._numbers.parse(raw, line_no, self._col(field))
                if value is not None and value != self.header.total_amount:
                    self._err(
                        line_no,
                        field,
                        f"'{raw}' differs from the total amount of the summary "
                        f"row ({self.header.total_amount}).",
                    )
                ok = ok and value is not None and value == self.header.total_amount
            elif field == const.F_CURRENCY:
                if raw.strip().upper() != self.header.currency:
                    self._err(
                        line_no,
                        field,
                        f"currency '{raw}' differs from the settlement currency "
                        f"{self.header.currency}.",
                    )
                    ok = False
            else:
                value = self._date(raw, line_no, field)
                summary_value = getattr(self.header, _HEADER_DATES[field])
                if value is None:
                    ok = False
                elif value != summary_value:
                    self._err(
                        line_no,
                        field,
                        f"'{raw}' differs from the summary row ('{raw_summary}').",
                    )
                    ok = False
        return ok

    def _check_totals(self):
        check = deposit_check(self.total, self.header.total_amount)
        if not check:
            self._err(
                self._summary_line,
                const.F_TOTAL,
                f"the rows add up to {self.total} but the total amount is "
                f"{check.reported_total} (difference {check.difference}); the "
                "file is incomplete or altered.",
            )


def read_settlement(fileobj, **kwargs):
    """Read a whole (small) settlement file.

    :return: ``(header, rows)``
    :raise SettlementFileError: when anything is wrong with the file
    """
    reader = SettlementReader(fileobj, **kwargs)
    rows = list(reader)
    return reader.header, rows
