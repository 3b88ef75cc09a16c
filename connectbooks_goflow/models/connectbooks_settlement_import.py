import gc
import io
import json
import logging
import queue
import threading
import time
from contextlib import contextmanager
from datetime import timezone

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import file_open

from ..core.costing import CostNeedCollector
from ..core.goflow_client import order_cost_lines
from ..core.settlement_parser import SettlementFileError, SettlementReader

_logger = logging.getLogger(__name__)

# Rows handed to COPY at a time; with the queue depth this bounds the memory
# of a 1,000,000-row import.
COPY_BATCH_ROWS = 20_000
COPY_QUEUE_DEPTH = 4
DEMO_DIR = "connectbooks_goflow/demo"
DEMO_FILES = ("amazon_settlement_demo_1.txt", "amazon_settlement_demo_2.txt")
LINE_COLUMNS = (
    "settlement_id",
    "line_no",
    "transaction_type",
    "kind",
    "order_ref",
    "merchant_order_ref",
    "adjustment_ref",
    "shipment_ref",
    "order_item_code",
    "sku",
    "quantity",
    "amount_type",
    "amount_description",
    "amount",
    "posted_date",
    "fulfillment",
    "marketplace_name",
    "promotion_ref",
)
LINE_COPY = (
    f"COPY connectbooks_settlement_line ({', '.join(LINE_COLUMNS)}) "
    "FROM STDIN WITH (FORMAT text, NULL '')"
)
# A cost line by its unique key (goflow_cost_line_key_uniq).
_COST_LINE_KEY = """
    settlement_id = %s AND kind = %s AND COALESCE(order_ref, '') = %s
    AND COALESCE(adjustment_ref, '') = %s AND COALESCE(sku, '') = %s
"""
COST_LINE_UPDATE = f"""
    UPDATE goflow_cost_line
       SET quantity = %s, sign = %s, posted_date = %s, missing_reason = %s
     WHERE {_COST_LINE_KEY}
"""
COST_LINE_DELETE = f"DELETE FROM goflow_cost_line WHERE {_COST_LINE_KEY}"
COST_LINE_COPY = """
    COPY goflow_cost_line (
        settlement_id, kind, order_ref, adjustment_ref, sku, product_id,
        posted_date, quantity, sign, state, missing_reason, total_cost,
        posted_total, create_date, write_date
    ) FROM STDIN WITH (FORMAT text, NULL '')
"""


