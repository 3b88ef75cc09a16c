from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..core.settlement_const import WALMART_ORDER_CUSTOMER, WALMART_ORDER_PURCHASE
from ..core.settlement_parser import SettlementReader

MARKETPLACES = [("amazon", "Amazon"), ("walmart", "Walmart"), ("other", "Other")]
WALMART_ORDER_NUMBERS = [
    (WALMART_ORDER_CUSTOMER, "Customer Order #"),
    (WALMART_ORDER_PURCHASE, "Purchase Order #"),
]


class ConnectbooksStore(models.Model):
    _name = "connectbooks.store"
    _description = "Marketplace Store"
    _inherit = ["mail.thread"]
    _check_company_auto = True
    _order = "company_id, name"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    marketplace = fields.Selection(
        MARKETPLACES, required=True, default="amazon", tracking=True
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        help="Currency of the settlements paid out by this store.",
    )
    journal_id = fields.Many2one(
        "account.journal",
        string="Journal",
        check_company=True,
        domain="[('type', '=', 'general')]",
        tracking=True,
        help="Journal of the settlement and COGS entries.",
    )
    clearing_account_id = fields.Many2one(
        "account.account",
        string="Marketplace Clearing Account",
        check_company=True,
        tracking=True,
        help="The deposit is booked here and reconciled with the bank payout.",
    )
    cogs_account_id = fields.Many2one(
        "account.account", string="COGS Account", check_company=True, tracking=True
    )
    inventory_account_id = fields.Many2one(
        "account.account",
        string="Inventory Asset Account",
        check_company=True,
        tracking=True,
    )
    # One account per mapping role (core/mapping.py ACCOUNT_ROLES).
    account_sales_id = fields.Many2one(
        "account.account", string="Product Sales", check_company=True
    )
    account_shipping_id = fields.Many2one(
        "account.account", string="Shipping Income", check_company=True
    )
    account_refund_id = fields.Many2one(
        "account.account", string="Refunds", check_company=True
    )
    account_promotion_id = fields.Many2one(
        "account.account", string="Promotions", check_company=True
    )
    account_tax_id = fields.Many2one(
        "account.account", string="Sales Tax", check_company=True
    )
    account_selling_fee_id = fields.Many2one(
        "account.account", string="Selling Fees", check_company=True
    )
    account_fulfillment_fee_id = fields.Many2one(
        "account.account", string="Fulfillment Fees", check_company=True
    )
    account_advertising_id = fields.Many2one(
        "account.account", string="Advertising", check_company=True
    )
    account_storage_fee_id = fields.Many2one(
        "account.account", string="Storage Fees", check_company=True
    )
    account_subscription_id = fields.Many2one(
        "account.account", string="Subscription Fees", check_company=True
    )
    account_reimbursement_id = fields.Many2one(
        "account.account", string="Reimbursements", check_company=True
    )
    account_reserve_id = fields.Many2one(
        "account.account", string="Reserve", check_company=True
    )
    account_other_id = fields.Many2one(
        "account.account", string="Other", check_company=True
    )
    goflow_connection_id = fields.Many2one(
        "goflow.connection",
        string="Goflow Connection",
        check_company=True,
        tracking=True,
    )
    goflow_store_ids = fields.Char(
        string="Goflow Store IDs",
        help="Comma-separated Goflow store ids whose orders belong to this "
        "marketplace account; empty matches orders of any Goflow store.",
    )
    cost_sync_start_date = fields.Date(
        tracking=True,
        help="Orders dated before this day are not asked from Goflow; their "
        "cost is entered by hand.",
    )
    # The assumption of issue #18, in one place: which of Walmart's two
    # numbers Goflow knows an order by. The reader makes it the order id (and
    # the other one the merchant order id).
    walmart_order_number = fields.Selection(
        WALMART_ORDER_NUMBERS,
        string="Goflow Knows Walmart Orders By",
        required=True,
        default=WALMART_ORDER_CUSTOMER,
        tracking=True,
        help="Which number of a Walmart reconciliation report is the order "
        "number in Goflow: the customer order # (what the buyer sees; Goflow's "
        "usual order number) or the purchase order # (one per shipping node). "
        "Change it before importing: settlements already imported keep theirs.",
    )
    settlement_ids = fields.One2many("connectbooks.settlement", "store_id")
    settlement_count = fields.Integer(compute="_compute_settlement_count")

    _sql_constraints = [
        (
            "name_company_uniq",
            "UNIQUE(name, company_id)",
            "A store with this name already exists in this company.",
        ),
    ]

    def _compute_settlement_count(self):
        counts = dict(
            self.env["connectbooks.settlement"]._read_group(
                [("store_id", "in", self.ids)], ["store_id"], ["__count"]
            )
        )
        for store in self:
            store.settlement_count = counts.get(store, 0)

    @api.model
    def _role_field(self, role):
        """Name of the store field holding the account of a mapping role."""
        return f"account_{role}_id"

    def _role_account(self, role):
        self.ensure_one()
        return self[self._role_field(role)]

    def _goflow_store_id_list(self):
        """Goflow store ids typed on the store, as integers.

        :raise UserError: when a value is not a whole number
        """
        self.ensure_one()
        ids = []
        for part in (self.goflow_store_ids or "").replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise UserError(
                    _(
                        "Store %(store)s: Goflow store id %(value)r is not a number.",
                        store=self.name,
                        value=part,
                    )
                )
            ids.append(int(part))
        return ids

    def _settlement_reader(self, fileobj, filename=None):
        """The reader of a settlement file of this store, with the store's
        reading options: the one place they are passed (upload and fetch).

        :return: a :class:`~..core.settlement_parser.SettlementReader`
        :raise SettlementFileError: the file has no usable header
        """
        self.ensure_one()
        return SettlementReader(
            fileobj, filename=filename, order_number=self.walmart_order_number
        )

    def action_view_settlements(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connectbooks_goflow.connectbooks_settlement_action"
        )
        action["domain"] = [("store_id", "=", self.id)]
        action["context"] = {"default_store_id": self.id}
        return action
