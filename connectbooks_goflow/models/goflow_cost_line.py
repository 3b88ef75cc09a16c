from odoo import api, fields, models
from odoo.tools import SQL

COST_KINDS = [("order", "Order"), ("refund", "Refund"), ("adjustment", "Adjustment")]
COST_SOURCES = [
    ("goflow", "Goflow"),
    ("manual", "Manual"),
    ("average", "Current Average"),
    ("estimate", "Estimate"),
]
MISSING_REASONS = [
    ("no_goflow_cost", "No cost in Goflow"),
    ("not_in_goflow", "Order not found in Goflow"),
    ("before_start", "Before the cost sync start date"),
    ("no_sku", "No SKU"),
    ("no_order", "No order ID"),
]


class GoflowCostLine(models.Model):
    """The cost of one order, refund or adjustment of one SKU in a settlement."""

    _name = "goflow.cost.line"
    _description = "Goflow Cost Line"
    _order = "settlement_id, posted_date, order_ref, sku, id"
    _rec_name = "order_ref"

    settlement_id = fields.Many2one(
        "connectbooks.settlement", required=True, ondelete="cascade", index=True
    )
    store_id = fields.Many2one(related="settlement_id.store_id", store=True, index=True)
    company_id = fields.Many2one(
        "res.company", related="settlement_id.company_id", store=True, index=True
    )
    currency_id = fields.Many2one(related="settlement_id.currency_id")
    settlement_state = fields.Selection(
        related="settlement_id.state", string="Settlement Status"
    )
    kind = fields.Selection(COST_KINDS, required=True, index=True)
    order_ref = fields.Char(string="Order ID", index="btree_not_null")
    adjustment_ref = fields.Char(string="Adjustment ID")
    sku = fields.Char(string="SKU", index=True)
    product_id = fields.Many2one("product.product", index="btree_not_null")
    posted_date = fields.Date()
    quantity = fields.Float(digits="Product Unit of Measure", required=True)
    sign = fields.Integer(
        default=1,
        required=True,
        help="+1: goods left stock (COGS debit); -1: goods came back (refunds, "
        "reversed reimbursements).",
    )
    unit_cost = fields.Float(digits="Goflow Unit Cost")
    total_cost = fields.Monetary(
        compute="_compute_total_cost",
        store=True,
        help="Quantity times unit cost, rounded in the settlement currency; "
        "negative for refunds (goods back to stock).",
    )
    state = fields.Selection(
        [("missing", "Missing"), ("costed", "Costed")],
        string="Status",
        required=True,
        default="missing",
        index=True,
    )
    source = fields.Selection(COST_SOURCES)
    missing_reason = fields.Selection(MISSING_REASONS)
    goflow_order_ref = fields.Char(
        string="Goflow Order ID", help="Goflow order id(s); split orders list several."
    )
    synced_at = fields.Datetime(string="Synced At")
    resolved_by_id = fields.Many2one("res.users", string="Resolved By")
    resolved_at = fields.Datetime()
    cogs_move_line_id = fields.Many2one(
        "account.move.line", string="COGS Journal Item", index="btree_not_null"
    )
    posted_total = fields.Monetary(
        help="Cost booked for this line by the COGS entry and its true-ups."
    )

    _sql_constraints = [
        (
            "quantity_positive",
            "CHECK(quantity > 0)",
            "A cost line needs a positive quantity.",
        ),
        ("sign_valid", "CHECK(sign IN (1, -1))", "The sign is +1 or -1."),
        (
            "unit_cost_positive",
            "CHECK(unit_cost IS NULL OR unit_cost >= 0)",
            "A unit cost cannot be negative.",
        ),
    ]

    def init(self):
        # One cost line per (settlement, kind, order, adjustment, SKU); the
        # optional parts are NULL-able, hence an expression index.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS goflow_cost_line_key_uniq
                    ON goflow_cost_line (
                        settlement_id, kind, COALESCE(order_ref, ''),
                        COALESCE(adjustment_ref, ''), COALESCE(sku, '')
                    )
                """
            )
        )

    @api.depends("quantity", "unit_cost", "sign", "currency_id")
    def _compute_total_cost(self):
        for line in self:
            total = line.currency_id.round(line.quantity * (line.unit_cost or 0.0))
            line.total_cost = line.sign * total
