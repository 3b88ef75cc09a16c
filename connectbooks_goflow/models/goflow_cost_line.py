import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..core.costing import ODOO_AVERAGE_DAYS, prefill_costs
from ..core.goflow_client import GoflowError

_logger = logging.getLogger(__name__)

# ir.config_parameter: days of known costs the Odoo average looks back.
AVERAGE_WINDOW_PARAM = "connectbooks_goflow.average_window_days"
# Sources whose costs feed the Odoo average (estimates never do).
AVERAGE_SOURCES = ("goflow", "manual", "average")

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
        # indexed by the unique key index below, which starts with it
        "connectbooks.settlement",
        required=True,
        ondelete="cascade",
    )
    # Not stored: each stored many2one costs every imported cost line a
    # foreign key check (a sixth of a large import). Both still search, group
    # and sort through the settlement; the record rule goes through it too.
    store_id = fields.Many2one(related="settlement_id.store_id")
    company_id = fields.Many2one(related="settlement_id.company_id")
    currency_id = fields.Many2one(related="settlement_id.currency_id")
    settlement_state = fields.Selection(
        related="settlement_id.state", string="Settlement Status"
    )
    kind = fields.Selection(COST_KINDS, required=True)
    order_ref = fields.Char(string="Order ID")
    adjustment_ref = fields.Char(string="Adjustment ID")
    # Indexed for the pre-fill averages only where they read, costed lines
    # (see init): an import then writes no entry for its missing lines.
    sku = fields.Char(string="SKU")
    product_id = fields.Many2one("product.product")
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
    trueup_move_line_ids = fields.Many2many(
        "account.move.line",
        "goflow_cost_line_trueup_rel",
        "cost_line_id",
        "move_line_id",
        string="True-up Journal Items",
        readonly=True,
        copy=False,
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
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS goflow_cost_line_costed_sku_index
                    ON goflow_cost_line (sku) WHERE state = 'costed'
                """
            )
        )

    @api.depends("quantity", "unit_cost", "sign", "currency_id")
    def _compute_total_cost(self):
        for line in self:
            total = line.currency_id.round(line.quantity * (line.unit_cost or 0.0))
            line.total_cost = line.sign * total

    def write(self, vals):
        posted = self.settlement_id.filtered(lambda s: s.state == "posted")
        if posted and "unit_cost" in vals:
            if not self.env.user.has_group("account.group_account_manager"):
                raise AccessError(
                    self.env._(
                        "Only an accounting manager can change the cost of a "
                        "posted settlement (%(name)s).",
                        name=posted[0].display_name,
                    )
                )
        result = super().write(vals)
        if posted and "unit_cost" in vals:
            # A correction after posting: book the difference (DESIGN §4.5).
            posted._goflow_post_trueups()
        return result

    def _goflow_prefill(self):
        """The current-average pre-fill of each line (DESIGN §4.3).

        Goflow's current average of the SKU, else the quantity-weighted
        average of the costs known in Odoo for it (same company and currency,
        last N days, no estimates), else Goflow's default cost, else nothing.
        One Goflow call per connection and one SQL query for all SKUs.

        :return: {line id: (unit cost Decimal or None, basis code, basis text)}
        """
        prefills = self._goflow_prefill_by_key()[0]
        return {line.id: prefills[line._goflow_prefill_key()][:3] for line in self}

    def _goflow_prefill_key(self):
        """Lines sharing this key share a pre-fill: the average never mixes
        companies or currencies."""
        self.ensure_one()
        return (self.company_id.id, self.currency_id.id, self.sku or "")

    def _goflow_prefill_by_key(self):
        """The pre-fill per :meth:`_goflow_prefill_key` of these lines.

        :return: ``(prefills, problems, window)``: ``{key: (unit cost or None,
            basis code, basis text, number of Odoo costs averaged)}`` as
            :func:`~..core.costing.prefill_costs` gives it; the Goflow
            connections that could not be asked, as ``[(connection, error
            text)]`` (their SKUs fall back to the Odoo average); the window of
            the Odoo average in days
        """
        window = self._average_window_days()
        keys = {line._goflow_prefill_key() for line in self}
        goflow, problems = self._goflow_product_costs()
        rows = self._odoo_cost_rows(window)
        return prefill_costs(keys, goflow, rows, days=window), problems, window

    @api.model
    def _average_window_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(AVERAGE_WINDOW_PARAM)
        try:
            days = int(value) if value else ODOO_AVERAGE_DAYS
        except ValueError:
            days = ODOO_AVERAGE_DAYS
        return max(days, 1)

    def _odoo_cost_rows(self, window):
        """Costs known in Odoo for the SKUs of these lines, in one query:
        ``[(key, quantity, unit cost, count)]``, one row per key with the
        exact quantity-weighted unit cost (numeric sums); the pre-fill rule
        itself is :func:`~..core.costing.prefill_costs`."""
        skus = list({sku for sku in self.mapped("sku") if sku})
        if not skus:
            return []
        since = fields.Date.context_today(self) - timedelta(days=window)
        self.flush_model()
        self.env["connectbooks.settlement"].flush_model(["company_id", "currency_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT s.company_id, s.currency_id, c.sku, SUM(c.quantity),
                       SUM(c.quantity * c.unit_cost), COUNT(*)
                  FROM goflow_cost_line c
                  JOIN connectbooks_settlement s ON s.id = c.settlement_id
                 WHERE c.sku = ANY(%s)
                   AND s.company_id = ANY(%s)
                   AND c.state = 'costed'
                   AND c.source IN %s
                   AND c.unit_cost > 0
                   AND c.posted_date >= %s
                 GROUP BY s.company_id, s.currency_id, c.sku
                """,
                skus,
                self.company_id.ids,
                AVERAGE_SOURCES,
                since,
            )
        )
        return [
            ((company_id, currency_id, sku), quantity, value / quantity, count)
            for company_id, currency_id, sku, quantity, value, count in (
                self.env.cr.fetchall()
            )
            if quantity
        ]

    def _goflow_product_costs(self):
        """Goflow's (average, default) cost per pre-fill key, one batched call
        per connection. A connection that fails (or has no token) costs only
        the Goflow part of the pre-fill, never the caller.

        :return: ``({key: (average, default)}, [(connection, error text)])``
        """
        result = {}
        problems = []
        by_connection = self.grouped(lambda line: line.store_id.goflow_connection_id)
        for connection in sorted(by_connection, key=lambda c: c.id):
            if not connection:
                continue
            lines = by_connection[connection]
            skus = sorted({sku for sku in lines.mapped("sku") if sku})
            if not skus:
                continue
            try:
                with connection._goflow_client() as client:
                    costs = client.fetch_product_costs(skus)
            except (GoflowError, UserError) as error:
                _logger.info(
                    "Goflow product costs unavailable for connection %s: %s",
                    connection.id,
                    error,
                )
                problems.append((connection, str(error)))
                continue
            for line in lines:
                cost = costs.get(line.sku)
                key = line._goflow_prefill_key()
                if cost is not None and key not in result:
                    result[key] = (cost.average_cost, cost.default_cost)
        return result, problems
