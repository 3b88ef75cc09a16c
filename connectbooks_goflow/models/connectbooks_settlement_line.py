from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..core.vocabulary import LINE_KINDS

# The columns an import copies in, in the order of :meth:`_import_values`.
IMPORT_COLUMNS = (
    "settlement_id",
    "line_no",
    "transaction_type",
    "kind",
    "order_ref",
    "merchant_order_ref",
    "adjustment_ref",
    "shipment_ref",
    "order_item_code",
    "sku",
    "quantity",
    "amount_type",
    "amount_description",
    "amount",
    "posted_date",
    "fulfillment",
    "marketplace_name",
    "promotion_ref",
)


class ConnectbooksSettlementLine(models.Model):
    """One amount row of a settlement file, kept as imported (read-only).

    This model owns its table: the import's ``COPY`` and every other SQL
    statement on ``connectbooks_settlement_line`` are its methods below.
    """

    _name = "connectbooks.settlement.line"
    _description = "Settlement Line"
    _order = "settlement_id, line_no"
    # Rows are written once, by the import, and never changed: who imported
    # them and when is on the settlement. Without the log columns a row
    # costs PostgreSQL two foreign key checks and two timestamps less.
    _log_access = False

    # A real foreign key: deleting a settlement deletes its lines in the
    # database, and no line can point to a settlement that is not there.
    settlement_id = fields.Many2one(
        "connectbooks.settlement", required=True, ondelete="cascade", index=True
    )
    # Not stored: a stored company would cost every imported row a foreign
    # key check and an index entry; the record rule goes through the
    # settlement.
    company_id = fields.Many2one(related="settlement_id.company_id")
    currency_id = fields.Many2one(related="settlement_id.currency_id")
    line_no = fields.Integer(string="File Line", readonly=True)
    transaction_type = fields.Char(readonly=True)
    kind = fields.Selection(list(LINE_KINDS), required=True, readonly=True)
    # No index: the only searches on it are "contains" (ilike), which a
    # btree cannot serve, and each of a million imported rows would pay it.
    order_ref = fields.Char(string="Order ID", readonly=True)
    merchant_order_ref = fields.Char(string="Merchant Order ID", readonly=True)
    adjustment_ref = fields.Char(string="Adjustment ID", readonly=True)
    shipment_ref = fields.Char(string="Shipment ID", readonly=True)
    order_item_code = fields.Char(readonly=True)
    sku = fields.Char(string="SKU", readonly=True)
    # Matched on the SKU when read rather than stored: a product created or
    # given its internal reference after the import is found as well, and the
    # import does not pay a foreign key check on every row. The cost lines,
    # which the journal entries use, store their product.
    product_id = fields.Many2one(
        "product.product",
        compute="_compute_product_id",
        search="_search_product_id",
        help="The product whose internal reference is the SKU.",
    )
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

    @api.depends("sku", "settlement_id.company_id")
    def _compute_product_id(self):
        by_company = self.grouped(lambda line: line.settlement_id.company_id)
        for company, lines in by_company.items():
            products = self._products_by_sku(company, set(lines.mapped("sku")))
            for line in lines:
                line.product_id = products.get(line.sku, False)

    def _search_product_id(self, operator, value):
        negations = {"not in": "in", "!=": "=", "not ilike": "ilike"}
        if operator not in ("in", "=", "ilike", *negations):
            raise UserError(
                _("Settlement lines cannot be searched by product with %s.", operator)
            )
        negative = operator in negations
        operator = negations.get(operator, operator)
        Product = self.env["product.product"].with_context(active_test=False)
        if operator == "ilike" or isinstance(value, str):
            products = Product.search([("display_name", "ilike", value)])
        elif value:
            ids = [value] if isinstance(value, int) else list(value)
            products = Product.search([("id", "in", ids)])
        else:  # "product is not set": the SKU names no product
            products = Product.search([("default_code", "!=", False)])
            negative = not negative
        skus = [code for code in products.mapped("default_code") if code]
        return [("sku", "not in" if negative else "in", skus)]

    def write(self, vals):
        if not vals:
            return super().write(vals)
        raise UserError(
            _(
                "Settlement lines are kept as imported and cannot be changed; "
                "reset the settlement to draft, delete it and import the file "
                "again."
            )
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_only_with_settlement(self):
        raise UserError(
            _("Settlement lines are deleted with their settlement, not one by one.")
        )

    @api.model
    def _products_by_sku(self, company, skus=None):
        """Active products by internal reference for ``company`` (shared or
        its own); the oldest product wins when two share a reference.

        :param skus: restrict to these references (None: all)
        :return: dict SKU -> product id
        """
        if skus is not None:
            skus = [sku for sku in skus if sku]
            if not skus:
                return {}
        self.env["product.product"].flush_model(["default_code", "active"])
        self.env["product.template"].flush_model(["company_id"])
        self.env.cr.execute(
            """
            SELECT pp.default_code, MIN(pp.id)
              FROM product_product pp
              JOIN product_template pt ON pt.id = pp.product_tmpl_id
             WHERE pp.default_code IS NOT NULL
               AND pp.active
               AND (pt.company_id IS NULL OR pt.company_id = %s)
               AND (%s OR pp.default_code = ANY(%s))
             GROUP BY pp.default_code
            """,
            [company.id, skus is None, skus or []],
        )
        return dict(self.env.cr.fetchall())

    # -- SQL on the table --------------------------------------------------------

    @api.model
    def _import_copy_statement(self):
        """``COPY`` of new lines, rows as :meth:`_import_values` makes."""
        return (
            f"COPY connectbooks_settlement_line ({', '.join(IMPORT_COLUMNS)}) "
            "FROM STDIN WITH (FORMAT text, NULL '')"
        )

    @api.model
    def _import_values(self, settlement):
        """A function ``parsed row -> tuple of str`` giving the COPY row of a
        settlement line (see :data:`IMPORT_COLUMNS`). It reads nothing from
        the database: it runs beside the COPY thread."""
        settlement_id = str(settlement.id)

        def values(row):
            return (
                settlement_id,
                str(row.line_no),
                row.transaction_type,
                row.kind,
                row.order_id,
                row.merchant_order_id,
                row.adjustment_id,
                row.shipment_id,
                row.order_item_code,
                row.sku,
                str(row.quantity),
                row.amount_type,
                row.amount_description,
                str(row.amount),
                str(row.posted_date or ""),
                row.fulfillment_id,
                row.marketplace_name,
                row.promotion_id,
            )

        return values

    @api.model
    def _amount_sums(self, settlement):
        """The amounts of ``settlement`` summed per (transaction type, amount
        type, description), in that order: what the settlement entry books.

        :return: ``[(transaction type, amount type, description, Σ amount)]``
        """
        self.flush_model()
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
                settlement.id,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _distinct_combinations(self, settlement_ids):
        """``{settlement id: [(transaction type, amount type, description)]}``
        of the distinct combinations in these settlements."""
        self.flush_model(
            ["settlement_id", "transaction_type", "amount_type", "amount_description"]
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT settlement_id, transaction_type, amount_type,
                       amount_description
                  FROM connectbooks_settlement_line
                 WHERE settlement_id = ANY(%s)
                """,
                settlement_ids,
            )
        )
        combos = {}
        for settlement_id, ttype, atype, desc in self.env.cr.fetchall():
            combos.setdefault(settlement_id, []).append((ttype, atype, desc))
        return combos
