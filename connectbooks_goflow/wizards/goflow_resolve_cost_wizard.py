from collections import Counter

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..core.costing import (
    BASIS_NONE,
    RESOLVE_NEGATIVE,
    RESOLVE_SET,
    RESOLVE_ZERO,
    resolve_decision,
)
from ..core.vocabulary import (
    MISSING_REASONS,
    SETTLEMENT_DRAFT,
    STATE_MISSING,
)

# Lines named in a refusal.
SAMPLE_SIZE = 10


class GoflowResolveCostWizard(models.TransientModel):
    """Give missing cost lines a cost: one settlement's (the Resolve button)
    or any selection across settlements and stores (Missing Costs list).

    The lines are pre-filled in :meth:`default_get` with the current average
    (docs/architecture.md, "Costing rules"); the wizard is created on the
    server and opened on its record (see :meth:`_action_open`) so that
    thousands of lines load a page at a time.
    """

    _name = "goflow.resolve.cost.wizard"
    _description = "Resolve Missing Costs"

    sku_ids = fields.One2many(
        "goflow.resolve.cost.wizard.sku", "wizard_id", string="SKUs"
    )
    line_ids = fields.One2many(
        "goflow.resolve.cost.wizard.line", "wizard_id", string="Lines"
    )
    settlement_ids = fields.Many2many(
        "connectbooks.settlement",
        "goflow_resolve_cost_wizard_settlement_rel",
        "wizard_id",
        "settlement_id",
        string="Settlements",
        readonly=True,
    )
    line_count = fields.Integer(string="Missing Lines", readonly=True)
    sku_count = fields.Integer(string="Number of SKUs", readonly=True)
    window_days = fields.Integer(string="Average Window (days)", readonly=True)
    prefill_note = fields.Text(readonly=True)
    can_sync = fields.Boolean(readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "sku_ids" in fields_list and not values.get("sku_ids"):
            cost_lines = self._cost_lines_from_context()
            overrides = self.env.context.get("goflow_resolve_overrides") or {}
            values.update(self._prefill_values(cost_lines, **overrides))
        return values

    def action_resolve(self):
        """Save the costs: batched, missing lines only, one chatter message
        per settlement."""
        self.ensure_one()
        plan = self._resolve_plan()
        written = self.env["goflow.cost.line"]._goflow_save_costs(plan)
        left = sum(self.settlement_ids.mapped("missing_count"))
        message = self.env._(
            "%(count)s cost(s) saved; %(left)s still missing.",
            count=len(written),
            left=left,
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Missing Costs"),
                "message": message,
                "type": "success" if written else "warning",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_sync_goflow(self):
        """Ask Goflow again for the settlements of these lines, then reopen
        the wizard on the lines still missing, with fresh pre-fills and what
        was typed so far."""
        self.ensure_one()
        cost_lines = self.line_ids.cost_line_id
        settlements = cost_lines.settlement_id.filtered(
            lambda s: s.state == SETTLEMENT_DRAFT and s.store_id.goflow_connection_id
        )
        if not settlements:
            raise UserError(
                self.env._(
                    "None of these settlements' stores has a Goflow connection; "
                    "set one on the store first."
                )
            )
        settlements.check_access("write")
        overrides = self._typed_values()
        settlements._sync_goflow(raise_errors=True)
        remaining = cost_lines.filtered(
            lambda c: (
                c.state == STATE_MISSING and c.settlement_id.state == SETTLEMENT_DRAFT
            )
        )
        if not remaining:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "title": self.env._("Missing Costs"),
                    "message": self.env._("Goflow now has a cost for every line."),
                    "type": "success",
                    "next": {"type": "ir.actions.act_window_close"},
                },
            }
        return self._action_open(remaining, overrides=overrides)

    @api.model
    def _action_open(self, records, overrides=None):
        """Create the wizard for ``records`` (settlements or cost lines) and
        open it.

        :param overrides: values typed in a previous wizard, see
            :meth:`_typed_values`
        """
        context = {
            "active_model": records._name,
            "active_ids": records.ids,
            "goflow_resolve_overrides": overrides or {},
        }
        wizard = self.with_context(**context).create({})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Resolve Missing Costs"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"dialog_size": "extra-large"},
        }

    # -- pre-fill --

    @api.model
    def _cost_lines_from_context(self):
        """The missing cost lines of draft settlements the wizard is opened on.

        :raise UserError: when there is nothing to resolve (fail early)
        """
        context = self.env.context
        model = context.get("active_model")
        ids = context.get("active_ids") or (
            [context["active_id"]] if context.get("active_id") else []
        )
        CostLine = self.env["goflow.cost.line"]
        # another company's records are an AccessError, not "nothing"
        if model == "connectbooks.settlement":
            self.env[model].browse(ids).check_access("read")
            domain = [("settlement_id", "in", ids)]
        elif model == "goflow.cost.line":
            # the record rules in one query, not line by line in Python
            forbidden = CostLine._goflow_forbidden(ids, "read")
            if forbidden:
                raise self.env["ir.rule"]._make_access_error("read", forbidden)
            domain = [("id", "in", ids)]
        else:
            raise UserError(
                self.env._(
                    "Open this wizard from a settlement or from the Missing Costs list."
                )
            )
        # what the pre-fill and the SKU rows read, fetched with the search
        lines = CostLine.search_fetch(
            [
                *domain,
                ("state", "=", STATE_MISSING),
                ("settlement_id.state", "=", SETTLEMENT_DRAFT),
            ],
            ["settlement_id", "sku", "product_id", "quantity", "missing_reason"],
            order="sku, settlement_id, posted_date, order_ref, id",
        )
        if not lines:
            raise UserError(
                self.env._(
                    "Nothing to resolve: the selected cost lines all have a cost, "
                    "or their settlements are no longer drafts."
                )
            )
        CostLine._goflow_check_write(lines.ids)
        return lines

    @api.model
    def _prefill_values(self, cost_lines, lines=None, skus=None):
        """Wizard values for ``cost_lines``: one SKU row per pre-fill key with
        its lines under it, each pre-filled.

        :param lines: ``{cost line id: (unit cost, zero ok)}`` typed before
        :param skus: ``{"company,currency,sku": (unit cost, zero ok)}`` typed
            before
        """
        lines = {int(k): v for k, v in (lines or {}).items()}
        skus = skus or {}
        keys = cost_lines._goflow_prefill_keys()
        prefills, problems, window = cost_lines._goflow_prefill_by_key(keys)
        key_of = dict(zip(cost_lines.ids, keys, strict=True))
        reasons = dict(MISSING_REASONS)
        sku_commands = []
        for key, group in cost_lines.grouped(lambda c: key_of[c.id]).items():
            value, basis, _text, count = prefills[key]
            prefill = float(value) if value is not None else 0.0
            basis_text = cost_lines._goflow_basis_text(basis, count, window)
            typed = skus.get(self._key_text(key))
            line_commands = []
            for line in group:
                # the flags only where set: an unset one reads False, and
                # thousands of lines are created without converting them
                own = lines.get(line.id)
                line_vals = {"cost_line_id": line.id, "unit_cost": prefill}
                if own:
                    line_vals.update(
                        unit_cost=own[0], zero_ok=bool(own[1]), edited=True
                    )
                line_commands.append(Command.create(line_vals))
            why = Counter(group.mapped("missing_reason"))
            sku_commands.append(
                Command.create(
                    {
                        "company_id": key[0],
                        "currency_id": key[1],
                        "sku": key[2],
                        "product_id": group.product_id[:1].id,
                        "line_count": len(group),
                        "quantity": sum(group.mapped("quantity")),
                        "reasons": ", ".join(
                            f"{reasons.get(reason, '-')} ({n})"
                            if len(why) > 1
                            else reasons.get(reason, "-")
                            for reason, n in why.most_common()
                        ),
                        "prefill_cost": prefill,
                        "basis": basis,
                        "basis_text": basis_text,
                        "unit_cost": typed[0] if typed else prefill,
                        "zero_ok": bool(typed and typed[1]),
                        "edited": bool(typed),
                        "line_ids": line_commands,
                    }
                )
            )
        settlements = cost_lines.settlement_id
        stores = settlements.store_id
        return {
            "sku_ids": sku_commands,
            "settlement_ids": [Command.set(settlements.ids)],
            "line_count": len(cost_lines),
            "sku_count": len(sku_commands),
            "window_days": window,
            "prefill_note": self._prefill_note(stores, problems, window),
            "can_sync": bool(stores.goflow_connection_id),
        }

    @api.model
    def _prefill_note(self, stores, problems, days):
        notes = []
        unconnected = stores.filtered(lambda s: not s.goflow_connection_id)
        if unconnected:
            notes.append(
                self.env._(
                    "No Goflow connection on %(stores)s: the pre-fills of its "
                    "SKUs come from the costs known in Odoo (last %(days)s days).",
                    stores=", ".join(unconnected.mapped("name")),
                    days=days,
                )
            )
        for connection, error in problems:
            notes.append(
                self.env._(
                    "Goflow (%(connection)s) could not be asked for current "
                    "costs: %(error)s The pre-fills fall back to the costs known "
                    "in Odoo (last %(days)s days).",
                    connection=connection.name,
                    error=error,
                    days=days,
                )
            )
        return "\n".join(notes) or False

    @api.model
    def _key_text(self, key):
        company_id, currency_id, sku = key
        return f"{company_id},{currency_id},{sku}"

    def _typed_values(self):
        """What was typed in this wizard, to carry into a reopened one."""
        self.ensure_one()
        lines = {
            str(line.cost_line_id.id): (line.unit_cost, line.zero_ok)
            for line in self.line_ids
            if line.edited
        }
        skus = {
            self._key_text((sku.company_id.id, sku.currency_id.id, sku.sku or "")): (
                sku.unit_cost,
                sku.zero_ok,
            )
            for sku in self.sku_ids
            if sku.edited
        }
        return {"lines": lines, "skus": skus}

    # -- save --

    def _resolve_plan(self):
        """Decide every line; refuse negative costs and unconfirmed zeros,
        naming the lines.

        :return: ``{cost line id: (Decimal unit cost, source)}``
        """
        plan = {}
        negative = []
        zero = []
        for line in self.line_ids:
            group = line.sku_id
            prefill = line.prefill_cost if line.basis != BASIS_NONE else None
            zero_ok = line.zero_ok
            if line.edited:
                value = line.unit_cost
            elif group.edited:
                value = group.unit_cost
                zero_ok = zero_ok or group.zero_ok
            else:
                value = prefill
                zero_ok = zero_ok or group.zero_ok
            if value is None and zero_ok:
                value = 0.0
            decision = resolve_decision(value, prefill, zero_ok)
            if decision.action == RESOLVE_NEGATIVE:
                negative.append(line)
            elif decision.action == RESOLVE_ZERO:
                zero.append(line)
            elif decision.action == RESOLVE_SET:
                plan[line.cost_line_id.id] = (decision.unit_cost, decision.source)
        if negative:
            raise UserError(
                self.env._(
                    "A unit cost cannot be negative: %(lines)s.",
                    lines=self._name_lines(negative),
                )
            )
        if zero:
            raise UserError(
                self.env._(
                    "A unit cost of 0 needs 'Zero is correct' ticked on its line "
                    "(or on its SKU): %(lines)s. To leave a line missing, remove "
                    "it from the wizard.",
                    lines=self._name_lines(zero),
                )
            )
        return plan

    @api.model
    def _name_lines(self, lines):
        names = [
            f"{line.order_ref or line.adjustment_ref or '-'} / {line.sku or '-'}"
            for line in lines[:SAMPLE_SIZE]
        ]
        if len(lines) > SAMPLE_SIZE:
            names.append(
                self.env._("and %(count)s more", count=len(lines) - SAMPLE_SIZE)
            )
        return ", ".join(names)
