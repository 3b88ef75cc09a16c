from markupsafe import Markup

from odoo import api, models
from odoo.osv import expression
from odoo.tools import formatLang
from odoo.tools.misc import hmac

from ..core.costing import (
    BASIS_GOFLOW_AVERAGE,
    BASIS_GOFLOW_DEFAULT,
    BASIS_ODOO_AVERAGE,
)
from ..core.vocabulary import SOURCE_MANUAL

# SKUs listed in a chatter message.
SAMPLE_SIZE = 10
# Scope of the costs workbook's key in Odoo's HMAC helper.
WORKBOOK_SCOPE = "connectbooks_goflow.cost_workbook"


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class GoflowCostLine(models.Model):
    """Saving the costs a person chose for missing lines: the one way the
    resolve wizard and the costs workbook upload write them, and tell the
    settlements (docs/architecture.md, "Costing rules")."""

    _inherit = "goflow.cost.line"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _goflow_forbidden(self, ids, operation="write"):
        """The lines among ``ids`` the current user may not ``operation``:
        what ``browse(ids)._check_access(operation)`` finds, the record rules
        evaluated by the database in one query (``_check_access`` evaluates
        them in Python, record by record: seconds for a 50,000-line upload).

        :raise AccessError: no ``operation`` access to cost lines at all
        :return: the forbidden lines (a recordset, empty when none; a line
            that no longer exists is not in it)
        """
        self.browse().check_access(operation)
        ids = list(ids)
        if self.env.su or not ids:
            return self.browse()
        domain = self.env["ir.rule"]._compute_domain(self._name, operation)
        if not domain:
            return self.browse()
        allowed = (
            self.sudo()
            .with_context(active_test=False)
            ._search(expression.AND([[("id", "in", ids)], domain]))
        )
        allowed = set(allowed)
        # a line that no longer exists is not forbidden, only gone
        return self.browse(
            [line_id for line_id in ids if line_id not in allowed]
        ).exists()

    @api.model
    def _goflow_check_write(self, ids):
        """``browse(ids).check_access("write")``, the record rules checked in
        one query (:meth:`_goflow_forbidden`)."""
        forbidden = self._goflow_forbidden(ids, "write")
        if forbidden:
            raise self.env["ir.rule"]._make_access_error("write", forbidden)

    @api.model
    def _goflow_save_costs(self, plan, origin=None, targets=None):
        """Write ``plan`` on the lines still missing in draft settlements (one
        statement, :meth:`_write_resolved`) and post one chatter message per
        settlement written.

        :param plan: ``{cost line id: (Decimal unit cost, source)}``, as
            :func:`~..core.costing.resolve_decision` decided
        :param origin: a sentence opening each message (where the costs came
            from), or None
        :param targets: what :meth:`_resolve_targets` read of (at least) these
            lines in this transaction, when the caller has it; else read here
        :return: ids of the cost lines written; a line that got a cost
            meanwhile, or whose settlement was posted, is left out
        """
        if not plan:
            return []
        self._goflow_check_write(plan)
        if targets is None:
            targets = self._resolve_targets(plan)
        currencies = {
            currency.id: currency
            for currency in self.env["res.currency"].browse(
                {target[1] for target in targets.values()}
            )
        }
        rows = []
        totals = {}  # many lines share a quantity and a cost
        for line_id, (unit_cost, source) in plan.items():
            target = targets.get(line_id)
            if target is None:  # no longer exists
                continue
            key = (target[1], target[3], unit_cost, target[4])
            total = totals.get(key)
            if total is None:
                _settlement, currency_id, _sku, quantity, sign = target[:5]
                total = totals[key] = self._rounded_total(
                    currencies[currency_id], quantity, unit_cost, sign
                )
            rows.append((line_id, unit_cost, total, source))
        written = self._write_resolved(rows)
        self._goflow_post_resolve_messages(plan, written, targets, origin)
        return written

    @api.model
    def _goflow_post_resolve_messages(self, plan, written, targets, origin=None):
        """One chatter message per settlement: what was resolved, how."""
        per_settlement = {}
        for line_id in written:
            unit_cost, source = plan[line_id]
            settlement_id, _currency, sku = targets[line_id][:3]
            skus = per_settlement.setdefault(settlement_id, {})
            key = (sku or "-", unit_cost, source)
            skus[key] = skus.get(key, 0) + 1
        settlements = self.env["connectbooks.settlement"].browse(sorted(per_settlement))
        settlements.flush_recordset(["missing_count"])
        for settlement in settlements:
            skus = per_settlement[settlement.id]
            count = sum(skus.values())
            typed = sum(
                n for (_s, _c, source), n in skus.items() if source == SOURCE_MANUAL
            )
            body = Markup("")
            if origin:
                body += Markup("<p>%s</p>") % origin
            body += Markup("<p>%s</p>") % self.env._(
                "Missing costs resolved: %(count)s line(s), %(typed)s typed and "
                "%(accepted)s at the pre-filled current average. Still missing: "
                "%(left)s.",
                count=count,
                typed=typed,
                accepted=count - typed,
                left=settlement.missing_count,
            )
            items = [
                Markup("<li>%s</li>")
                % self.env._(
                    "%(sku)s: %(lines)s line(s) at %(cost)s (%(how)s)",
                    sku=sku,
                    lines=n,
                    cost=formatLang(self.env, float(cost), digits=4),
                    how=self.env._("typed")
                    if source == SOURCE_MANUAL
                    else self.env._("current average"),
                )
                for (sku, cost, source), n in sorted(skus.items())[:SAMPLE_SIZE]
            ]
            if len(skus) > SAMPLE_SIZE:
                items.append(
                    Markup("<li>%s</li>")
                    % self.env._("and %(count)s more", count=len(skus) - SAMPLE_SIZE)
                )
            body += Markup("<ul>%s</ul>") % Markup("").join(items)
            settlement.message_post(body=body)

    @api.model
    def _goflow_basis_text(self, basis, count, days):
        """The basis of a pre-fill, in words (the wizard and the workbook)."""
        if basis == BASIS_GOFLOW_AVERAGE:
            return self.env._("Goflow average")
        if basis == BASIS_ODOO_AVERAGE:
            if count == 1:
                return self.env._("average of 1 cost, last %(days)s days", days=days)
            return self.env._(
                "average of %(count)s costs, last %(days)s days",
                count=count,
                days=days,
            )
        if basis == BASIS_GOFLOW_DEFAULT:
            return self.env._("Goflow default cost")
        return self.env._("no cost known")

    @api.model
    def _goflow_workbook_secret(self):
        """The HMAC key of the costs workbook's row keys: derived from this
        database's ``database.secret`` (Odoo's ``tools.misc.hmac``), so a
        workbook signed here is refused by any other database."""
        return hmac(self.env(su=True), WORKBOOK_SCOPE, "row keys").encode()
