import csv
import dataclasses
import io
import logging
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..core.cost_sync import (
    UNIT_COST_QUANTUM,
    LineState,
    aggregate_costs,
    order_numbers_to_ask,
    plan_sync,
)
from ..core.costing import ACTION_MISSING, ACTION_TRUEUP, line_total
from ..core.entries import GOODS_OUT, cogs_pairs, settlement_lines, trueup_pairs
from ..core.goflow_client import GoflowError

_logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(key, company id): one Goflow sync per company at once.
SYNC_LOCK_KEY = 0x60F10
# The cron takes this many settlements per batch (a batch is one transaction).
CRON_BATCH_SIZE = 10
# Fields only the posting code writes (Post / Reset to Draft), and fields a
# posted settlement keeps as they were posted.
POSTING_FIELDS = frozenset({"state", "move_id", "posted_with_estimates"})
POSTED_LOCKED_FIELDS = frozenset(
    {
        "store_id",
        "settlement_ref",
        "currency_id",
        "total_amount",
        "deposit_date",
        "period_start",
        "period_end",
    }
)
POSTING_CONTEXT = "connectbooks_posting"
# How many problems a posting gate lists before "and N more".
GATE_SAMPLE = 10
# A settlement tried less than this long ago is not taken again by the cron.
CRON_RETRY_AFTER = timedelta(minutes=30)

COST_STATUSES = [
    ("not_synced", "Not Synced"),
    ("missing", "Missing Costs"),
    ("complete", "Costs Complete"),
]


