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

from ..core.costing import cost_keys
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
    # No create_uid/write_uid: their foreign-key checks cost a third of the
    # COPY, and who imported the file is on the settlement (and its chatter).
    "create_date",
    "write_date",
)


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
            cost_line_of = self._cost_line_maker(settlement)
            # Nothing may be left to write once the COPY thread owns the
            # cursor (and the new settlement's totals are cheap to compute
            # while it has no line).
            self.env.flush_all()
            writer = _LineCopy(self.env, settlement, store)
            try:
                with _gc_paused():
                    needs = cost_keys(writer.stream(reader))
                    # Built while PostgreSQL still takes the last lines in;
                    # the cursor is the COPY thread's until close().
                    cost_rows = "".join(map(cost_line_of, needs))
            finally:
                writer.close()
            self._copy_cost_lines(cost_rows)
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
            "missing_count": len(needs),
            "cost_total": 0.0,
            "cost_status": "not_synced" if needs else "complete",
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
            writer.count,
            len(needs),
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
    def _cost_line_maker(self, settlement):
        """A function turning a cost need into a line of COPY text for
        ``goflow_cost_line``: one missing cost line per need. Everything it
        reads from the database is read here, before the line COPY starts."""
        store = settlement.store_id
        start = store.cost_sync_start_date
        head = f"{settlement.id}\t"
        now = fields.Datetime.now()
        tail = f"\tmissing\t{{}}\t0\t0\t{now}\t{now}\n"
        tails = {
            reason: tail.format(reason) for reason in ("no_order", "before_start", "")
        }
        products = self.env["connectbooks.settlement.line"]._products_by_sku(
            settlement.company_id
        )
        get_product = products.get

        def cost_line(need):
            if not need.order_id:
                reason = "no_order"
            elif start and need.posted_date and need.posted_date < start:
                reason = "before_start"
            else:
                reason = ""
            line = (
                f"{head}{need.kind}\t{need.order_id}\t{need.adjustment_id}\t"
                f"{need.sku}\t{get_product(need.sku, '')}\t"
                f"{need.posted_date or ''}\t{need.quantity}\t{need.sign}"
                f"{tails[reason]}"
            )
            if (
                line.count("\t") != 14
                or line.count("\n") != 1
                or "\\" in line
                or "\r" in line
            ):
                line = _text_line(
                    (
                        settlement.id,
                        need.kind,
                        need.order_id,
                        need.adjustment_id,
                        need.sku,
                        get_product(need.sku, ""),
                        need.posted_date or "",
                        need.quantity,
                        need.sign,
                        "missing",
                        reason,
                        0,
                        0,
                        now,
                        now,
                    )
                )
            return line

        return cost_line

    def _copy_cost_lines(self, text):
        """COPY the lines made by :meth:`_cost_line_maker`."""
        if not text:
            return
        self.env["goflow.cost.line"].flush_model()
        self.env.cr.copy_expert(
            """
            COPY goflow_cost_line (
                settlement_id, kind, order_ref,
                adjustment_ref, sku, product_id, posted_date, quantity, sign,
                state, missing_reason, total_cost, posted_total, create_date,
                write_date
            ) FROM STDIN WITH (FORMAT text, NULL '')
            """,
            io.StringIO(text),
        )


class _LineCopy:
    """Stream parsed rows into ``connectbooks_settlement_line`` with one
    ``COPY``.

    The COPY runs in a second thread fed through a bounded queue: psycopg2
    releases the GIL while it sends, so PostgreSQL indexes the rows on one
    core while Python parses the next ones on the other. The main thread
    does not touch the cursor until :meth:`close` has joined the thread.
    """

    def __init__(self, env, settlement, store):
        self.env = env
        self.count = 0
        self._batch = []
        now = fields.Datetime.now()
        self._fixed = (settlement.id, now)
        self._head = f"{settlement.id}\t"
        self._tail = f"\t{now}\t{now}"
        self._queue = queue.Queue(maxsize=COPY_QUEUE_DEPTH)
        self._error = None
        self._closed = False
        env["connectbooks.settlement.line"].flush_model()
        self._thread = threading.Thread(
            target=self._copy, name="settlement-line-copy", daemon=True
        )
        self._thread.start()

    def stream(self, reader):
        """Yield the reader's rows, writing each one on the way."""
        batch = self._batch
        for row in reader:
            batch.append(row)
            yield row
            if len(batch) >= COPY_BATCH_ROWS:
                self._send()

    def close(self):
        """Send what is left, end the COPY and wait for it.

        :raise: the COPY's error, if it failed
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._error is None:
                self._send()
        finally:
            self._put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _copy(self):
        try:
            self.env.cr.copy_expert(
                f"COPY connectbooks_settlement_line ({', '.join(LINE_COLUMNS)}) "
                "FROM STDIN WITH (FORMAT text, NULL '')",
                _QueueReader(self._queue),
            )
        except Exception as error:  # re-raised by close()
            self._error = error
            # Drain until close() says the end, so a producer never blocks.
            while self._queue.get() is not None:
                pass

    def _put(self, item):
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _send(self):
        batch = self._batch
        if not batch:
            return
        head = self._head
        tail = self._tail
        # COPY's text format, NULL written as an empty field (as the parser
        # leaves absent values). One f-string a row is several times faster
        # than a csv writer; a batch holding a tab, a line break or a
        # backslash inside a field is written again with every field escaped.
        text = "\n".join(
            [
                f"{head}{row.line_no}\t{row.transaction_type}\t{row.kind}\t"
                f"{row.order_id}\t{row.merchant_order_id}\t{row.adjustment_id}\t"
                f"{row.shipment_id}\t{row.order_item_code}\t{row.sku}\t"
                f"{row.quantity}\t{row.amount_type}\t"
                f"{row.amount_description}\t{row.amount}\t{row.posted_date or ''}\t"
                f"{row.fulfillment_id}\t{row.marketplace_name}\t{row.promotion_id}"
                f"{tail}"
                for row in batch
            ]
        )
        if (
            text.count("\t") != (len(LINE_COLUMNS) - 1) * len(batch)
            or text.count("\n") != len(batch) - 1
            or "\\" in text
            or "\r" in text
        ):
            fixed = self._fixed
            text = "".join([_escaped_line(fixed, row) for row in batch])
        else:
            text += "\n"
        self.count += len(batch)
        batch.clear()
        if self._error is not None:
            raise self._error
        self._put(text)


class _QueueReader:
    """A file-like ``read()`` over a queue of text chunks; ``None`` ends it."""

    def __init__(self, chunks):
        self._chunks = chunks
        self._done = False

    def read(self, size=-1):  # pylint: disable=method-required-super
        if self._done:
            return ""
        chunk = self._chunks.get()
        if chunk is None:
            self._done = True
            return ""
        return chunk


_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text_line(values):
    """One row in COPY's text format, every field escaped (the slow path)."""
    return "\t".join(str(value).translate(_TEXT_ESCAPES) for value in values) + "\n"


def _escaped_line(fixed, row):
    settlement_id, now = fixed
    return _text_line(
        (
            settlement_id,
            row.line_no,
            row.transaction_type,
            row.kind,
            row.order_id,
            row.merchant_order_id,
            row.adjustment_id,
            row.shipment_id,
            row.order_item_code,
            row.sku,
            row.quantity,
            row.amount_type,
            row.amount_description,
            row.amount,
            row.posted_date or "",
            row.fulfillment_id,
            row.marketplace_name,
            row.promotion_id,
            now,
            now,
        )
    )


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
