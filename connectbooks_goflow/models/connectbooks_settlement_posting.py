from odoo import _, models
from odoo.exceptions import AccessError, UserError

from ..core.vocabulary import (
    SETTLEMENT_DRAFT,
    SETTLEMENT_POSTED,
    SOURCE_ESTIMATE,
    STATE_COSTED,
    STATE_MISSING,
)
from .connectbooks_settlement import GATE_SAMPLE


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class ConnectbooksSettlement(models.Model):
    """Post, post with estimated costs, reset to draft: the gates a settlement
    passes and the state it ends in (docs/architecture.md, "Journal
    entries"). The entries themselves are built in
    ``connectbooks_settlement_entries.py``."""

    _inherit = "connectbooks.settlement"  # pylint: disable=consider-merging-classes-inherited

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
        for settlement in self.filtered(lambda s: s.state == SETTLEMENT_POSTED):
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
        if self.state != SETTLEMENT_DRAFT:
            raise UserError(
                _("Settlement %(name)s is not a draft.", name=self.display_name)
            )
        self._check_posting_setup()
        if estimate:
            self._apply_estimates()
        self._check_costs_complete()
        settlement_move, cogs_move = self._create_entries()
        estimated = self.env["goflow.cost.line"].search_count(
            [("settlement_id", "=", self.id), ("source", "=", SOURCE_ESTIMATE)]
        )
        self._write_posting_fields(
            {
                "state": SETTLEMENT_POSTED,
                "move_id": settlement_move.id,
                "posted_with_estimates": bool(estimated),
            }
        )
        body = _(
            "Posted: settlement entry %(entry)s, COGS %(cogs)s.",
            entry=settlement_move.name,
            cogs=cogs_move.name or _("none (nothing to cost)"),
        )
        if estimated:
            body += " " + _("%(count)s estimated cost(s).", count=estimated)
        self.message_post(body=body)

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
        domain = [("settlement_id", "=", self.id), ("state", "=", STATE_MISSING)]
        count = CostLine.search_count(domain)
        if not count:
            return
        more = count - GATE_SAMPLE
        sample = self._cost_line_sample(CostLine.search(domain, limit=GATE_SAMPLE))
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

    def _apply_estimates(self):
        """Give each missing cost line its pre-filled cost, as an estimate."""
        missing = self.env["goflow.cost.line"].search(
            [("settlement_id", "=", self.id), ("state", "=", STATE_MISSING)]
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
                    sample=self._cost_line_sample(unknown),
                )
            )
        for unit_cost, lines in missing.grouped(lambda c: prefills[c.id][0]).items():
            lines.write(
                {
                    "unit_cost": float(unit_cost),
                    "state": STATE_COSTED,
                    "source": SOURCE_ESTIMATE,
                    "missing_reason": False,
                }
            )

    def _refresh_estimate_flag(self):
        """A posted settlement stops being "posted with estimates" once its
        last estimated cost is replaced by a real one."""
        if self.posted_with_estimates and not self.env["goflow.cost.line"].search_count(
            [("settlement_id", "=", self.id), ("source", "=", SOURCE_ESTIMATE)]
        ):
            self._write_posting_fields({"posted_with_estimates": False})

    def _unpost(self):
        self.ensure_one()
        cancelled = self._cancel_entries()
        self.env["goflow.cost.line"]._unlink_from_entries(self)
        self._write_posting_fields(
            {
                "state": SETTLEMENT_DRAFT,
                "move_id": False,
                "posted_with_estimates": False,
            }
        )
        self.message_post(
            body=_("Reset to draft: %(count)s entry(ies) cancelled.", count=cancelled)
        )
