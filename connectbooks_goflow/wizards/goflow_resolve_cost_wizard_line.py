from odoo import fields, models

from ..models.goflow_cost_line import COST_KINDS, MISSING_REASONS
from .goflow_resolve_cost_wizard_sku import PREFILL_BASES


class GoflowResolveCostWizardLine(models.TransientModel):
    """One missing cost line in the resolve wizard."""

    _name = "goflow.resolve.cost.wizard.line"
    _description = "Resolve Missing Costs: Line"
    _order = "id"
    _rec_name = "order_ref"

    sku_id = fields.Many2one(
        "goflow.resolve.cost.wizard.sku",
        string="SKU Group",
        required=True,
        ondelete="cascade",
        index=True,
    )
    wizard_id = fields.Many2one(
        related="sku_id.wizard_id", store=True, index=True, readonly=True
    )
    cost_line_id = fields.Many2one(
        "goflow.cost.line", required=True, ondelete="cascade", readonly=True
    )
    # Copies of the cost line, so the list sorts on them.
    settlement_id = fields.Many2one("connectbooks.settlement", readonly=True)
    kind = fields.Selection(COST_KINDS, readonly=True)
    order_ref = fields.Char(string="Order ID", readonly=True)
    adjustment_ref = fields.Char(string="Adjustment ID", readonly=True)
    sku = fields.Char(string="SKU", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    quantity = fields.Float(digits="Product Unit of Measure", readonly=True)
    missing_reason = fields.Selection(
        MISSING_REASONS, string="Why Missing", readonly=True
    )
    prefill_cost = fields.Float(
        string="Pre-filled Cost", digits="Goflow Unit Cost", readonly=True
    )
    basis = fields.Selection(PREFILL_BASES, readonly=True)
    basis_text = fields.Char(string="Pre-filled From", readonly=True)
    unit_cost = fields.Float(
        digits="Goflow Unit Cost",
        help="The cost to save for this line; typed here, it wins over the "
        "SKU's. Untouched and without a pre-fill, the line stays missing; a 0 "
        "you type needs 'Zero is correct'.",
    )
    zero_ok = fields.Boolean(
        string="Zero Is Correct",
        help="Tick to save a unit cost of 0 (e.g. free samples).",
    )
    edited = fields.Boolean(
        readonly=True, help="The unit cost was typed, not the pre-fill."
    )

    def write(self, vals):
        if "unit_cost" in vals and "edited" not in vals:
            vals = dict(vals, edited=True)
        # A line whose SKU row was removed in the same save is already gone.
        return super(GoflowResolveCostWizardLine, self.exists()).write(vals)
