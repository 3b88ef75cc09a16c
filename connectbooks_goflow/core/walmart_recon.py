"""Streaming reader for Walmart's reconciliation report v1 (CSV).

The file Walmart's Payments API (``reconFile?reportVersion=v1``) and Seller
Center deliver, as is or in the zip holding it: a header, a line
``Number of Lines in file N``, the ``PaymentSummary`` row (period, Total
Payable, currency), then one row per amount (the layout and its sources are
in ``settlement_const``, "Walmart reconciliation report v1").

:class:`WalmartReconReader` is what :class:`~.settlement_parser.SettlementReader`
returns for such a file: the same interface (``header``, iteration yielding
:class:`~.settlement_parser.SettlementRow`, ``rows_read``, ``total``), the same
streaming and the same all-or-nothing validation (every problem named by line
and column, raised once the file has been read).

How a Walmart row becomes a settlement row:

* the payment summary is the header; the settlement id is the period
  (``WALMART_SETTLEMENT_ID_FORMAT``), the deposit date its posted date;
* ``order_id`` is the customer order number or the purchase order number, as
  the ``order_number`` option says (``WALMART_ORDER_NUMBERS``), the other one
  is ``merchant_order_id``; the order line numbers follow them into
  ``order_item_code`` and ``merchant_order_item_id``;
* the Transaction Key is the ``shipment_id`` of a sale and the
  ``adjustment_id`` of anything else (a refund is keyed by it, as Amazon keys
  a refund by its adjustment id);
* Partner Item Id is the SKU, Ship Qty the quantity, Transaction Description
  the amount description, Fulfillment Type the fulfillment;
* Ship Qty is written on every amount row of a purchase order line: it is
  counted once per line and transaction (Transaction Key), like Amazon's
  quantity once per amount group;
* the kind follows :func:`classify_walmart`.
"""

import csv
import re
from contextlib import suppress
from datetime import datetime, time, timezone
from operator import itemgetter

from . import settlement_const as const
from .settlement_parser import (
    SettlementHeader,
    SettlementReader,
    _Fatal,
    _new_row,
    _normalise,
    classify,
    parse_datetime,
)

__all__ = ["WalmartReconReader", "classify_walmart", "parse_walmart_date"]

_UTC = timezone.utc
_SUMMARY = "summary"  # the kind cache's mark of a PaymentSummary row
_DATE_FORM = "MM/DD/YYYY, e.g. 07/16/2026"
(
    _PERIOD_START,
    _PERIOD_END,
    _TOTAL,
    _CURRENCY,
    _KEY,
    _POSTED,
    _TYPE,
    _DESCRIPTION,
    _CUSTOMER_ORDER,
    _CUSTOMER_LINE,
    _PURCHASE_ORDER,
    _PURCHASE_LINE,
    _AMOUNT,
    _AMOUNT_TYPE,
    _QUANTITY,
    _SKU,
    _FULFILLMENT,
) = const.WALMART_FIELDS
_SPREADSHEET_ID = re.compile(const.SPREADSHEET_ID_PATTERN).fullmatch
_REQUIRED = tuple(
    name for name in const.WALMART_FIELDS if name not in const.WALMART_OPTIONAL_FIELDS
)


def classify_walmart(transaction_type, amount_type="", description=""):
    """The kind of a Walmart row (case-insensitive).

    Sales are orders and refunds refunds; WFS inventory lost, damaged or found
    is an adjustment (goods leave or come back to stock); WFS charges and
    service fees are fees, whatever their transaction type (Walmart files WFS
    fulfilment fees under Adjustment, and one real row has no type at all);
    other adjustments stay adjustments; the rest as :func:`classify`.

    :return: one of ``settlement_const.KINDS``
    """
    t = transaction_type.strip().lower()
    d = description.strip().lower()
    if t in const.WALMART_SALE_TYPES:
        return const.KIND_ORDER
    if t in const.WALMART_REFUND_TYPES:
        return const.KIND_REFUND
    if t in const.WALMART_RESERVE_TYPES:
        return const.KIND_RESERVE
    if d in const.WALMART_INVENTORY_DESCRIPTIONS:
        return const.KIND_ADJUSTMENT
    if (
        t in const.WALMART_FEE_TYPES
        or d in const.WALMART_FEE_DESCRIPTIONS
        or d.startswith(const.WALMART_FEE_DESCRIPTION_PREFIX)
    ):
        return const.KIND_FEE
    if t in const.WALMART_ADJUSTMENT_TYPES:
        return const.KIND_ADJUSTMENT
    return classify(transaction_type, amount_type, description)


