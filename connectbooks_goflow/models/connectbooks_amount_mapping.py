from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..core.mapping import ACCOUNT_ROLES, MappingIndex, MappingRule
from .connectbooks_store import MARKETPLACES


class ConnectbooksAmountMapping(models.Model):
    _name = "connectbooks.amount.mapping"
    _description = "Settlement Amount Mapping"
    _order = "marketplace, amount_type, transaction_type, amount_description, id"

    active = fields.Boolean(default=True)
    marketplace = fields.Selection(MARKETPLACES, required=True, default="amazon")
    store_id = fields.Many2one(
        "connectbooks.store",
        ondelete="cascade",
        help="Leave empty for a default of every store of the marketplace.",
    )
    company_id = fields.Many2one(
        "res.company", related="store_id.company_id", store=True, index=True
    )
    transaction_type = fields.Char(help="Empty matches any transaction type.")
    # Empty is a value, not "any": it matches the rows that have no amount
    # type (Walmart leaves it blank on some WFS fee rows).
    amount_type = fields.Char(
        help="Empty matches only the rows without an amount type.",
    )
    amount_description = fields.Char(help="Empty matches any description.")
    role = fields.Selection(
        list(ACCOUNT_ROLES),
        required=True,
        help="The store account this amount is booked to.",
    )
    account_id = fields.Many2one(
        "account.account",
        string="Account Override",
        help="Books to this account instead of the store's account for the role. "
        "Only on a rule bound to a store.",
    )

    @api.depends("transaction_type", "amount_type", "amount_description")
    def _compute_display_name(self):
        for mapping in self:
            mapping.display_name = " / ".join(
                (
                    mapping.transaction_type or _("any"),
                    mapping.amount_type or _("none"),
                    mapping.amount_description or _("any"),
                )
            )

    @api.constrains("account_id", "store_id")
    def _check_account_override(self):
        for mapping in self.filtered("account_id"):
            if not mapping.store_id:
                raise ValidationError(
                    _(
                        "Mapping %(mapping)s: an account override needs a store, "
                        "since accounts belong to companies.",
                        mapping=mapping.display_name,
                    )
                )
            if mapping.store_id.company_id not in mapping.account_id.company_ids:
                raise ValidationError(
                    _(
                        "Mapping %(mapping)s: account %(account)s does not belong "
                        "to company %(company)s.",
                        mapping=mapping.display_name,
                        account=mapping.account_id.display_name,
                        company=mapping.store_id.company_id.name,
                    )
                )

    @api.constrains(
        "marketplace",
        "store_id",
        "transaction_type",
        "amount_type",
        "amount_description",
        "active",
    )
    def _check_unique_rule(self):
        for mapping in self.filtered("active"):
            clash = self.search_count(
                [
                    ("id", "!=", mapping.id),
                    ("marketplace", "=", mapping.marketplace),
                    ("store_id", "=", mapping.store_id.id),
                    ("transaction_type", "=ilike", mapping.transaction_type or False),
                    ("amount_type", "=ilike", mapping.amount_type or False),
                    (
                        "amount_description",
                        "=ilike",
                        mapping.amount_description or False,
                    ),
                ]
            )
            if clash:
                raise ValidationError(
                    _(
                        "A mapping for %(mapping)s already exists.",
                        mapping=mapping.display_name,
                    )
                )

    @api.model
    def _mapping_index(self, store):
        """Index of the rules that apply to ``store``.

        :param store: a ``connectbooks.store`` record
        :return: (:class:`~..core.mapping.MappingIndex`, {rule id: mapping record})
        """
        mappings = self.search(
            [
                ("marketplace", "=", store.marketplace),
                ("store_id", "in", [False, store.id]),
            ]
        )
        rules = [
            MappingRule(
                rule_id=m.id,
                store_id=m.store_id.id or None,
                transaction_type=m.transaction_type or "",
                amount_type=m.amount_type or "",
                amount_description=m.amount_description or "",
            )
            for m in mappings
        ]
        return MappingIndex(rules, store_id=store.id), {m.id: m for m in mappings}

    def _account_for(self, store):
        """Account this mapping books to for ``store`` (may be empty)."""
        self.ensure_one()
        return self.account_id or store._role_account(self.role)
