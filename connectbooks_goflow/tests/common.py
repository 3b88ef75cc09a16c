from odoo import Command
from odoo.tests import TransactionCase, new_test_user


class ConnectbooksCase(TransactionCase):
    """The world most tests need: two companies, each with a store, and users
    of every role. Built once per class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Company B (test)"})
        cls.currency = cls.company_a.currency_id
        cls.bookkeeper = new_test_user(
            cls.env,
            login="cbg_bookkeeper",
            groups="account.group_account_user",
            company_id=cls.company_a.id,
            company_ids=[Command.set(cls.company_a.ids)],
        )
        cls.manager = new_test_user(
            cls.env,
            login="cbg_manager",
            groups="account.group_account_manager,account.group_account_user",
            company_id=cls.company_a.id,
            company_ids=[Command.set(cls.company_a.ids)],
        )
        cls.bookkeeper_b = new_test_user(
            cls.env,
            login="cbg_bookkeeper_b",
            groups="account.group_account_user",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
        )
        cls.admin_user = new_test_user(
            cls.env,
            login="cbg_admin",
            groups="base.group_system,account.group_account_manager",
            company_id=cls.company_a.id,
            company_ids=[Command.set((cls.company_a | cls.company_b).ids)],
        )
        cls.plain_user = new_test_user(
            cls.env,
            login="cbg_plain",
            groups="base.group_user",
            company_id=cls.company_a.id,
        )
        cls.journal_a = cls._make_journal(cls.company_a)
        cls.journal_b = cls._make_journal(cls.company_b)
        cls.connection_a = cls.env["goflow.connection"].create(
            {
                "name": "Goflow A",
                "company_id": cls.company_a.id,
                "subdomain": "acme",
                "api_token": "secret-token-a",
                "beta_contact": "books@example.com",
            }
        )
        cls.store_a = cls._make_store(cls.company_a, cls.journal_a, "Amazon US A")
        cls.store_b = cls._make_store(cls.company_b, cls.journal_b, "Amazon US B")

    @classmethod
    def _make_journal(cls, company):
        return cls.env["account.journal"].create(
            {
                "name": f"Marketplace {company.name}",
                "code": "MKT",
                "type": "general",
                "company_id": company.id,
            }
        )

    @classmethod
    def _make_account(cls, company, code, name, account_type):
        return cls.env["account.account"].create(
            {
                "code": code,
                "name": name,
                "account_type": account_type,
                "company_ids": [Command.set(company.ids)],
                "reconcile": account_type == "asset_current",
            }
        )

    @classmethod
    def _make_store(cls, company, journal, name):
        acc = cls._make_account
        return cls.env["connectbooks.store"].create(
            {
                "name": name,
                "company_id": company.id,
                "currency_id": company.currency_id.id,
                "journal_id": journal.id,
                "clearing_account_id": acc(
                    company, "CBG100", "Marketplace clearing", "asset_current"
                ).id,
                "cogs_account_id": acc(
                    company, "CBG500", "COGS", "expense_direct_cost"
                ).id,
                "inventory_account_id": acc(
                    company, "CBG130", "Inventory", "asset_current"
                ).id,
                "account_sales_id": acc(company, "CBG400", "Sales", "income").id,
            }
        )

    @classmethod
    def _make_settlement(cls, store, ref="1000001", **values):
        return cls.env["connectbooks.settlement"].create(
            {
                "store_id": store.id,
                "settlement_ref": ref,
                "currency_id": store.currency_id.id,
                **values,
            }
        )
