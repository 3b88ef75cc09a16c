"""A fresh Odoo 18 database with the add-on installed, for the benchmarks.

``with odoo_env() as env:`` starts (or reuses, see scripts/pgcluster.py) a
PostgreSQL server, installs ``connectbooks_goflow`` without demo data on a new
database through Odoo's command line, then opens that database in this
process and yields a superuser environment. Nothing is committed by the
benchmark; the database is dropped and the cluster stopped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager

from .common import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

import pgcluster
import run_tests

ADDON = "connectbooks_goflow"


@contextmanager
def odoo_env(prefix="cbg_bench", modules=(ADDON,)):
    """Yield ``env`` (superuser, main company) on a fresh database where
    ``modules`` (by default the add-on alone) are installed."""
    import odoo  # noqa: PLC0415 (only where Odoo is)
    from odoo.modules.registry import Registry  # noqa: PLC0415

    paths, _oca = run_tests.oca_addons()
    cluster = pgcluster.ensure_cluster()
    data_dir = tempfile.mkdtemp(prefix="cbg-bench-data-")
    db = f"{prefix}_{os.getpid()}"
    try:
        command = run_tests.odoo_cmd(
            cluster,
            db,
            [
                "--addons-path",
                ",".join(paths),
                "--without-demo",
                "all",
                "-i",
                ",".join(modules),
                "--log-level",
                "warn",
            ],
            data_dir,
        )
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        _configure(odoo, paths, cluster, data_dir)
        registry = Registry(db)
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            try:
                yield env
            finally:
                cr.rollback()
        Registry.delete(db)
        odoo.sql_db.close_all()
    finally:
        cluster.drop_database(db)
        cluster.stop()


_CONFIGURED = []


def _configure(odoo, paths, cluster, data_dir):
    """Point this process's Odoo at ``cluster``. Odoo's configuration can be
    parsed once per process; later benchmarks of the same run (each with its
    own throw-away cluster) only change the connection options."""
    if not _CONFIGURED:
        odoo.tools.config.parse_config(
            [
                "--addons-path",
                ",".join(paths),
                *cluster.odoo_args(),
                "--data-dir",
                data_dir,
                "--log-level",
                "warn",
            ]
        )
        _CONFIGURED.append(True)
        return
    config = odoo.tools.config
    config["db_host"] = cluster.host
    config["db_port"] = cluster.port
    config["db_user"] = cluster.user
    config["db_password"] = cluster.password or False
    config["data_dir"] = data_dir


_STORES = iter(range(1, 10_000))


def make_store(env, name="Bench Amazon US", connection=None):
    """A store of the main company with every account it needs (each call
    makes its own accounts and journal)."""
    company = env.company
    Account = env["account.account"]
    number = next(_STORES)

    def account(code, account_type, reconcile=False):
        return Account.create(
            {
                "code": f"{code}{number:03d}",
                "name": f"Bench {code}",
                "account_type": account_type,
                "company_ids": [(6, 0, company.ids)],
                "reconcile": reconcile,
            }
        ).id

    journal = env["account.journal"].create(
        {
            "name": f"Bench marketplace {number}",
            "code": f"BM{number:03d}",
            "type": "general",
        }
    )
    roles = {
        "sales": "income",
        "shipping": "income",
        "refund": "income",
        "promotion": "income",
        "tax": "liability_current",
        "selling_fee": "expense",
        "fulfillment_fee": "expense",
        "advertising": "expense",
        "storage_fee": "expense",
        "subscription": "expense",
        "reimbursement": "income_other",
        "reserve": "asset_current",
        "other": "expense",
    }
    values = {
        "name": name,
        "company_id": company.id,
        "currency_id": company.currency_id.id,
        "journal_id": journal.id,
        "clearing_account_id": account("BCH100", "asset_current", True),
        "cogs_account_id": account("BCH500", "expense_direct_cost"),
        "inventory_account_id": account("BCH130", "asset_current"),
        "goflow_connection_id": connection.id if connection else False,
    }
    for index, (role, account_type) in enumerate(roles.items()):
        values[f"account_{role}_id"] = account(f"BCH9{index:02d}", account_type)
    return env["connectbooks.store"].create(values)
