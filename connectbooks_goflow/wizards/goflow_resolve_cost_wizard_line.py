from odoo import fields, models


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
        "goflow.resolve.cost.wizard", required=True, ondelete="cascade", index=True
    )
    cost_line_id = fields.Many2one(
        "goflow.cost.line", required=True, ondelete="cascade", readonly=True
    )
    # Read from the cost line and the SKU row, not copied: a wizard of 5,000
    # lines is created in one go and only its first page is ever read.
    settlement_id = fields.Many2one(related="cost_line_id.settlement_id")
    kind = fields.Selection(related="cost_line_id.kind")
    order_ref = fields.Char(related="cost_line_id.order_ref")
    adjustment_ref = fields.Char(related="cost_line_id.adjustment_ref")
    sku = fields.Char(related="cost_line_id.sku")
    product_id = fields.Many2one(related="cost_line_id.product_id")
    quantity = fields.Float(related="cost_line_id.quantity")
    missing_reason = fields.Selection(
        related="cost_line_id.missing_reason", string="Why Missing"
    )
    prefill_cost = fields.Float(related="sku_id.prefill_cost")
    basis = fields.Selection(related="sku_id.basis")
    basis_text = fields.Char(related="sku_id.basis_text")
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
