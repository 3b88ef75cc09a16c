from odoo import Command, api, fields, models

from ..core.costing import (
    BASIS_GOFLOW_AVERAGE,
    BASIS_GOFLOW_DEFAULT,
    BASIS_NONE,
    BASIS_ODOO_AVERAGE,
)

PREFILL_BASES = [
    (BASIS_GOFLOW_AVERAGE, "Goflow average"),
    (BASIS_ODOO_AVERAGE, "Odoo average"),
    (BASIS_GOFLOW_DEFAULT, "Goflow default cost"),
    (BASIS_NONE, "No cost known"),
]


class GoflowResolveCostWizardSku(models.TransientModel):
    """One SKU of the resolve wizard: a cost typed here fills every line of
    the SKU that was not changed one by one."""

    _name = "goflow.resolve.cost.wizard.sku"
    _description = "Resolve Missing Costs: SKU"
    _order = "id"
    _rec_name = "sku"

    wizard_id = fields.Many2one(
        "goflow.resolve.cost.wizard", required=True, ondelete="cascade", index=True
    )
    line_ids = fields.One2many("goflow.resolve.cost.wizard.line", "sku_id")
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    sku = fields.Char(string="SKU", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    line_count = fields.Integer(string="Lines", readonly=True)
    quantity = fields.Float(
        string="Units", digits="Product Unit of Measure", readonly=True
    )
    reasons = fields.Char(string="Why Missing", readonly=True)
    prefill_cost = fields.Float(
        string="Pre-filled Cost", digits="Goflow Unit Cost", readonly=True
    )
    basis = fields.Selection(PREFILL_BASES, readonly=True)
    basis_text = fields.Char(string="Pre-filled From", readonly=True)
    unit_cost = fields.Float(
        digits="Goflow Unit Cost",
        help="Given on save to every line of this SKU that you did not change "
        "on the Lines tab. A 0 you type needs 'Zero is correct'.",
    )
    zero_ok = fields.Boolean(
        string="Zero Is Correct",
        help="Tick to save a unit cost of 0 (e.g. free samples).",
    )
    edited = fields.Boolean(
        readonly=True, help="The unit cost was typed, not the pre-fill."
    )

    @api.model_create_multi
    def create(self, vals_list):
        # Lines are created under their SKU row; they belong to its wizard
        # too (set here, in the batch, rather than computed line by line).
        for vals in vals_list:
            for command in vals.get("line_ids") or ():
                if command[0] == Command.CREATE and vals.get("wizard_id"):
                    command[2].setdefault("wizard_id", vals["wizard_id"])
        return super().create(vals_list)

    def write(self, vals):
        if "unit_cost" in vals and "edited" not in vals:
            vals = dict(vals, edited=True)
        return super().write(vals)
