"""The 18.0.1.3.0 migration: the Amazon fetch settings become the store's."""

import importlib.util
from pathlib import Path

from odoo.tests import tagged

from .common import ConnectbooksCase

SCRIPT = (
    Path(__file__).resolve().parents[1] / "migrations" / "18.0.1.3.0" / "pre-migrate.py"
)


def _migration():
    spec = importlib.util.spec_from_file_location("cbg_migrate_18_0_1_3_0", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestFetchFieldsMigration(ConnectbooksCase):
    def _columns(self):
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'connectbooks_store'"
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def test_amazon_columns_renamed_with_their_values(self):
        """A 18.0.1.2.0 database (the columns and field records under their
        Amazon names) comes out with the store's names and the same values."""
        migration = _migration()
        self.store_a.write({"fetch_enabled": False, "fetch_since": "2026-09-01"})
        self.env.flush_all()
        cr = self.env.cr
        prefix = "field_connectbooks_store__"
        for old, new in migration.RENAMED.items():
            cr.execute(
                f'ALTER TABLE connectbooks_store RENAME COLUMN "{new}" TO "{old}"'
            )
            cr.execute(
                "UPDATE ir_model_fields SET name = %s "
                "WHERE model = 'connectbooks.store' AND name = %s",
                [old, new],
            )
            cr.execute(
                "UPDATE ir_model_data SET name = %s "
                "WHERE module = 'connectbooks_goflow' AND name = %s",
                [prefix + old, prefix + new],
            )
        self.assertIn("amazon_fetch_since", self._columns())
        migration.migrate(cr, "18.0.1.2.0")
        columns = self._columns()
        for old, new in migration.RENAMED.items():
            self.assertIn(new, columns, msg=new)
            self.assertNotIn(old, columns, msg=old)
            cr.execute(
                "SELECT count(*) FROM ir_model_data d JOIN ir_model_fields f "
                "ON f.id = d.res_id AND d.model = 'ir.model.fields' "
                "WHERE d.module = 'connectbooks_goflow' AND d.name = %s "
                "AND f.name = %s",
                [prefix + new, new],
            )
            self.assertEqual(cr.fetchone()[0], 1, msg=f"field record of {new}")
        cr.execute(
            "SELECT fetch_since::text FROM connectbooks_store WHERE id = %s",
            [self.store_a.id],
        )
        self.assertEqual(cr.fetchone()[0], "2026-09-01", msg="the value kept")
        # Run again (an update that stopped half-way): nothing to do.
        migration.migrate(cr, "18.0.1.2.0")
        self.assertEqual(self._columns(), columns)
