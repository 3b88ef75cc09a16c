import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..core.cost_sync import (
    UNIT_COST_QUANTUM,
    LineState,
    aggregate_costs,
    order_numbers_to_ask,
    plan_sync,
)
from ..core.costing import ACTION_MISSING, ACTION_TRUEUP
from ..core.goflow_client import GoflowError
from ..core.vocabulary import (
    COST_MISSING,
    COST_NOT_SYNCED,
    SETTLEMENT_DRAFT,
    SETTLEMENT_POSTED,
    SOURCE_GOFLOW,
    STATE_COSTED,
    STATE_MISSING,
)

_logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(key, company id): one Goflow sync per company at once.
SYNC_LOCK_KEY = 0x60F10
# The cron takes this many settlements per batch (a batch is one transaction).
CRON_BATCH_SIZE = 10
# A settlement tried less than this long ago is not taken again by the cron.
CRON_RETRY_AFTER = timedelta(minutes=30)
# Order ids a sync reads, asks Goflow for and plans at a time.
SYNC_SLICE_ORDERS = 5000
# Cost lines named in the chatter message of a sync.
MESSAGE_SAMPLE = 5


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class ConnectbooksSettlement(models.Model):
    """Asking Goflow for the costs of a settlement: the button, the hourly
    scheduled action and what a sync writes (docs/architecture.md, "The
    Goflow sync")."""

    _inherit = "connectbooks.settlement"  # pylint: disable=consider-merging-classes-inherited

    def action_sync_goflow(self):
        """Button and list action: sync now, errors shown to the user.
        Several settlements at once go to the job queue where there is one."""
        self.check_access("write")
        if len(self) > 1:
            queued = self._sync_enqueue()
            if queued is not False:
                return self.env["connectbooks.store"]._queued_notification(queued)
        summary = self._sync_goflow(raise_errors=True)
        if len(self) == 1:
            return True
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Goflow"),
                "message": summary,
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    @api.model
    def _cron_sync_goflow(self, batch_size=CRON_BATCH_SIZE):
        """Hourly: settlements not synced yet or with missing costs (and those
        posted with estimates), oldest first, a batch per call; with a job
        queue (see :meth:`_sync_enqueue`) every one of them enqueued instead."""
        due = self.search(self._cron_sync_domain(), order="deposit_date asc, id asc")
        queued = due._sync_enqueue()
        if queued is not False:
            self.env["ir.cron"]._notify_progress(done=len(due), remaining=0)
            return
        # browsed anew: the batch prefetches its own records only
        settlements = self.browse(due.ids[:batch_size])
        settlements._sync_goflow(raise_errors=False)
        self.env["ir.cron"]._notify_progress(
            done=len(settlements), remaining=len(due) - len(settlements)
        )

    def _sync_enqueue(self):
        """Dispatch hook: hand these settlements' Goflow syncs to a job queue.

        This add-on has none: it returns ``False`` and the caller syncs
        inline (the scheduled action a batch at a time, the button at once,
        a fetch right after its import). A job-queue add-on
        (``connectbooks_goflow_queue``) overrides it to enqueue one job per
        settlement and return what it enqueued.
        """
        return False

    @api.model
    def _cron_sync_domain(self):
        retry_before = fields.Datetime.now() - CRON_RETRY_AFTER
        return [
            ("store_id.goflow_connection_id", "!=", False),
            "|",
            ("last_sync_attempt_at", "=", False),
            ("last_sync_attempt_at", "<", retry_before),
            "|",
            "&",
            ("state", "=", SETTLEMENT_DRAFT),
            ("cost_status", "in", (COST_NOT_SYNCED, COST_MISSING)),
            "&",
            ("state", "=", SETTLEMENT_POSTED),
            ("posted_with_estimates", "=", True),
        ]

    def _sync_goflow(self, raise_errors):
        """Sync each settlement's costs with Goflow, one company at a time.

        :param raise_errors: raise the first failure (button), or log it, post
            it on the settlement's chatter and go on with the next (cron)
        :return: a one-line summary
        """
        done = failed = busy = 0
        for company, settlements in self.grouped("company_id").items():
            if not self._sync_lock(company):
                message = _(
                    "A Goflow sync of company %(company)s is already running; "
                    "try again in a minute.",
                    company=company.name,
                )
                if raise_errors:
                    raise UserError(message)
                _logger.info("Goflow sync of company %s skipped: busy", company.id)
                busy += len(settlements)
                # tried: the next cron batch takes other settlements
                settlements.write({"last_sync_attempt_at": fields.Datetime.now()})
                continue
            for settlement in settlements:
                if raise_errors:
                    settlement._sync_goflow_or_raise()
                    done += 1
                elif settlement._sync_goflow_or_log():
                    done += 1
                else:
                    failed += 1
        return _(
            "%(done)s settlement(s) synced, %(failed)s failed, %(busy)s skipped.",
            done=done,
            failed=failed,
            busy=busy,
        )

    def _sync_goflow_or_raise(self):
        """Sync, a Goflow failure shown to the user as what it is."""
        try:
            self._sync_goflow_one()
        except GoflowError as error:
            raise UserError(
                _(
                    "Goflow sync of settlement %(ref)s failed: %(error)s",
                    ref=self.settlement_ref,
                    error=error,
                )
            ) from error

    def _sync_goflow_or_log(self):
        """Sync in a savepoint; a failure is logged and posted on the
        settlement, and the next settlement goes on.

        :return: whether the sync succeeded
        """
        try:
            with self.env.cr.savepoint():
                self._sync_goflow_one()
            return True
        except (GoflowError, UserError) as error:
            self._sync_goflow_failed(error)
        except Exception as error:  # one settlement's bug must not stop the
            # others nor starve the queue
            _logger.exception("Goflow sync of settlement %s crashed", self.id)
            self._sync_goflow_failed(
                _(
                    "Unexpected error (%(error)s); see the server log.",
                    error=type(error).__name__,
                )
            )
        return False

    def _sync_lock(self, company):
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", SYNC_LOCK_KEY, company.id)
        )
        return self.env.cr.fetchone()[0]

    def _sync_goflow_failed(self, error):
        self.ensure_one()
        _logger.warning(
            "Goflow sync of settlement %s (id %s) failed: %s",
            self.settlement_ref,
            self.id,
            error,
        )
        message = str(error)
        self.write(
            {
                "last_sync_attempt_at": fields.Datetime.now(),
                "last_sync_error": message[:500],
            }
        )
        self.message_post(
            body=Markup("<p>%s</p><p>%s</p>")
            % (_("The Goflow sync failed; it will be tried again."), message)
        )

    def _sync_goflow_one(self, fetch=None):
        """Ask Goflow for this settlement's order costs and apply them.

        :param fetch: callable ``(order numbers) -> iterable of
            OrderCostLine``; by default the store's Goflow connection, one
            client for the whole sync (its rate limit spans every request).
            The demo data passes the sandbox's own data file here.
        """
        self.ensure_one()
        if fetch is not None:
            return self._sync_goflow_slices(fetch)
        store = self.store_id
        connection = store.goflow_connection_id
        if not connection:
            raise UserError(
                _(
                    "Store %(store)s has no Goflow connection; set one on the store.",
                    store=store.name,
                )
            )
        store_ids = store._goflow_store_id_list() or None
        with connection._goflow_client() as client:
            return self._sync_goflow_slices(
                lambda numbers: client.fetch_order_costs(numbers, store_ids=store_ids)
            )

    def _sync_goflow_slices(self, fetch):
        """The sync, a slice of order numbers at a time.

        The cost lines are read in order of their order id, a slice of
        :data:`SYNC_SLICE_ORDERS` orders at a time; each slice is asked of
        Goflow, planned and staged before the next is read, and all staged
        rows are applied at the end in one statement. Memory stays that of a
        slice however large the settlement (a 150,000-order settlement held
        a gigabyte when it was planned whole), and the result is the same:
        what a line becomes depends only on its own order's costs.
        """
        CostLine = self.env["goflow.cost.line"]
        now = fields.Datetime.now()
        posted = self.state == SETTLEMENT_POSTED
        counts = {"asked": 0, "costed": 0, "trueups": 0}

        def apply(states, quantities, numbers, answer):
            order_lines = answer.result()
            costs, found = aggregate_costs(self._in_settlement_currency(order_lines))
            del order_lines
            updates = plan_sync(states, costs, found)
            CostLine._sync_stage(self._sync_result_rows(updates, quantities))
            counts["asked"] += len(numbers)
            for update in updates:
                if update.action == ACTION_TRUEUP:
                    counts["trueups"] += 1
                elif update.action != ACTION_MISSING:
                    counts["costed"] += 1

        CostLine._sync_stage_begin()
        # Goflow is asked for the next slice while this one is planned and
        # staged: the thread only waits on the network (no database, no
        # environment), and a slice is applied only once its answer is in.
        with ThreadPoolExecutor(1, thread_name_prefix="goflow-sync") as asker:
            waiting = None
            for states, quantities in self._sync_line_slices(posted):
                numbers = order_numbers_to_ask(states)
                answer = asker.submit(_ask, fetch, numbers)
                if waiting:
                    apply(*waiting)
                waiting = (states, quantities, numbers, answer)
            if waiting:
                apply(*waiting)
        asked, costed, trueups = counts["asked"], counts["costed"], counts["trueups"]
        CostLine._sync_stage_apply(self, now)
        self.write(
            {
                "last_sync_at": now,
                "last_sync_attempt_at": now,
                "last_sync_error": False,
                "sync_count": self.sync_count + 1,
            }
        )
        self._post_sync_message(asked, costed, trueups)
        if trueups and posted:
            self._goflow_post_trueups()
        self._refresh_estimate_flag()

    def _in_settlement_currency(self, order_lines):
        """Goflow's costs converted to the settlement's currency (at the
        deposit date), so a USD cost never lands on a CAD settlement as CAD.

        :raise UserError: Goflow reports a currency Odoo does not know
        """
        target = self.currency_id
        codes = {
            line.currency
            for line in order_lines
            if line.unit_cost is not None and line.currency
        } - {target.name}
        if not codes:
            return order_lines
        rates = self._goflow_rates(codes)
        return [
            dataclasses.replace(
                line,
                unit_cost=(line.unit_cost * rates[line.currency]).quantize(
                    UNIT_COST_QUANTUM, ROUND_HALF_UP
                ),
                currency=target.name,
            )
            if line.unit_cost is not None and line.currency in rates
            else line
            for line in order_lines
        ]

    def _goflow_rates(self, codes):
        """``{currency code: Decimal rate to the settlement's currency}`` at
        the deposit date.

        :raise UserError: a code Odoo does not know
        """
        currencies = {
            currency.name: currency
            for currency in self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "in", sorted(codes))])
        }
        unknown = codes - currencies.keys()
        if unknown:
            raise UserError(
                _(
                    "Goflow reports costs in %(codes)s, which Odoo does not know; "
                    "add the currency under Accounting > Configuration > "
                    "Currencies.",
                    codes=", ".join(sorted(unknown)),
                )
            )
        date = self.deposit_date or fields.Date.context_today(self)
        target = self.currency_id
        return {
            code: Decimal(
                str(currency._convert(1.0, target, self.company_id, date, round=False))
            )
            for code, currency in currencies.items()
        }

    def _sync_line_slices(self, posted):
        """The cost lines a sync may change (not those set by a person), a
        slice of :data:`SYNC_SLICE_ORDERS` order ids at a time.

        :return: iterator of ``([LineState], {line id: (quantity, sign)})``
        """
        states = []
        quantities = {}
        orders = 0
        last_order = None
        rows = self.env["goflow.cost.line"]._sync_rows(self)
        for row in rows:
            line_id, kind, order_ref, sku, state, source, unit, reason, qty, sign = row
            if order_ref != last_order:
                if orders >= SYNC_SLICE_ORDERS:
                    yield states, quantities
                    states, quantities, orders = [], {}, 0
                last_order = order_ref
                orders += 1
            quantities[line_id] = (qty, sign)
            states.append(
                LineState(
                    line_id=line_id,
                    kind=kind,
                    order_ref=order_ref,
                    sku=sku,
                    state=state,
                    source=source,
                    unit_cost=Decimal(unit) if unit else None,
                    posted=posted,
                    missing_reason=reason,
                )
            )
        if states:
            yield states, quantities

    def _sync_result_rows(self, updates, quantities):
        """The rows :meth:`goflow.cost.line._sync_stage` stages:
        ``(id, unit cost, total cost, state, source, missing reason, Goflow
        order ids)`` as text, "" for NULL.

        :param quantities: {line id: (quantity, sign)}
        """
        currency = self.currency_id
        rounded_total = self.env["goflow.cost.line"]._rounded_total
        rows = []
        for update in updates:
            goflow_ref = update.goflow_ref or ""
            if update.action == ACTION_MISSING:
                row = (STATE_MISSING, "", update.missing_reason or "")
                rows.append((str(update.line_id), "", "0", *row, goflow_ref))
                continue
            quantity, sign = quantities[update.line_id]
            total = rounded_total(currency, quantity, update.unit_cost, sign)
            rows.append(
                (
                    str(update.line_id),
                    str(update.unit_cost),
                    repr(total),
                    STATE_COSTED,
                    SOURCE_GOFLOW,
                    "",
                    goflow_ref,
                )
            )
        return rows

    def _post_sync_message(self, asked, costed, trueups):
        self.flush_recordset()
        CostLine = self.env["goflow.cost.line"]
        domain = [("settlement_id", "=", self.id), ("state", "=", STATE_MISSING)]
        missing_count = CostLine.search_count(domain)
        body = _(
            "Goflow sync: %(asked)s order(s) asked, %(costed)s cost(s) set, "
            "%(missing)s still missing.",
            asked=asked,
            costed=costed,
            missing=missing_count,
        )
        if trueups:
            body += " " + _(
                "%(count)s posted cost(s) changed in Goflow (true-up).", count=trueups
            )
        if missing_count:
            sample = self._cost_line_sample(
                CostLine.search(domain, limit=MESSAGE_SAMPLE), MESSAGE_SAMPLE
            )
            body += " " + _("Missing: %(sample)s", sample=sample)
            if missing_count > MESSAGE_SAMPLE:
                body += " …"
        self.message_post(body=body)


def _ask(fetch, numbers):
    """Goflow's cost lines of ``numbers`` (none asked for none)."""
    return list(fetch(numbers)) if numbers else []
