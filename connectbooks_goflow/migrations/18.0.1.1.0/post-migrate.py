"""18.0.1.1.0: the import writes less per row (see README, Benchmarks).

Settlement lines lose their log columns, their stored company and product
and the database foreign key to their settlement; cost lines lose their
stored company and store and two indexes. Odoo leaves the columns of removed
fields in place: drop them, and the foreign key and indexes, so that the
import does not keep paying for them.
"""

DROPPED_COLUMNS = {
    "connectbooks_settlement_line": (
        "company_id",
        "product_id",
        "create_uid",
        "create_date",
        "write_uid",
        "write_date",
    ),
    "goflow_cost_line": ("company_id", "store_id"),
}
DROPPED_INDEXES = (
    "connectbooks_settlement_line__order_ref_index",
    "goflow_cost_line__sku_index",
    "goflow_cost_line__product_id_index",
)
DROPPED_CONSTRAINTS = {
    "connectbooks_settlement_line": (
        "connectbooks_settlement_line_settlement_id_fkey",
    ),
}


def migrate(cr, version):
    if not version:
        return
    for table, constraints in DROPPED_CONSTRAINTS.items():
        for name in constraints:
            cr.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
            cr.execute("DELETE FROM ir_model_constraint WHERE name = %s", [name])
    for name in DROPPED_INDEXES:
        cr.execute(f'DROP INDEX IF EXISTS "{name}"')
    for table, columns in DROPPED_COLUMNS.items():
        for column in columns:
            cr.execute(
                f'ALTER TABLE "{table}" DROP COLUMN IF EXISTS "{column}" CASCADE'
            )