class ConnectbooksSettlementImport(models.AbstractModel):
    """Turn one settlement file into a draft settlement, its lines and its
    cost lines, all or nothing (the caller holds the savepoint)."""

    _name = "connectbooks.settlement.import"
    _description = "Settlement File Import"

    @api.model
    def _import_file(self, store, fileobj, filename=None):
        """Import one file for ``store``.

        Lines are streamed from the parser into PostgreSQL with ``COPY`` in
        batches (no ORM call per row); access is checked once, on the
        settlement and line models and the store's company.

        :param store: ``connectbooks.store`` record
        :param fileobj: binary file object
        :param filename: shown in messages and kept on the settlement
        :return: the new ``connectbooks.settlement``
        :raise UserError: the file is invalid (every problem listed with its
            line and column) or the settlement was already imported
        """
        store.ensure_one()
        store.check_access("read")
        Settlement = self.env["connectbooks.settlement"]
        Line = self.env["connectbooks.settlement.line"]
        Line.check_access("create")
        self.env["goflow.cost.line"].check_access("create")
        started = time.monotonic()
        try:
            reader = SettlementReader(fileobj, filename=filename)
            header = reader.header
            currency = self._currency(header.currency, filename)
            settlement = Settlement.create(
                {
                    "store_id": store.id,
                    "settlement_ref": header.settlement_id,
                    "period_start": _naive(header.start),
                    "period_end": _naive(header.end),
                    "deposit_date": header.deposit_date and header.deposit_date.date(),
                    "currency_id": currency.id,
                    "total_amount": float(header.total_amount),
                    "filename": filename,
                    "layout": header.layout,
                }
            )
            # Nothing may be left to write once the COPY thread owns the
            # cursor (and the new settlement's totals are cheap to compute
            # while it has no line).
            cost_text = self._cost_line_maker(settlement)
            self.env.flush_all()
            cost_lines = self._stream_file(reader, settlement, cost_text)
        except SettlementFileError as error:
            raise UserError(str(error)) from error
        except psycopg2.Error as error:
            raise UserError(
                _(
                    "%(file)s could not be stored: %(error)s",
                    file=filename or _("The file"),
                    error=error.diag.message_primary or str(error),
                )
            ) from error
        # Lines and cost lines went in by SQL: what depends on them is known
        # without reading a million rows back. The parser summed the very
        # rows written (and checked the sum against the file's total); every
        # cost line is new, so missing and never synced. The test suite
        # checks these values against a recompute.
        self.env.invalidate_all()
        line_total = float(reader.total)
        summary = {
            "line_total": line_total,
            "balanced": currency.is_zero(line_total - settlement.total_amount),
            "missing_count": cost_lines,
            "cost_total": 0.0,
            "cost_status": "not_synced" if cost_lines else "complete",
        }
        protected = [Settlement._fields[name] for name in summary]
        with self.env.protecting(protected, settlement):
            settlement.modified(["line_ids", "cost_line_ids"])
            for name, value in summary.items():
                settlement[name] = value
        settlement.flush_recordset()
        _logger.info(
            "settlement %s imported for store %s: %s lines, %s cost lines in %.1fs",
            header.settlement_id,
            store.id,
            reader.rows_read,
            cost_lines,
            time.monotonic() - started,
        )
        return settlement

    @api.model
    def _load_demo_settlements(self):
        """Demo data: two settlements of the demo store, costed from the data
        the Goflow sandbox serves (demo/goflow_sandbox_demo.json) without
        calling it (it is not running while Odoo installs). The first is
        resolved and posted; the second keeps its missing costs to resolve."""
        store = self.env.ref("connectbooks_goflow.demo_store_amazon_us")
        with file_open(f"{DEMO_DIR}/goflow_sandbox_demo.json", "rb") as handle:
            dataset = json.load(handle)
        lines = [
            line for order in dataset["orders"] for line in order_cost_lines(order)
        ]

        def fetch(numbers):
            wanted = set(numbers)
            return [line for line in lines if line.order_number in wanted]

        default_costs = {
            product["item_number"]: (product.get("pricing") or {}).get("default_cost")
            for product in dataset["products"]
        }
        settlements = self.env["connectbooks.settlement"]
        for name in DEMO_FILES:
            with file_open(f"{DEMO_DIR}/{name}", "rb") as handle:
                settlement = self._import_file(store, handle, name)
            settlement._sync_goflow_one(fetch=fetch)
            settlements |= settlement
        first = settlements[0]
        for line in first.cost_line_ids.filtered(lambda c: c.state == "missing"):
            line.write(
                {
                    "unit_cost": default_costs.get(line.sku) or 1.0,
                    "state": "costed",
                    "source": "manual",
                    "missing_reason": False,
                    "resolved_by_id": self.env.ref("base.user_admin").id,
                    "resolved_at": fields.Datetime.now(),
                }
            )
        first.action_post()
        return settlements

    @api.model
    def _currency(self, code, filename):
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", (code or "").upper())], limit=1)
        )
        if not currency:
            raise UserError(
                _(
                    "%(file)s: currency %(code)r is not known to Odoo.",
                    file=filename or _("The file"),
                    code=code,
                )
            )
        if not currency.active:
            raise UserError(
                _(
                    "%(file)s: currency %(code)s is not active; activate it under "
                    "Accounting > Configuration > Currencies.",
                    file=filename or _("The file"),
                    code=currency.name,
                )
            )
        return currency

    @api.model
    def _stream_file(self, reader, settlement, cost_text):
        """Write the reader's rows and their cost lines; return how many
        cost lines there are.

        Rows go to PostgreSQL by ``COPY`` in batches, in a second thread
        (see :class:`_CopyPipeline`), so that PostgreSQL stores one batch
        while Python parses the next. The cost lines of items no row has
        touched for a batch are copied in between (the rest at the end),
        and the few items a later row reopens are corrected at the end.
        """
        collector = CostNeedCollector()
        pipeline = _CopyPipeline(self.env.cr)
        line_text = _line_text_maker(settlement)
        stored = 0
        try:
            with _gc_paused():
                for batch in _batches(reader, COPY_BATCH_ROWS):
                    pipeline.put(LINE_COPY, line_text(batch))
                    collector.add(batch)
                    settled = collector.settled(idle_lines=COPY_BATCH_ROWS)
                    if settled:
                        pipeline.put(COST_LINE_COPY, cost_text(settled))
                        stored += len(settled)
                remaining = collector.remaining()
                if remaining:
                    pipeline.put(COST_LINE_COPY, cost_text(remaining))
                    stored += len(remaining)
                changed, gone, late = collector.corrections()
                # Freed now, so that the collector does not walk it later.
                del collector, remaining
        finally:
            pipeline.close()
        if late:
            self.env.cr.copy_expert(COST_LINE_COPY, io.StringIO(cost_text(late)))
        if changed or gone:
            self._correct_cost_lines(settlement, changed, gone)
        return stored + len(late) - len(gone)

    @api.model
    def _correct_cost_lines(self, settlement, changed, gone):
        """Cost lines copied early whose item a later row reopened: new
        figures for ``changed`` (``CostNeed``), none left for ``gone`` (keys)."""
        start = settlement.store_id.cost_sync_start_date
        cr = self.env.cr
        for need in changed:
            cr.execute(
                COST_LINE_UPDATE,
                [
                    need.quantity,
                    need.sign,
                    need.posted_date,
                    _missing_reason(need, start) or None,
                    settlement.id,
                    *need.key,
                ],
            )
        for key in gone:
            cr.execute(
                COST_LINE_DELETE,
                [settlement.id, *key],
            )

    @api.model
    def _cost_line_maker(self, settlement):
        """A function turning cost needs into COPY text for
        ``goflow_cost_line``: one missing cost line per need. Everything it
        reads from the database is read here, before the COPY thread starts."""
        start = settlement.store_id.cost_sync_start_date
        settlement_id = str(settlement.id)
        now = str(fields.Datetime.now())
        products = {
            sku: str(product_id)
            for sku, product_id in self.env["connectbooks.settlement.line"]
            ._products_by_sku(settlement.company_id)
            .items()
        }
        get_product = products.get

        def values(need):
            return (
                settlement_id,
                need.kind,
                need.order_id,
                need.adjustment_id,
                need.sku,
                get_product(need.sku, ""),
                str(need.posted_date or ""),
                str(need.quantity),
                str(need.sign),
                "missing",
                _missing_reason(need, start),
                "0",
                "0",
                now,
                now,
            )

        def cost_text(needs):
            return _copy_text(values, needs)

        return cost_text