class ConnectbooksSettlement(models.Model):
    _name = "connectbooks.settlement"
    _description = "Marketplace Settlement"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _check_company_auto = True
    _order = "deposit_date desc, id desc"
    _rec_names_search = ["name", "settlement_ref"]

    name = fields.Char(compute="_compute_name", store=True)
    store_id = fields.Many2one(
        "connectbooks.store",
        required=True,
        ondelete="restrict",
        index=True,
        check_company=True,
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", related="store_id.company_id", store=True, index=True
    )
    marketplace = fields.Selection(related="store_id.marketplace")
    settlement_ref = fields.Char(
        string="Settlement ID", required=True, index=True, tracking=True
    )
    period_start = fields.Datetime()
    period_end = fields.Datetime()
    deposit_date = fields.Date(tracking=True)
    currency_id = fields.Many2one("res.currency", required=True)
    total_amount = fields.Monetary(
        string="Reported Total",
        help="The deposit as reported by the marketplace (total-amount).",
    )
    line_total = fields.Monetary(
        compute="_compute_line_total",
        store=True,
        help="Sum of the amounts of the settlement's lines.",
    )
    balanced = fields.Boolean(
        compute="_compute_line_total",
        store=True,
        help="The lines add up to the reported total.",
    )
    state = fields.Selection(
        [("draft", "Draft"), ("posted", "Posted"), ("cancelled", "Cancelled")],
        default="draft",
        required=True,
        copy=False,
        tracking=True,
        index=True,
    )
    cost_status = fields.Selection(
        COST_STATUSES,
        compute="_compute_cost_status",
        store=True,
        index=True,
        tracking=True,
    )
    missing_count = fields.Integer(
        string="Missing Costs", compute="_compute_cost_status", store=True
    )
    cost_total = fields.Monetary(
        string="Total COGS", compute="_compute_cost_status", store=True
    )
    unmapped_count = fields.Integer(compute="_compute_export_status")
    export_status = fields.Char(compute="_compute_export_status")
    line_ids = fields.One2many("connectbooks.settlement.line", "settlement_id")
    line_count = fields.Integer(compute="_compute_line_count")
    cost_line_ids = fields.One2many("goflow.cost.line", "settlement_id")
    move_id = fields.Many2one(
        "account.move",
        string="Settlement Entry",
        readonly=True,
        copy=False,
        check_company=True,
    )
    cogs_move_ids = fields.One2many(
        "account.move",
        "goflow_settlement_id",
        string="COGS Entries",
        domain=[("goflow_move_kind", "in", ("cogs", "trueup"))],
        readonly=True,
    )
    posted_with_estimates = fields.Boolean(readonly=True, copy=False, tracking=True)
    last_sync_at = fields.Datetime(string="Last Goflow Sync", readonly=True, copy=False)
    last_sync_attempt_at = fields.Datetime(readonly=True, copy=False)
    last_sync_error = fields.Char(readonly=True, copy=False)
    filename = fields.Char(readonly=True)
    layout = fields.Selection(
        [("amazon_v2", "Amazon Settlement V2"), ("generic_csv", "Generic CSV")],
        readonly=True,
    )

    _sql_constraints = [
        (
            "settlement_store_uniq",
            "UNIQUE(store_id, settlement_ref)",
            "This settlement was already imported for this store.",
        ),
    ]

    @api.depends("store_id.name", "settlement_ref")
    def _compute_name(self):
        for settlement in self:
            parts = (settlement.store_id.name, settlement.settlement_ref)
            settlement.name = " ".join(part for part in parts if part)

    @api.depends("line_ids.amount", "total_amount", "currency_id")
    def _compute_line_total(self):
        totals = dict(
            self.env["connectbooks.settlement.line"]._read_group(
                [("settlement_id", "in", self.ids)], ["settlement_id"], ["amount:sum"]
            )
        )
        for settlement in self:
            total = totals.get(settlement, 0.0)
            settlement.line_total = total
            currency = settlement.currency_id
            settlement.balanced = bool(currency) and currency.is_zero(
                total - settlement.total_amount
            )

    @api.depends(
        "cost_line_ids.state", "cost_line_ids.synced_at", "cost_line_ids.total_cost"
    )
    def _compute_cost_status(self):
        CostLine = self.env["goflow.cost.line"]
        groups = CostLine._read_group(
            [("settlement_id", "in", self.ids)],
            ["settlement_id", "state"],
            ["__count", "total_cost:sum"],
        )
        never_synced = dict(
            CostLine._read_group(
                [
                    ("settlement_id", "in", self.ids),
                    ("synced_at", "=", False),
                    ("source", "not in", ("manual", "average")),
                ],
                ["settlement_id"],
                ["__count"],
            )
        )
        missing = {}
        totals = {}
        for settlement, state, count, total in groups:
            totals[settlement] = totals.get(settlement, 0.0) + total
            if state == "missing":
                missing[settlement] = count
        for settlement in self:
            settlement.missing_count = missing.get(settlement, 0)
            settlement.cost_total = totals.get(settlement, 0.0)
            if never_synced.get(settlement):
                settlement.cost_status = "not_synced"
            elif settlement.missing_count:
                settlement.cost_status = "missing"
            else:
                settlement.cost_status = "complete"

    @api.depends("state", "missing_count", "cost_status")
    @api.depends_context("uid")
    def _compute_export_status(self):
        # Posted and cancelled settlements show their state, not this count:
        # their (possibly million) lines are not scanned on every list render.
        unmapped = self.filtered(lambda s: s.state == "draft")._unmapped_combinations()
        for settlement in self:
            settlement.unmapped_count = len(unmapped.get(settlement.id, ()))
            if settlement.state == "posted":
                status = _("Posted")
                if settlement.posted_with_estimates:
                    status = _("Posted with estimates")
            elif settlement.state == "cancelled":
                status = _("Cancelled")
            elif settlement.unmapped_count:
                status = _(
                    "Unmapped transaction (%(count)s)", count=settlement.unmapped_count
                )
            elif settlement.missing_count:
                status = _(
                    "Item missing cost (%(count)s)", count=settlement.missing_count
                )
            elif settlement.cost_status == "not_synced":
                status = _("Costs not synced")
            else:
                status = _("Ready")
            settlement.export_status = status

    def _compute_line_count(self):
        counts = dict(
            self.env["connectbooks.settlement.line"]._read_group(
                [("settlement_id", "in", self.ids)], ["settlement_id"], ["__count"]
            )
        )
        for settlement in self:
            settlement.line_count = counts.get(settlement, 0)

    @api.model_create_multi
    def create(self, vals_list):
        self._check_not_imported(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        if POSTING_FIELDS & vals.keys() and not self.env.context.get(POSTING_CONTEXT):
            raise UserError(
                _("A settlement's status changes only through Post and Reset to Draft.")
            )
        if POSTED_LOCKED_FIELDS & vals.keys():
            posted = self.filtered(lambda s: s.state == "posted")
            if posted:
                raise UserError(
                    _(
                        "Settlement %(name)s is posted; reset it to draft before "
                        "changing it.",
                        name=posted[0].display_name,
                    )
                )
        return super().write(vals)

    def unlink(self):
        ids = self.ids
        result = super().unlink()
        # The line table has no foreign key to cascade the delete (see
        # connectbooks_settlement_line._SettlementReference).
        Line = self.env["connectbooks.settlement.line"]
        Line.flush_model()
        self.env.cr.execute(
            "DELETE FROM connectbooks_settlement_line WHERE settlement_id = ANY(%s)",
            [ids],
        )
        Line.invalidate_model()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_posted(self):
        posted = self.filtered(lambda s: s.state == "posted")
        if posted:
            raise UserError(
                _(
                    "Settlement %(name)s is posted; reset it to draft before "
                    "deleting it.",
                    name=posted[0].display_name,
                )
            )

    def action_sync_goflow(self):
        """Button and list action: sync now, errors shown to the user."""
        self.check_access("write")
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
        posted with estimates), oldest first, a batch per call."""
        domain = self._cron_sync_domain()
        settlements = self.search(
            domain, order="deposit_date asc, id asc", limit=batch_size
        )
        remaining = self.search_count(domain) - len(settlements)
        settlements._sync_goflow(raise_errors=False)
        self.env["ir.cron"]._notify_progress(
            done=len(settlements), remaining=max(remaining, 0)
        )

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
            ("state", "=", "draft"),
            ("cost_status", "in", ("not_synced", "missing")),
            "&",
            ("state", "=", "posted"),
            ("posted_with_estimates", "=", True),
        ]

    def _sync_goflow(self, raise_errors):
        """Sync each settlement's costs with Goflow.

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
                    try:
                        settlement._sync_goflow_one()
                    except GoflowError as error:
                        raise UserError(
                            _(
                                "Goflow sync of settlement %(ref)s failed: %(error)s",
                                ref=settlement.settlement_ref,
                                error=error,
                            )
                        ) from error
                    done += 1
                    continue
                try:
                    with self.env.cr.savepoint():
                        settlement._sync_goflow_one()
                    done += 1
                except (GoflowError, UserError) as error:
                    failed += 1
                    settlement._sync_goflow_failed(error)
                except Exception as error:  # one settlement's
                    # bug must not stop the others nor starve the queue
                    _logger.exception(
                        "Goflow sync of settlement %s crashed", settlement.id
                    )
                    failed += 1
                    settlement._sync_goflow_failed(
                        _(
                            "Unexpected error (%(error)s); see the server log.",
                            error=type(error).__name__,
                        )
                    )
        return _(
            "%(done)s settlement(s) synced, %(failed)s failed, %(busy)s skipped.",
            done=done,
            failed=failed,
            busy=busy,
        )

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
            OrderCostLine``; by default the store's Goflow connection. The demo
            data passes the sandbox's own data file here.
        """
        self.ensure_one()
        store = self.store_id
        if fetch is None:
            connection = store.goflow_connection_id
            if not connection:
                raise UserError(
                    _(
                        "Store %(store)s has no Goflow connection; set one on the "
                        "store.",
                        store=store.name,
                    )
                )

            def fetch(numbers):
                client = connection._goflow_client()
                return client.fetch_order_costs(
                    numbers, store_ids=store._goflow_store_id_list() or None
                )

        states, quantities = self._sync_line_states()
        numbers = order_numbers_to_ask(states)
        order_lines = self._in_settlement_currency(
            list(fetch(numbers)) if numbers else []
        )
        costs, found = aggregate_costs(order_lines)
        updates = plan_sync(states, costs, found)
        now = fields.Datetime.now()
        self._apply_sync_updates(updates, quantities, now)
        self.write(
            {"last_sync_at": now, "last_sync_attempt_at": now, "last_sync_error": False}
        )
        self._post_sync_message(updates, len(numbers))
        trueups = [u for u in updates if u.action == ACTION_TRUEUP]
        if trueups and self.state == "posted":
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
        rates = {
            code: Decimal(
                str(currency._convert(1.0, target, self.company_id, date, round=False))
            )
            for code, currency in currencies.items()
        }
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

    def _sync_line_states(self):
        """The cost lines a sync may change (not those set by a person), read
        with one query.

        :return: ([LineState], {line id: (quantity, sign)})
        """
        self.env["goflow.cost.line"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, kind, COALESCE(order_ref, ''), COALESCE(sku, ''),
                       state, source, unit_cost, missing_reason, quantity, sign
                  FROM goflow_cost_line
                 WHERE settlement_id = %s
                   AND (source IS NULL OR source NOT IN ('manual', 'average'))
                """,
                self.id,
            )
        )
        posted = self.state == "posted"
        quantities = {}
        states = []
        for row in self.env.cr.fetchall():
            line_id, kind, order_ref, sku, state, source, unit, reason, qty, sign = row
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
        return states, quantities

    def _apply_sync_updates(self, updates, quantities, synced_at):
        """Write the planned updates and the sync time of every line.

        The updates are staged with ``COPY`` in a temporary table and applied
        by one ``UPDATE ... FROM``; a second statement stamps the lines that
        did not change. Each row is written once: a 450,000-line settlement
        is rewritten in seconds, not in minutes of VALUES lists.

        :param quantities: {line id: (quantity, sign)}
        """
        decimals = self.currency_id.decimal_places
        buffer = io.StringIO()
        out = csv.writer(buffer)
        for update in updates:
            if update.action == ACTION_MISSING:
                out.writerow(
                    (
                        update.line_id,
                        None,
                        0,
                        "missing",
                        None,
                        update.missing_reason,
                        update.goflow_ref,
                    )
                )
                continue
            quantity, sign = quantities[update.line_id]
            total = line_total(quantity, update.unit_cost, decimals)
            out.writerow(
                (
                    update.line_id,
                    update.unit_cost,
                    sign * total,
                    "costed",
                    "goflow",
                    None,
                    update.goflow_ref,
                )
            )
        cr = self.env.cr
        self.env["goflow.cost.line"].flush_model()
        if updates:
            cr.execute(
                """
                CREATE TEMP TABLE IF NOT EXISTS goflow_sync_update (
                    id integer PRIMARY KEY, unit_cost numeric, total_cost numeric,
                    state varchar, source varchar, reason varchar,
                    goflow_ref varchar
                ) ON COMMIT DROP
                """
            )
            cr.execute("TRUNCATE goflow_sync_update")
            buffer.seek(0)
            cr.copy_expert(
                "COPY goflow_sync_update FROM STDIN WITH (FORMAT csv)", buffer
            )
            cr.execute(
                SQL(
                    """
                    UPDATE goflow_cost_line c
                       SET unit_cost = v.unit_cost,
                           total_cost = v.total_cost,
                           state = v.state,
                           source = v.source,
                           missing_reason = v.reason,
                           goflow_order_ref = COALESCE(
                               v.goflow_ref, c.goflow_order_ref
                           ),
                           synced_at = %s,
                           write_uid = %s,
                           write_date = %s
                      FROM goflow_sync_update v
                     WHERE c.id = v.id
                    """,
                    synced_at,
                    self.env.uid,
                    synced_at,
                )
            )
        cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line
                   SET synced_at = %s
                 WHERE settlement_id = %s
                   AND synced_at IS DISTINCT FROM %s
                """,
                synced_at,
                self.id,
                synced_at,
            )
        )
        self._cost_lines_written_by_sql(
            [
                "unit_cost",
                "total_cost",
                "state",
                "source",
                "missing_reason",
                "goflow_order_ref",
                "synced_at",
            ]
        )

    def _cost_lines_written_by_sql(self, fnames):
        """After an SQL write of these cost-line fields of ``self``'s lines:
        drop them from the cache and recompute the settlement's cost status.

        Cheaper than ``modified()`` on every line of a 150,000-line
        settlement; the only stored fields depending on cost lines are the
        settlement's (``_compute_cost_status``). ``total_cost`` is written
        by the same SQL, never recomputed from a stale cache.
        """
        self.env["goflow.cost.line"].invalidate_model(fnames)
        if "cogs_move_line_id" in fnames:
            self.env["account.move.line"].invalidate_model(["goflow_cost_line_ids"])
        for name in ("cost_status", "missing_count", "cost_total"):
            self.env.add_to_compute(self._fields[name], self)

    def _post_sync_message(self, updates, asked):
        costed = sum(
            1 for u in updates if u.action not in (ACTION_MISSING, ACTION_TRUEUP)
        )
        trueups = sum(1 for u in updates if u.action == ACTION_TRUEUP)
        self.flush_recordset()
        CostLine = self.env["goflow.cost.line"]
        domain = [("settlement_id", "=", self.id), ("state", "=", "missing")]
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
            sample = ", ".join(
                f"{line.sku} ({line.order_ref or line.adjustment_ref or '-'})"
                for line in CostLine.search(domain, limit=5)
            )
            body += " " + _("Missing: %(sample)s", sample=sample)
            if missing_count > 5:
                body += " …"
        self.message_post(body=body)

    # -- posting (DESIGN §5) ---------------------------------------------------

    def action_post(self):
        """Post the settlement entry and the COGS entry (accounting manager)."""
        self._check_manager()
        for settlement in self:
            settlement._post(estimate=False)
        return True

    def action_post_estimated(self):
        """Post with the pre-filled costs standing in for the missing ones;
        they are marked ``estimate`` and trued up when real costs arrive."""
        self._check_manager()
        for settlement in self:
            settlement._post(estimate=True)
        return True

    def action_reset_to_draft(self):
        """Cancel the settlement's entries the Odoo way (reset to draft and
        cancel; reversed instead when their period is locked)."""
        self._check_manager()
        for settlement in self.filtered(lambda s: s.state == "posted"):
            settlement._unpost()
        return True

    def _check_manager(self):
        if not self.env.user.has_group("account.group_account_manager"):
            raise AccessError(
                _("Only an accounting manager can post or reset a settlement.")
            )
        self.check_access("write")

    def _post(self, estimate):
        self.ensure_one()
        if self.state != "draft":
            raise UserError(
                _("Settlement %(name)s is not a draft.", name=self.display_name)
            )
        self._check_posting_setup()
        if estimate:
            self._apply_estimates()
        self._check_costs_complete()
        settlement_vals = self._prepare_settlement_move_vals()
        cogs_vals, pairs = self._prepare_cogs_move_vals()
        vals_list = [settlement_vals] + ([cogs_vals] if cogs_vals else [])
        moves = (
            self.env["account.move"]
            .with_context(skip_invoice_sync=True)
            .create(vals_list)
        )
        moves.action_post()
        settlement_move = moves[0]
        if cogs_vals:
            self._link_cost_lines(moves[1], pairs)
        estimated = self.env["goflow.cost.line"].search_count(
            [("settlement_id", "=", self.id), ("source", "=", "estimate")]
        )
        self.with_context(**{POSTING_CONTEXT: True}).write(
            {
                "state": "posted",
                "move_id": settlement_move.id,
                "posted_with_estimates": bool(estimated),
            }
        )
        self.message_post(
            body=_(
                "Posted: settlement entry %(entry)s, COGS %(cogs)s.",
                entry=settlement_move.name,
                cogs=moves[1:].name or _("none (nothing to cost)"),
            )
            + (
                " " + _("%(count)s estimated cost(s).", count=estimated)
                if estimated
                else ""
            )
        )

    def _check_posting_setup(self):
        store = self.store_id
        missing = [
            store._fields[name].string
            for name in (
                "journal_id",
                "clearing_account_id",
                "cogs_account_id",
                "inventory_account_id",
            )
            if not store[name]
        ]
        if missing:
            raise UserError(
                _(
                    "Store %(store)s needs these before posting: %(fields)s.",
                    store=store.name,
                    fields=", ".join(missing),
                )
            )
        if not self.deposit_date:
            raise UserError(
                _("Settlement %(name)s has no deposit date.", name=self.display_name)
            )

    def _check_costs_complete(self):
        CostLine = self.env["goflow.cost.line"]
        domain = [("settlement_id", "=", self.id), ("state", "=", "missing")]
        count = CostLine.search_count(domain)
        if not count:
            return
        missing = CostLine.search(domain, limit=GATE_SAMPLE)
        sample = ", ".join(
            f"{line.sku} ({line.order_ref or line.adjustment_ref or '-'})"
            for line in missing
        )
        more = count - GATE_SAMPLE
        raise UserError(
            _(
                "Settlement %(name)s has %(count)s cost line(s) without a cost: "
                "%(sample)s%(more)s. Sync with Goflow or resolve them first; a "
                "manager may post with estimated costs.",
                name=self.display_name,
                count=count,
                sample=sample,
                more=_(" and %(n)s more", n=more) if more > 0 else "",
            )
        )

    def _prepare_settlement_move_vals(self):
        """One line per mapped (transaction type, amount type, description),
        and the deposit to the clearing account.

        :raise UserError: an unmapped combination, or the lines do not add up
            to the reported total
        """
        store = self.store_id
        self.env["connectbooks.settlement.line"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT transaction_type, amount_type, amount_description,
                       SUM(amount)
                  FROM connectbooks_settlement_line
                 WHERE settlement_id = %s
                 GROUP BY transaction_type, amount_type, amount_description
                 ORDER BY transaction_type, amount_type, amount_description
                """,
                self.id,
            )
        )
        combos = self.env.cr.fetchall()
        index, rules = self.env["connectbooks.amount.mapping"]._mapping_index(store)

        def account_of(ttype, atype, desc):
            rule_id = index.match(ttype, atype, desc)
            if rule_id is None:
                return None
            return rules[rule_id]._account_for(store).id or None

        decimals = self.currency_id.decimal_places
        lines, unmapped, deposit = settlement_lines(combos, account_of, decimals)
        if unmapped:
            listed = "\n".join(
                f"- {u.transaction_type} / {u.amount_type} / {u.amount_description}"
                f" ({u.amount})"
                for u in unmapped[:GATE_SAMPLE]
            )
            raise UserError(
                _(
                    "Settlement %(name)s has %(count)s unmapped transaction(s); map "
                    "them under Configuration > Amount Mappings (or give the store "
                    "an account for their role):\n%(listed)s",
                    name=self.display_name,
                    count=len(unmapped),
                    listed=listed,
                )
            )
        reported = self.currency_id.round(self.total_amount)
        if self.currency_id.compare_amounts(float(deposit), reported):
            raise UserError(
                _(
                    "Settlement %(name)s does not balance: its lines add up to "
                    "%(lines)s but the marketplace reports a deposit of %(total)s "
                    "(difference %(diff)s).",
                    name=self.display_name,
                    lines=deposit,
                    total=reported,
                    diff=self.currency_id.round(reported - float(deposit)),
                )
            )
        line_vals = [
            self._move_line_vals(line.account_id, line.label, line.balance)
            for line in lines
        ]
        line_vals.append(
            self._move_line_vals(
                store.clearing_account_id.id,
                _("Deposit %(ref)s", ref=self.settlement_ref),
                deposit,
            )
        )
        self._balance_company_currency(line_vals)
        return self._move_vals("settlement", line_vals)

    def _prepare_cogs_move_vals(self):
        """The COGS entry: per SKU and direction, COGS against inventory.

        :return: (vals or None when nothing is costed, list of CogsPair)
        """
        self.env["goflow.cost.line"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, sku, product_id, sign, quantity, total_cost
                  FROM goflow_cost_line
                 WHERE settlement_id = %s
                 ORDER BY sku, id
                """,
                self.id,
            )
        )
        pairs = cogs_pairs(self.env.cr.fetchall())
        if not pairs:
            return None, pairs
        return self._move_vals("cogs", self._cogs_line_vals(pairs)), pairs

    def _cogs_line_vals(self, pairs, trueup=False):
        """Journal items of COGS pairs; a true-up moves value, not units, so
        its items carry no quantity."""
        store = self.store_id
        vals = []
        for pair in pairs:
            if trueup:
                name = _("COGS true-up %(sku)s", sku=pair.sku)
            else:
                what = _("refunded") if pair.direction != GOODS_OUT else _("sold")
                name = _(
                    "COGS %(sku)s (%(what)s %(qty)s)",
                    sku=pair.sku,
                    what=what,
                    qty=f"{pair.quantity.normalize():f}",
                )
            common = {
                "product_id": pair.product_id or False,
                "quantity": 0.0 if trueup else float(pair.quantity),
                # given, so Odoo does not look up an analytic distribution
                # model for each of thousands of items (one query each)
                "analytic_distribution": False,
                "tax_ids": [],
            }
            vals.append(
                {
                    **self._move_line_vals(
                        store.cogs_account_id.id, name, pair.cogs_balance
                    ),
                    **common,
                }
            )
            vals.append(
                {
                    **self._move_line_vals(
                        store.inventory_account_id.id, name, -pair.cogs_balance
                    ),
                    **common,
                }
            )
        self._balance_company_currency(vals)
        return vals

    def _move_line_vals(self, account_id, name, amount):
        """Values of a journal item of ``amount`` in the settlement currency
        (positive: debit), converted at the deposit date."""
        company = self.company_id
        currency = self.currency_id
        amount = float(amount)
        if currency == company.currency_id:
            return {"account_id": account_id, "name": name, "balance": amount}
        balance = currency._convert(
            amount, company.currency_id, company, self.deposit_date
        )
        return {
            "account_id": account_id,
            "name": name,
            "currency_id": currency.id,
            "amount_currency": amount,
            "balance": balance,
        }

    def _balance_company_currency(self, line_vals):
        """Foreign settlements: put the conversion's rounding remainder on
        the last line so the entry balances in company currency."""
        if self.currency_id == self.company_id.currency_id or not line_vals:
            return
        company_currency = self.company_id.currency_id
        remainder = company_currency.round(sum(v["balance"] for v in line_vals))
        if remainder:
            line_vals[-1]["balance"] = company_currency.round(
                line_vals[-1]["balance"] - remainder
            )

    def _move_vals(self, kind, line_vals, date=None):
        labels = {
            "settlement": _("Settlement %(ref)s", ref=self.settlement_ref),
            "cogs": _("COGS of settlement %(ref)s", ref=self.settlement_ref),
            "trueup": _("COGS true-up of settlement %(ref)s", ref=self.settlement_ref),
        }
        return {
            "move_type": "entry",
            "journal_id": self.store_id.journal_id.id,
            "date": date or self.deposit_date,
            "ref": labels[kind],
            "goflow_settlement_id": self.id,
            "goflow_move_kind": kind,
            "line_ids": [fields.Command.create(vals) for vals in line_vals],
        }

    def _link_cost_lines(self, move, pairs):
        """Point every cost line at the COGS journal item that carries it and
        record what was booked for it (the base of later true-ups)."""
        cogs_account = self.store_id.cogs_account_id
        cogs_items = move.line_ids.filtered(
            lambda item: item.account_id == cogs_account
        )
        if len(cogs_items) != len(pairs):
            raise UserError(_("The COGS entry does not match its cost lines."))
        rows = [
            (line_id, item.id)
            for pair, item in zip(pairs, cogs_items.sorted("id"), strict=True)
            for line_id in pair.cost_line_ids
        ]
        if not rows:
            return
        values = SQL(", ").join(SQL("(%s, %s)", *row) for row in rows)
        self.env.cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line c
                   SET cogs_move_line_id = v.item, posted_total = c.total_cost
                  FROM (VALUES %s) AS v(id, item)
                 WHERE c.id = v.id
                """,
                values,
            )
        )
        self._cost_lines_written_by_sql(["cogs_move_line_id", "posted_total"])

    def _link_trueup_lines(self, move, pairs):
        """Link each changed cost line to the COGS item of its true-up."""
        cogs_account = self.store_id.cogs_account_id
        items = move.line_ids.filtered(
            lambda item: item.account_id == cogs_account
        ).sorted("id")
        rows = [
            (line_id, item.id)
            for pair, item in zip(pairs, items, strict=True)
            for line_id in pair.cost_line_ids
        ]
        self.env.cr.execute(
            SQL(
                "INSERT INTO goflow_cost_line_trueup_rel (cost_line_id, move_line_id) "
                "VALUES %s ON CONFLICT DO NOTHING",
                SQL(", ").join(SQL("(%s, %s)", *row) for row in rows),
            )
        )
        self.env["goflow.cost.line"].invalidate_model(["trueup_move_line_ids"])
        self.env["account.move.line"].invalidate_model(["goflow_trueup_cost_line_ids"])

    def _apply_estimates(self):
        """Give each missing cost line its pre-filled cost, as an estimate."""
        missing = self.env["goflow.cost.line"].search(
            [("settlement_id", "=", self.id), ("state", "=", "missing")]
        )
        if not missing:
            return
        prefills = missing._goflow_prefill()
        unknown = missing.filtered(lambda c: not prefills.get(c.id, (None,))[0])
        if unknown:
            raise UserError(
                _(
                    "No estimate is known for %(count)s cost line(s): %(sample)s. "
                    "Type their cost in the Resolve wizard.",
                    count=len(unknown),
                    sample=", ".join(
                        f"{c.sku} ({c.order_ref or c.adjustment_ref or '-'})"
                        for c in unknown[:GATE_SAMPLE]
                    ),
                )
            )
        for unit_cost, lines in missing.grouped(lambda c: prefills[c.id][0]).items():
            lines.write(
                {
                    "unit_cost": float(unit_cost),
                    "state": "costed",
                    "source": "estimate",
                    "missing_reason": False,
                }
            )

    def _goflow_post_trueups(self):
        """Post, for a posted settlement, the difference between its cost
        lines and what its COGS entries booked: one true-up entry per call,
        dated at the deposit date or, when that period is locked, on the
        first open day."""
        for settlement in self.filtered(lambda s: s.state == "posted"):
            settlement._post_trueup()

    def _post_trueup(self):
        self.ensure_one()
        CostLine = self.env["goflow.cost.line"]
        CostLine.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, sku, product_id, sign, quantity, total_cost,
                       posted_total, unit_cost
                  FROM goflow_cost_line
                 WHERE settlement_id = %s AND total_cost != posted_total
                 ORDER BY sku, id
                """,
                self.id,
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            return
        pairs = trueup_pairs(row[:7] for row in rows)
        moves = self.env["account.move"]
        if pairs:
            date = self._first_open_date(self.deposit_date)
            vals = self._move_vals(
                "trueup", self._cogs_line_vals(pairs, trueup=True), date
            )
            moves = self.env["account.move"].create(vals)
            moves.action_post()
            self._link_trueup_lines(moves, pairs)
        changed = CostLine.browse([row[0] for row in rows])
        self.env.cr.execute(
            SQL(
                "UPDATE goflow_cost_line SET posted_total = total_cost "
                "WHERE id = ANY(%s)",
                changed.ids,
            )
        )
        self._cost_lines_written_by_sql(["posted_total"])
        items = Markup("").join(
            Markup("<li>%s (%s): %s → %s</li>")
            % (sku, changed.browse(line_id).order_ref or "-", posted, total)
            for line_id, sku, _p, _s, _q, total, posted, _u in rows[:GATE_SAMPLE]
        )
        self.message_post(
            body=Markup("<p>%s</p><ul>%s</ul>")
            % (
                _(
                    "COGS true-up %(entry)s: %(count)s cost line(s) changed after "
                    "posting.",
                    entry=moves.name or _("(nets to zero, no entry)"),
                    count=len(rows),
                ),
                items,
            )
        )
        self._refresh_estimate_flag()

    def _refresh_estimate_flag(self):
        """A posted settlement stops being "posted with estimates" once its
        last estimated cost is replaced by a real one."""
        if self.posted_with_estimates and not self.env["goflow.cost.line"].search_count(
            [("settlement_id", "=", self.id), ("source", "=", "estimate")]
        ):
            self.with_context(**{POSTING_CONTEXT: True}).posted_with_estimates = False

    def _first_open_date(self, date):
        """``date``, or the day after the latest lock date that covers it."""
        journal = self.store_id.journal_id
        locks = self.company_id._get_violated_lock_dates(date, False, journal)
        if locks:
            return locks[-1][0] + timedelta(days=1)
        return date

    def _unpost(self):
        self.ensure_one()
        # Entries already reversed (a locked period at an earlier reset) and
        # the reversals themselves are history, not to be undone again.
        moves = (self.move_id | self.cogs_move_ids).filtered(
            lambda m: (
                m.state == "posted"
                and not m.reversed_entry_id
                and not m.reversal_move_ids
            )
        )
        for move in moves:
            try:
                with self.env.cr.savepoint():
                    move.button_draft()
                    move.button_cancel()
            except UserError:
                # A locked period: reverse on the first open day instead.
                reversal = move._reverse_moves(
                    [
                        {
                            "date": self._first_open_date(move.date),
                            "ref": _("Reversal of %(name)s", name=move.name),
                        }
                    ],
                    cancel=True,
                )
                reversal.goflow_settlement_id = self
                reversal.goflow_move_kind = move.goflow_move_kind
        self.env["goflow.cost.line"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line
                   SET cogs_move_line_id = NULL, posted_total = 0
                 WHERE settlement_id = %s
                """,
                self.id,
            )
        )
        # Estimates stood in for the posting only: back to missing costs.
        self.env.cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line
                   SET state = 'missing', source = NULL, unit_cost = NULL,
                       total_cost = 0
                 WHERE settlement_id = %s AND source = 'estimate'
                """,
                self.id,
            )
        )
        self._cost_lines_written_by_sql(
            [
                "cogs_move_line_id",
                "posted_total",
                "state",
                "source",
                "unit_cost",
                "total_cost",
            ]
        )
        self.with_context(**{POSTING_CONTEXT: True}).write(
            {"state": "draft", "move_id": False, "posted_with_estimates": False}
        )
        self.message_post(
            body=_("Reset to draft: %(count)s entry(ies) cancelled.", count=len(moves))
        )

    def action_view_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connectbooks_goflow.connectbooks_settlement_line_action"
        )
        action["domain"] = [("settlement_id", "=", self.id)]
        action["context"] = {"search_default_group_by_kind": 1}
        return action

    def action_view_cost_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connectbooks_goflow.goflow_cost_line_action"
        )
        action["domain"] = [("settlement_id", "=", self.id)]
        action["context"] = {}
        return action

    @api.model
    def _check_not_imported(self, vals_list):
        """Refuse, by name, a settlement id already imported for its store.

        The unique constraint is the safety net; this check runs first so the
        message names the settlement and the store.
        """
        keys = {(v.get("store_id"), v.get("settlement_ref")) for v in vals_list}
        refs = [ref for _store, ref in keys if ref]
        if not refs:
            return
        existing = (
            self.sudo()
            .with_context(active_test=False)
            .search([("settlement_ref", "in", refs)])
        )
        for settlement in existing:
            if (settlement.store_id.id, settlement.settlement_ref) in keys:
                raise UserError(
                    _(
                        "Settlement %(ref)s was already imported for store "
                        "%(store)s (deposit of %(date)s).",
                        ref=settlement.settlement_ref,
                        store=settlement.store_id.name,
                        date=settlement.deposit_date or "-",
                    )
                )
        if len(keys) < len(vals_list):
            raise UserError(_("The same settlement is listed twice in one import."))

    def _unmapped_combinations(self):
        """Distinct (transaction type, amount type, description) per settlement
        that no mapping rule covers, or whose role has no account on the store.

        :return: {settlement id: [(transaction type, amount type, description)]}
        """
        result = {}
        if not self.ids:
            return result
        Mapping = self.env["connectbooks.amount.mapping"]
        self.env["connectbooks.settlement.line"].flush_model(
            ["settlement_id", "transaction_type", "amount_type", "amount_description"]
        )
        self.env.cr.execute(
            """
            SELECT DISTINCT settlement_id, transaction_type, amount_type,
                   amount_description
              FROM connectbooks_settlement_line
             WHERE settlement_id = ANY(%s)
            """,
            [self.ids],
        )
        combos = {}
        for settlement_id, ttype, atype, desc in self.env.cr.fetchall():
            combos.setdefault(settlement_id, []).append((ttype, atype, desc))
        for store in self.store_id:
            index, rules = Mapping._mapping_index(store)
            for settlement in self.filtered(lambda s, st=store: s.store_id == st):
                missing = []
                for combo in combos.get(settlement.id, ()):
                    rule_id = index.match(*combo)
                    if rule_id is None or not rules[rule_id]._account_for(store):
                        missing.append(combo)
                if missing:
                    result[settlement.id] = missing
        return result
