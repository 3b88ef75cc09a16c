from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, TransactionCase, new_test_user
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

# What an attacker puts in the context of a JSON-RPC call to lift the rules.
FORGED_CONTEXT = {"active_test": False, "su": True, "sudo": True}


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

    # Store account fields and the (code, type) of the test account behind each.
    STORE_ACCOUNTS = {
        "clearing_account_id": ("CBG100", "asset_current"),
        "cogs_account_id": ("CBG500", "expense_direct_cost"),
        "inventory_account_id": ("CBG130", "asset_current"),
        "account_sales_id": ("CBG400", "income"),
        "account_shipping_id": ("CBG401", "income"),
        "account_refund_id": ("CBG402", "income"),
        "account_promotion_id": ("CBG403", "income"),
        "account_tax_id": ("CBG210", "liability_current"),
        "account_selling_fee_id": ("CBG600", "expense"),
        "account_fulfillment_fee_id": ("CBG601", "expense"),
        "account_advertising_id": ("CBG602", "expense"),
        "account_storage_fee_id": ("CBG603", "expense"),
        "account_subscription_id": ("CBG604", "expense"),
        "account_reimbursement_id": ("CBG404", "income_other"),
        "account_reserve_id": ("CBG140", "asset_current"),
        "account_other_id": ("CBG690", "expense"),
    }

    @classmethod
    def _company_accounts(cls, company):
        """One account per store role in ``company``, created once."""
        cache = cls.__dict__.get("_accounts_cache")
        if cache is None:
            cache = {}
            cls._accounts_cache = cache
        if company.id not in cache:
            cache[company.id] = {
                field: cls.env["account.account"].create(
                    {
                        "code": code,
                        "name": field.replace("_id", "").replace("_", " ").title(),
                        "account_type": account_type,
                        "company_ids": [Command.set(company.ids)],
                        "reconcile": field == "clearing_account_id",
                    }
                )
                for field, (code, account_type) in cls.STORE_ACCOUNTS.items()
            }
        return cache[company.id]

    @classmethod
    def _make_store(cls, company, journal, name):
        accounts = cls._company_accounts(company)
        return cls.env["connectbooks.store"].create(
            {
                "name": name,
                "company_id": company.id,
                "currency_id": company.currency_id.id,
                "journal_id": journal.id,
                **{field: account.id for field, account in accounts.items()},
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

    def _assert_secrets_out_of_reach(self, connection, secrets):
        """``connection``, as the user it is bound to, reads none of
        ``secrets``, does not list them among its fields, and cannot be
        changed.

        :param connection: a connection record ``with_user`` the user
        :param secrets: the names of its secret fields
        """
        for name in secrets:
            with self.assertRaises(AccessError, msg=name):
                connection.read([name])
        self.assertFalse(
            set(secrets) & set(connection.fields_get()), msg="no secret in fields_get"
        )
        with self.assertRaises(AccessError, msg="not theirs to write"):
            connection.write({"name": "renamed"})


class ConnectbooksRpcCase(HttpCase):
    """What a user can do by calling JSON-RPC directly, the way an attacker
    would: every argument, the context included, is theirs. Put it before
    the world's case: ``class TestX(ConnectbooksRpcCase, ConnectbooksCase)``."""

    @mute_logger("odoo.http")  # the refusals are logged as warnings
    def _call_kw(self, model, method, args, kwargs=None, context=None):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {
                "model": model,
                "method": method,
                "args": args,
                "kwargs": {**(kwargs or {}), "context": context or {}},
            },
        )

    def _assert_secrets_out_of_reach_over_rpc(self, record, secrets):
        """The authenticated user reads none of ``secrets`` of ``record``,
        one by one or through ``web_search_read``, even with a forged
        context.

        :param record: the record, as the test sees it
        :param secrets: the names of its secret fields
        """
        for name in secrets:
            with self.assertRaises(JsonRpcException, msg=name) as caught:
                self._call_kw(
                    record._name, "read", [record.ids, [name]], context=FORGED_CONTEXT
                )
            self.assertIn("AccessError", str(caught.exception), msg=name)
            with self.assertRaises(JsonRpcException, msg=name):
                self._call_kw(
                    record._name,
                    "web_search_read",
                    [],
                    {"domain": [], "specification": {name: {}}},
                    context=FORGED_CONTEXT,
                )
