import json
import logging
import time
from datetime import timezone

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import file_open

from ..core.costing import CostNeedCollector
from ..core.goflow_client import order_cost_lines
from ..core.pg_copy import CopyPipeline, copy_text, gc_paused
from ..core.settlement_const import LAYOUT_AMAZON_V2, LAYOUT_WALMART_RECON_V1
from ..core.settlement_parser import SettlementFileError
from ..core.vocabulary import (
    COST_COMPLETE,
    COST_NOT_SYNCED,
    REASON_BEFORE_START,
    REASON_NO_ORDER,
    SOURCE_MANUAL,
    STATE_COSTED,
    STATE_MISSING,
)

_logger = logging.getLogger(__name__)

# The marketplace whose own report a layout is (a generic CSV is anyone's).
MARKETPLACE_OF_LAYOUT = {
    LAYOUT_AMAZON_V2: "amazon",
    LAYOUT_WALMART_RECON_V1: "walmart",
}
# Rows handed to COPY at a time; with the pipeline's queue depth this bounds
# the memory of a 1,000,000-row import.
COPY_BATCH_ROWS = 20_000
DEMO_DIR = "connectbooks_goflow/demo"
DEMO_FILES = ("amazon_settlement_demo_1.txt", "amazon_settlement_demo_2.txt")
DEMO_WALMART_FILE = "walmart_recon_demo_1.csv"


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
            reader = store._settlement_reader(fileobj, filename)
            header = reader.header
            self._check_marketplace(store, header.layout, filename)
            currency = self._currency(header.currency, filename)
            settlement = Settlement.create(
                {
                    "store_id": store.id,
                    "settlement_ref": header.settlement_id,
                    "period_start": naive_utc(header.start),
                    "period_end": naive_utc(header.end),
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
            self.env.flush_all()
            cost_lines = self._stream_file(reader, settlement)
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
            "balanced": settlement._is_balanced(reader.total),
            "missing_count": cost_lines,
            "cost_total": 0.0,
            "cost_status": COST_NOT_SYNCED if cost_lines else COST_COMPLETE,
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
        """Demo data: two settlements of the Amazon demo store and one of the
        Walmart demo store, costed from the data the Goflow sandbox serves
        (demo/goflow_sandbox_demo.json) without calling it (it is not running
        while Odoo installs). The first Amazon one and the Walmart one are
        resolved and posted; the second Amazon one keeps its missing costs
        to resolve."""
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
        stores = (
            ("connectbooks_goflow.demo_store_amazon_us", DEMO_FILES),
            ("connectbooks_goflow.demo_store_walmart_us", (DEMO_WALMART_FILE,)),
        )
        settlements = self.env["connectbooks.settlement"]
        for xmlid, names in stores:
            store = self.env.ref(xmlid)
            for name in names:
                with file_open(f"{DEMO_DIR}/{name}", "rb") as handle:
                    settlement = self._import_file(store, handle, name)
                settlement._sync_goflow_one(fetch=fetch)
                settlements |= settlement
        posted = settlements[0] | settlements[-1]
        for line in posted.cost_line_ids.filtered(lambda c: c.state == STATE_MISSING):
            line.write(
                {
                    "unit_cost": default_costs.get(line.sku) or 1.0,
                    "state": STATE_COSTED,
                    "source": SOURCE_MANUAL,
                    "missing_reason": False,
                    "resolved_by_id": self.env.ref("base.user_admin").id,
                    "resolved_at": fields.Datetime.now(),
                }
            )
        posted.action_post()
        return settlements

    @api.model
    @api.model
    def _check_marketplace(self, store, layout, filename):
        """A marketplace's own report goes to a store of that marketplace (its
        amounts are mapped by that marketplace's rules); a generic CSV to any.

        :raise UserError: naming the file, what it is and the store
        """
        marketplace = MARKETPLACE_OF_LAYOUT.get(layout)
        if marketplace and store.marketplace != marketplace:
            names = dict(store._fields["marketplace"]._description_selection(self.env))
            raise UserError(
                _(
                    "%(file)s is a %(kind)s settlement report, but store %(store)s "
                    "sells on %(marketplace)s: import it into a %(kind)s store.",
                    file=filename or _("The file"),
                    kind=names[marketplace],
                    store=store.name,
                    marketplace=names.get(store.marketplace, store.marketplace),
                )
            )

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
    def _stream_file(self, reader, settlement):
        """Write the reader's rows and their cost lines; return how many
        cost lines there are.

        Rows go to PostgreSQL by ``COPY`` in batches, in a second thread
        (see :class:`~..core.pg_copy.CopyPipeline`), so that PostgreSQL
        stores one batch while Python parses the next. The cost lines of
        items no row has touched for a batch are copied in between (the rest
        at the end), and the few items a later row reopens are corrected at
        the end.
        """
        Line = self.env["connectbooks.settlement.line"]
        CostLine = self.env["goflow.cost.line"]
        line_copy = Line._import_copy_statement()
        line_values = Line._import_values(settlement)
        cost_copy = CostLine._import_copy_statement()
        # Everything the cost lines need from the database is read now,
        # before the COPY thread owns the cursor.
        reason = self._missing_reason_of(settlement)
        products = Line._products_by_sku(settlement.company_id)
        cost_values = CostLine._import_values(settlement, products, reason)
        collector = CostNeedCollector()
        pipeline = CopyPipeline(self.env.cr)
        stored = 0
        try:
            with gc_paused():
                for batch in _batches(reader, COPY_BATCH_ROWS):
                    pipeline.put(line_copy, copy_text(line_values, batch))
                    collector.add(batch)
                    settled = collector.settled(idle_lines=COPY_BATCH_ROWS)
                    if settled:
                        pipeline.put(cost_copy, copy_text(cost_values, settled))
                        stored += len(settled)
                remaining = collector.remaining()
                if remaining:
                    pipeline.put(cost_copy, copy_text(cost_values, remaining))
                    stored += len(remaining)
                changed, gone, late = collector.corrections()
                # Freed now, so that the collector does not walk it later.
                del collector, remaining
        finally:
            pipeline.close()
        CostLine._import_copy(cost_values, late)
        if changed or gone:
            CostLine._import_correct(settlement, changed, gone, reason)
        return stored + len(late) - len(gone)

    @api.model
    def _missing_reason_of(self, settlement):
        """A function ``cost need -> why its new cost line will not be asked
        of Goflow`` ("" when it will)."""
        start = settlement.store_id.cost_sync_start_date

        def reason(need):
            if not need.order_id:
                return REASON_NO_ORDER
            if start and need.posted_date and need.posted_date < start:
                return REASON_BEFORE_START
            return ""

        return reason


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


def naive_utc(value):
    """Odoo stores UTC datetimes without a time zone."""
    if value is None:
        return False
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value