def parse_walmart_date(raw):
    """Parse Walmart's month-first date (``07/16/2026``, also ``7/16/2026`` and
    with a time ``07/16/2026 13:05:00``) or an ISO form into an aware datetime
    (UTC: Walmart gives no time zone).

    :raise ValueError: for anything else
    """
    s = raw.strip()
    if "/" not in s:
        return parse_datetime(s)
    day_part, _sep, time_part = s.partition(" ")
    parts = day_part.split("/")
    if (
        len(parts) != 3
        or len(parts[2]) != 4
        or not all(p.isascii() and p.isdigit() and p for p in parts)
    ):
        raise ValueError(raw)
    month, day, year = (int(p) for p in parts)
    value = datetime(year, month, day, tzinfo=_UTC)
    if time_part.strip():
        clock = time.fromisoformat(time_part.strip())
        value = value.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
    return value


class WalmartReconReader(SettlementReader):
    """Read one Walmart reconciliation report v1 (CSV, or its zip).

    :param fileobj: binary file object, read once from its current position
    :param filename: shown in the error message
    :param layout: ``"auto"`` or ``"walmart_recon_v1"``
    :param order_number: ``"customer_order"`` (default) or
        ``"purchase_order"``: the Walmart number that becomes the order id
        (the number Goflow knows the order by)
    :raise SettlementFileError: at construction when the file has no usable
        header or payment summary; at the end of iteration for everything else
    """

    def _configure(self, layout, order_number):
        order_number = order_number or const.WALMART_ORDER_CUSTOMER
        if order_number not in const.WALMART_ORDER_NUMBERS:
            raise ValueError(f"unknown Walmart order number {order_number!r}")
        if layout not in (const.LAYOUT_AUTO, const.LAYOUT_WALMART_RECON_V1):
            raise ValueError(f"layout {layout!r} is not a Walmart layout")
        self.layout = const.LAYOUT_WALMART_RECON_V1
        self.order_number = order_number

    # -- header, line count, payment summary

    def _read_header(self, layout):
        header_line = self._header_line()
        line_no = self._line_no
        cells = next(csv.reader([header_line]))
        wanted = {_normalise(name): name for name in const.WALMART_FIELDS}
        columns = {}
        for position, cell in enumerate(cells):
            field = wanted.get(_normalise(cell))
            if field is None:
                continue  # a column the reader does not use
            if field in columns:
                self._column_twice(line_no, cell, columns[field], position)
                continue
            columns[field] = position
            self._display[field] = cell.strip()
        self._required_columns(line_no, columns, _REQUIRED)
        if self._issues.count:
            raise _Fatal
        # The settlement fields the shared checks name.
        self._display[const.F_TOTAL] = self._display[_TOTAL]
        self._display[const.F_QUANTITY] = self._display[_QUANTITY]
        self._ncols = len(cells)
        # A transaction row may stop after the last required column; the
        # payment summary is shorter (34 fields of 43 in a real file).
        self._min_fields = max(columns[f] for f in _REQUIRED) + 1
        missing = len(cells)  # index of the '' appended to every row
        self._getter = itemgetter(
            *(columns.get(f, missing) for f in const.WALMART_FIELDS)
        )

    def _read_summary(self):
        self._records = self._walmart_records()
        self._declared_lines = None
        self._count_line = None
        for line_no, fields in self._records:
            if self._declared_lines is None and self._is_line_count(line_no, fields):
                continue
            values = self._values(line_no, fields, summary=True)
            if values is None:
                raise _Fatal
            if not values:
                continue
            ttype = values[6]
            if ttype.strip().lower() != const.WALMART_SUMMARY_TYPE:
                self._issues.add(
                    line_no,
                    self._display[_TYPE],
                    f"the first row is '{ttype}', not the payment summary (a row "
                    "of Transaction Type PaymentSummary, with the period and "
                    "the Total Payable): import the report as Walmart delivers "
                    "it.",
                )
                raise _Fatal
            self._build_walmart_header(line_no, values)
            self._records_read = 1
            return
        self._issues.add(
            self._line_no,
            None,
            "The file has a header but no payment summary row and no transactions.",
        )
        raise _Fatal

    def _is_line_count(self, line_no, fields):
        """The ``Number of Lines in file N`` line: remember N."""
        first = fields[0].strip() if fields else ""
        if not first.lower().startswith(const.WALMART_LINE_COUNT_PREFIX):
            return False
        if any(f.strip() for f in fields[1:]):
            return False
        count = first[len(const.WALMART_LINE_COUNT_PREFIX) :].strip()
        if not (count.isascii() and count.isdigit()):
            self._issues.add(
                line_no, None, f"'{first}': the number of lines is not a number."
            )
            raise _Fatal
        self._declared_lines = int(count)
        self._count_line = line_no
        return True

    def _build_walmart_header(self, line_no, values):
        start = self._walmart_date(values[0], line_no, _PERIOD_START, required=True)
        end = self._walmart_date(values[1], line_no, _PERIOD_END, required=True)
        total = self._summary_total(
            values[2],
            line_no,
            _TOTAL,
            "the Total Payable (the deposit) is empty on the payment summary.",
        )
        currency = values[3].strip().upper()
        if not currency:
            self._err(line_no, _CURRENCY, "the currency is empty.")
        deposit = None
        if values[5].strip():
            deposit = self._walmart_date(values[5], line_no, _POSTED)
        if start and end and start > end:
            self._err(line_no, _PERIOD_END, "the period ends before it starts.")
        if self._issues.count:
            raise _Fatal
        self.header = SettlementHeader(
            settlement_id=const.WALMART_SETTLEMENT_ID_FORMAT.format(
                start=start, end=end
            ),
            start=start,
            end=end,
            # Walmart states no deposit date: the payment is posted at the
            # end of its period (the summary's posted date).
            deposit_date=deposit or end,
            total_amount=total,
            currency=currency,
            marketplace_name=const.WALMART_MARKETPLACE_NAME,
            layout=self.layout,
        )
        self._summary_line = line_no
        self._customer_first = self.order_number == const.WALMART_ORDER_CUSTOMER
        self._dates = {}
        self._kinds = {}
        self._quantities = {}
        # (transaction type, purchase order and line, transaction key) ->
        # (line where it starts) << 1 | its quantity was counted; the group
        # of the previous row is kept apart: [key, state]
        self._groups = {}
        self._current = [None, 0]
        self._amount_column = self._col(_AMOUNT)

    def _walmart_date(self, raw, line_no, field, *, required=False):
        if not raw.strip():
            if required:
                self._err(line_no, field, "the date is empty.")
            return None
        try:
            value = parse_walmart_date(raw)
        except ValueError:
            self._err(line_no, field, f"'{raw}' is not a date; expected {_DATE_FORM}.")
            return None
        if not const.MIN_YEAR <= value.year <= const.MAX_YEAR:
            self._implausible_date(raw, line_no, field)
            return None
        return value

    # -- lines to records

    def _walmart_records(self):
        """Yield ``(line_no, fields)`` per record after the header.

        Most rows of a real file start with a quoted empty field (``"",``)
        and hold no other quote: they are split directly; the csv module
        reads the others, including values that span lines.
        """
        line_no = self._line_no
        pending = None
        start = quotes = 0
        for batch in self._chain_rest():
            for line in batch:
                line_no += 1
                if pending is not None:
                    pending.append(line)
                    quotes += line.count('"')
                    if quotes % 2:
                        if sum(map(len, pending)) > const.MAX_LINE_CHARS:
                            self._unclosed(start)
                        continue
                    self._line_no = line_no
                    yield start, next(csv.reader(["\n".join(pending)]))
                    pending = None
                    continue
                if not line:
                    continue
                if '"' not in line:
                    fields = line.split(",")
                elif line.startswith('"",') and line.count('"') == 2:
                    fields = line[2:].split(",")
                else:
                    quotes = line.count('"')
                    if quotes % 2:
                        pending, start = [line], line_no
                        continue
                    fields = next(csv.reader([line]))
                self._line_no = line_no
                yield line_no, fields
        if pending is not None:
            self._unclosed(start)
        self._line_no = line_no

    def _unclosed(self, line_no):
        self._issues.add(
            line_no,
            None,
            "a quoted value that starts on this line is never closed: the file "
            "is damaged or cut short.",
        )
        raise _Fatal

    def _values(self, line_no, fields, summary=False):
        """The used fields of a record, checking its length; ``()`` for a
        blank line, None for a record of the wrong length."""
        n = len(fields)
        if n != self._ncols:
            if n > self._ncols or (n < self._min_fields and not summary):
                if not any(f.strip() for f in fields):
                    return ()
                what = (
                    "a value contains a comma without quotes or is shifted"
                    if n > self._ncols
                    else "it is cut short (truncated file?) or a comma is missing"
                )
                self._wrong_length(line_no, n, what)
                return None
            fields = fields + [""] * (self._ncols - n)
        fields.append("")
        return self._getter(fields)

    # -- rows

    def __iter__(self):
        self._start_iteration()
        issues = self._issues
        line_no = self._line_no
        ncols = self._ncols
        getter = self._getter
        values_of = self._values
        row_of = self._row
        records = 0
        try:
            with suppress(_Fatal):  # recorded in the issues, raised below
                for line_no, fields in self._records:
                    records += 1
                    if len(fields) == ncols:
                        fields.append("")
                        values = getter(fields)
                    else:
                        values = values_of(line_no, fields)
                    if values:
                        row = row_of(line_no, values)
                        if row is not None:
                            yield row
                            continue
                    elif values is not None:
                        records -= 1  # a blank line
                        continue
                    if issues.full:
                        issues.stop(line_no)
                        break
                else:
                    self._records_read += records
                    self._check_groups()
                    self._check_line_count()
                    self._check_totals()
        except Exception as exc:  # a bug of the reader: said, never a traceback
            self._fail(exc, line_no)
        if issues.count:
            self._raise()

    def _row(self, line_no, values):
        (
            period_start,
            period_end,
            _total,
            currency,
            key,
            posted_raw,
            ttype,
            description,
            customer_order,
            customer_line,
            purchase_order,
            purchase_line,
            amount_raw,
            amount_type,
            quantity_raw,
            sku,
            fulfillment,
        ) = values
        ok = True
        kind_key = (ttype, amount_type, description)
        kind = self._kinds.get(kind_key)
        if kind is None:
            kind = self._kinds[kind_key] = (
                _SUMMARY
                if ttype.strip().lower() == const.WALMART_SUMMARY_TYPE
                else classify_walmart(*kind_key)
            )
        if kind is _SUMMARY:
            self._err(
                line_no,
                _TYPE,
                "a second payment summary (the first is on line "
                f"{self._summary_line}): import one payment per file.",
            )
            return None
        amount = self._amounts.get(amount_raw)
        if amount is None:
            if amount_raw:
                amount = self._numbers.parse(amount_raw, line_no, self._amount_column)
            else:
                self._err(line_no, _AMOUNT, "the amount is empty.")
            ok = amount is not None
        dates = self._dates
        posted = None
        if posted_raw:
            posted = dates.get(posted_raw)
            if posted is None:
                value = self._walmart_date(posted_raw, line_no, _POSTED)
                if value is None:
                    ok = False
                else:
                    posted = dates[posted_raw] = value.date()
        # WFS charges carry their own (weekly) period: a date, not the
        # payment's period.
        if period_start and period_start not in dates:
            ok = self._row_date(period_start, line_no, _PERIOD_START) and ok
        if period_end and period_end not in dates:
            ok = self._row_date(period_end, line_no, _PERIOD_END) and ok
        if currency and currency.strip().upper() != self.header.currency:
            self._err(
                line_no,
                _CURRENCY,
                f"currency '{currency}' differs from the payment's currency "
                f"{self.header.currency}.",
            )
            ok = False
        if "E+" in purchase_order or "E+" in customer_order:
            self._check_walmart_ids(line_no, customer_order, purchase_order)
        quantity = 0
        if quantity_raw:
            quantity = self._quantities.get(quantity_raw)
            if quantity is None:
                quantity = self._quantity(quantity_raw, line_no)
                if quantity is None:
                    return None
        order = purchase_order or customer_order
        if (quantity or (kind == const.KIND_ORDER and sku)) and (order or key):
            # Counted once per purchase order line and transaction: Walmart
            # writes the Ship Qty on each amount row of the line.
            if quantity < 0 and kind == const.KIND_ORDER:
                self._err(
                    line_no,
                    _QUANTITY,
                    f"the quantity {quantity_raw} is negative on a sale: a sale "
                    "takes units out of stock, so its cost of goods would be "
                    "booked backwards.",
                )
            group = f"{ttype}\x1f{order}\x1f{purchase_line or customer_line}\x1f{key}"
            current = self._current
            if group == current[0]:
                state = current[1]
            else:
                if current[0] is not None:
                    self._groups[current[0]] = current[1]
                state = self._groups.get(group, line_no << 1)
                current[0] = group
            if quantity:
                if state & 1:
                    quantity = 0
                else:
                    state |= 1
            current[1] = state
        if not ok:
            # A readable amount still counts: a bad date or id must not make
            # the rows seem not to add up to the total as well.
            if amount is not None:
                self.total += amount
            return None
        self.total += amount
        self.rows_read += 1
        if self._customer_first:
            order_id, order_line = customer_order, customer_line
            other_id, other_line = purchase_order, purchase_line
        else:
            order_id, order_line = purchase_order, purchase_line
            other_id, other_line = customer_order, customer_line
        sale = kind == const.KIND_ORDER
        return _new_row(
            line_no,
            ttype,
            kind,
            order_id,
            other_id,
            "" if sale else key,
            key if sale else "",
            const.WALMART_MARKETPLACE_NAME,
            amount_type,
            description,
            amount,
            fulfillment,
            posted,
            order_line,
            other_line,
            "",
            sku,
            quantity,
            "",
        )

    def _row_date(self, raw, line_no, field):
        value = self._walmart_date(raw, line_no, field)
        if value is None:
            return False
        self._dates[raw] = value.date()
        return True

    def _check_walmart_ids(self, line_no, customer_order, purchase_order):
        for field, raw in (
            (_CUSTOMER_ORDER, customer_order),
            (_PURCHASE_ORDER, purchase_order),
        ):
            if "E+" in raw and _SPREADSHEET_ID(raw.strip()):
                self._spreadsheet_saved(line_no, field, raw, date=False)

    # -- end of file

    def _check_groups(self):
        """Every sale of an item states its Ship Qty on one of its rows."""
        current = self._current
        if current[0] is not None:
            self._groups[current[0]] = current[1]
        for group, state in self._groups.items():
            if not state & 1:
                ttype, order, line, _key = group.split("\x1f")
                self._err(
                    state >> 1,
                    _QUANTITY,
                    f"{ttype} of order {order}, line {line}: no Ship Qty on any of "
                    "its rows: the units sold cannot be known, so neither can the "
                    "cost of goods. Import the report as Walmart delivers it.",
                )

    def _check_line_count(self):
        """The file has the number of lines its line 2 announces."""
        declared = self._declared_lines
        if declared is None or declared == self._records_read:
            return
        self._issues.add(
            self._count_line,
            None,
            f"the file announces {declared:,} lines after this one but has "
            f"{self._records_read:,}: it is incomplete (cut short?) or was "
            "altered. Download the report again.",
        )
