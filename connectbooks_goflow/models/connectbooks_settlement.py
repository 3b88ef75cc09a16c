import logging
from contextvars import ContextVar

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..core.costing import deposit_check
from ..core.vocabulary import (
    COST_COMPLETE,
    COST_MISSING,
    COST_NOT_SYNCED,
    COST_STATUSES,
    MANUAL_SOURCES,
    SETTLEMENT_CANCELLED,
    SETTLEMENT_DRAFT,
    SETTLEMENT_POSTED,
    SETTLEMENT_SOURCE_UPLOAD,
    SETTLEMENT_SOURCES,
    SETTLEMENT_STATES,
    STATE_MISSING,
)

_logger = logging.getLogger(__name__)

# Fields only the posting code writes (Post / Reset to Draft), through
# _write_posting_fields, and fields a posted settlement keeps as posted.
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
# Set only while _write_posting_fields writes: a flag no RPC caller can
# reach (unlike the context, which JSON-RPC passes through untouched).
_POSTING = ContextVar("connectbooks_settlement_posting", default=False)
# How many problems a message lists before "and N more".
GATE_SAMPLE = 10


class ConnectbooksSettlement(models.Model):
    """A marketplace payout: its lines as imported, its cost lines, its
    entries. This file holds its fields, status and records; the day's work
    on it lives beside it, a file each: the Goflow sync
    (``connectbooks_settlement_sync.py``), posting and reset
    (``connectbooks_settlement_posting.py``) and the journal entries they
    build (``connectbooks_settlement_entries.py``)."""

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
        list(SETTLEMENT_STATES),
        default=SETTLEMENT_DRAFT,
        required=True,
        copy=False,
        tracking=True,
        index=True,
    )
    cost_status = fields.Selection(
        list(COST_STATUSES),
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
    # Counts the completed syncs: "synced since" exactly, where the times
    # above are to the second.
    sync_count = fields.Integer(readonly=True, copy=False)
    last_sync_attempt_at = fields.Datetime(readonly=True, copy=False)
    last_sync_error = fields.Char(readonly=True, copy=False)
    filename = fields.Char(readonly=True)
    layout = fields.Selection(
        [
            ("amazon_v2", "Amazon Settlement V2"),
            ("generic_csv", "Generic CSV"),
            ("walmart_recon_v1", "Walmart Reconciliation Report v1"),
        ],
        readonly=True,
    )
    # Where the file came from: informational (what prevents a second
    # import is the settlement id, unique per store).
    source = fields.Selection(
        list(SETTLEMENT_SOURCES),
        default=SETTLEMENT_SOURCE_UPLOAD,
        required=True,
        readonly=True,
        copy=False,
    )
    amazon_report_ref = fields.Char(
        string="Amazon Report ID", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_document_ref = fields.Char(
        string="Amazon Document ID", readonly=True, copy=False
    )
    walmart_report_date = fields.Date(
        readonly=True,
        copy=False,
        help="The date Walmart lists the reconciliation report under.",
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
            settlement.balanced = settlement._is_balanced(total)

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
                    ("source", "not in", tuple(MANUAL_SOURCES)),
                ],
                ["settlement_id"],
                ["__count"],
            )
        )
        missing = {}
        totals = {}
        for settlement, state, count, total in groups:
            totals[settlement] = totals.get(settlement, 0.0) + total
            if state == STATE_MISSING:
                missing[settlement] = count
        for settlement in self:
            settlement.missing_count = missing.get(settlement, 0)
            settlement.cost_total = totals.get(settlement, 0.0)
            if never_synced.get(settlement):
                settlement.cost_status = COST_NOT_SYNCED
            elif settlement.missing_count:
                settlement.cost_status = COST_MISSING
            else:
                settlement.cost_status = COST_COMPLETE

    @api.depends("state", "missing_count", "cost_status")
    @api.depends_context("uid")
    def _compute_export_status(self):
        # Posted and cancelled settlements show their state, not this count:
        # their (possibly million) lines are not scanned on every list render.
        unmapped = self.filtered(
            lambda s: s.state == SETTLEMENT_DRAFT
        )._unmapped_combinations()
        for settlement in self:
            settlement.unmapped_count = len(unmapped.get(settlement.id, ()))
            if settlement.state == SETTLEMENT_POSTED:
                status = _("Posted")
                if settlement.posted_with_estimates:
                    status = _("Posted with estimates")
            elif settlement.state == SETTLEMENT_CANCELLED:
                status = _("Cancelled")
            elif settlement.unmapped_count:
                status = _(
                    "Unmapped transaction (%(count)s)", count=settlement.unmapped_count
                )
            elif settlement.missing_count:
                status = _(
                    "Item missing cost (%(count)s)", count=settlement.missing_count
                )
            elif settlement.cost_status == COST_NOT_SYNCED:
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
        if POSTING_FIELDS & vals.keys() and not _POSTING.get():
            raise UserError(
                _("A settlement's status changes only through Post and Reset to Draft.")
            )
        if POSTED_LOCKED_FIELDS & vals.keys():
            posted = self.filtered(lambda s: s.state == SETTLEMENT_POSTED)
            if posted:
                raise UserError(
                    _(
                        "Settlement %(name)s is posted; reset it to draft before "
                        "changing it.",
                        name=posted[0].display_name,
                    )
                )
        return super().write(vals)

    def _write_posting_fields(self, vals):
        """Write the fields only Post and Reset to Draft change (which
        :meth:`write` refuses to everyone else): the caller has checked the
        user's right to post (see ``_check_manager``). Private, so no RPC
        caller reaches it, and what opens the guard is not in the context.
        """
        if not vals.keys() <= POSTING_FIELDS:
            raise ValueError(
                f"Not posting fields: {sorted(vals.keys() - POSTING_FIELDS)}"
            )
        token = _POSTING.set(True)
        try:
            return self.sudo().write(vals)
        finally:
            _POSTING.reset(token)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_posted(self):
        posted = self.filtered(lambda s: s.state == SETTLEMENT_POSTED)
        if posted:
            raise UserError(
                _(
                    "Settlement %(name)s is posted; reset it to draft before "
                    "deleting it.",
                    name=posted[0].display_name,
                )
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

    def _is_balanced(self, lines_total):
        """Do lines adding up to ``lines_total`` make the reported deposit?
        The one deposit check: the import, this flag and the posting gate
        all use :func:`~..core.costing.deposit_check`."""
        self.ensure_one()
        if not self.currency_id:
            return False
        return deposit_check(
            lines_total, self.total_amount, self.currency_id.decimal_places
        ).balanced

    @api.model
    def _cost_line_sample(self, lines, limit=GATE_SAMPLE):
        """``SKU (order)`` of the first ``limit`` cost lines, for messages."""
        return ", ".join(
            f"{line.sku or '-'} ({line.order_ref or line.adjustment_ref or '-'})"
            for line in lines[:limit]
        )

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
        combos = self.env["connectbooks.settlement.line"]._distinct_combinations(
            self.ids
        )
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
