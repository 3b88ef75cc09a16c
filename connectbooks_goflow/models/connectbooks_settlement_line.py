from odoo import fields, models

LINE_KINDS = [
    ("order", "Order"),
    ("refund", "Refund"),
    ("adjustment", "Adjustment"),
    ("fee", "Fee"),
    ("reserve", "Reserve"),
    ("other", "Other"),
]


class ConnectbooksSettlementLine(models.Model):
    """One amount row of a settlement file, kept as imported (read-only)."""

    _name = "connectbooks.settlement.line"
    _description = "Settlement Line"
    _order = "settlement_id, line_no"

    settlement_id = fields.Many2one(
        "connectbooks.settlement", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        "res.company", related="settlement_id.company_id", store=True, index=True
    )
    currency_id = fields.Many2one(related="settlement_id.currency_id")
    line_no = fields.Integer(string="File Line", readonly=True)
    transaction_type = fields.Char(readonly=True)
    kind = fields.Selection(LINE_KINDS, required=True, readonly=True)
    order_ref = fields.Char(string="Order ID", readonly=True, index="btree_not_null")
    merchant_order_ref = fields.Char(string="Merchant Order ID", readonly=True)
    adjustment_ref = fields.Char(string="Adjustment ID", readonly=True)
    shipment_ref = fields.Char(string="Shipment ID", readonly=True)
    order_item_code = fields.Char(readonly=True)
    sku = fields.Char(string="SKU", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    quantity = fields.Integer(
        readonly=True,
        help="As in the file, counted once per order item; refund rows may "
        "carry negative quantities.",
    )
    amount_type = fields.Char(readonly=True)
    amount_description = fields.Char(readonly=True)
    amount = fields.Monetary(readonly=True)
    posted_date = fields.Date(readonly=True)
    fulfillment = fields.Char(
        readonly=True, help="AFN: fulfilled by Amazon; MFN: by the merchant."
    )
    marketplace_name = fields.Char(readonly=True)
    promotion_ref = fields.Char(string="Promotion ID", readonly=True)