def _missing_reason(need, start):
    """Why a new cost line will not be asked of Goflow ("" when it will)."""
    if not need.order_id:
        return "no_order"
    if start and need.posted_date and need.posted_date < start:
        return "before_start"
    return ""


def _batches(rows, size):
    """Lists of up to ``size`` rows."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _line_text_maker(settlement):
    """A function turning a batch of rows into COPY text for
    ``connectbooks_settlement_line`` (:data:`LINE_COLUMNS`)."""
    settlement_id = str(settlement.id)

    def values(row):
        return (
            settlement_id,
            str(row.line_no),
            row.transaction_type,
            row.kind,
            row.order_id,
            row.merchant_order_id,
            row.adjustment_id,
            row.shipment_id,
            row.order_item_code,
            row.sku,
            str(row.quantity),
            row.amount_type,
            row.amount_description,
            str(row.amount),
            str(row.posted_date or ""),
            row.fulfillment_id,
            row.marketplace_name,
            row.promotion_id,
        )

    def line_text(batch):
        return _copy_text(values, batch)

    return line_text


_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(values, items):
    """``values(item)`` (a tuple of str, "" for NULL) of each of ``items`` in
    COPY's text format with ``NULL ''``.

    Joining the tuples is several times faster than a csv writer (the tuples
    are not kept: a list of them doubled the time); when a field holds a tab,
    a line break or a backslash (counted on the whole text at once), every
    field is escaped.
    """
    if not items:
        return ""
    join = "\t".join
    text = "\n".join(map(join, map(values, items)))
    if (
        text.count("\t") != (len(values(items[0])) - 1) * len(items)
        or text.count("\n") != len(items) - 1
        or "\\" in text
        or "\r" in text
    ):
        text = "\n".join(
            join([value.translate(_TEXT_ESCAPES) for value in values(item)])
            for item in items
        )
    return text + "\n"


class _CopyPipeline:
    """Run ``COPY`` statements in order in a second thread.

    psycopg2 releases the GIL while PostgreSQL takes the data, so PostgreSQL
    stores one batch on one core while Python parses the next on the other.
    The bounded queue bounds the memory. The main thread does not touch the
    cursor until :meth:`close` has joined the thread.
    """

    def __init__(self, cr):
        self._cr = cr
        self._queue = queue.Queue(maxsize=COPY_QUEUE_DEPTH)
        self._error = None
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="settlement-copy", daemon=True
        )
        self._thread.start()

    def put(self, statement, text):
        """Queue one ``COPY ... FROM STDIN`` with its text.

        :raise: the error of an earlier COPY, if one failed
        """
        if self._error is not None:
            raise self._error
        self._put((statement, text))

    def close(self):
        """Wait for the queued COPYs.

        :raise: the first COPY error, if one failed
        """
        if self._closed:
            return
        self._closed = True
        self._put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self):
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._error is not None:
                continue  # drained until close(), so a producer never blocks
            statement, text = job
            try:
                # One read() returns it all: the GIL is taken once a batch.
                self._cr.copy_expert(statement, _Text(text))
            except Exception as error:  # re-raised by put() and close()
                self._error = error

    def _put(self, item):
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


class _Text:
    """A file-like ``read()`` giving its whole text at once."""

    def __init__(self, text):
        self._text = text

    def read(self, size=-1):  # pylint: disable=method-required-super
        text, self._text = self._text, ""
        return text


@contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector while a file streams through.

    A million parsed rows set off full collections that walk every object of
    the process, Odoo's registry included: measured, they doubled the time of
    a 1,000,000-row import. Reference counting still frees each row; cycles
    wait until the import ends.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _naive(value):
    """Odoo stores UTC datetimes without a time zone."""
    if value is None:
        return False
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value
