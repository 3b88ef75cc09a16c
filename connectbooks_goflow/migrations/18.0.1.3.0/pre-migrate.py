"""18.0.1.3.0: the store fetch serves Amazon and Walmart.

The settings and stamps of the Amazon fetch become the store's own, for any
marketplace: ``amazon_fetch_enabled`` -> ``fetch_enabled``,
``amazon_fetch_since`` -> ``fetch_since``, ``amazon_last_fetch_at`` ->
``last_fetch_at``, ``amazon_last_fetch_message`` -> ``last_fetch_message``.
The columns are renamed before the update (which would otherwise create
empty ones and drop the old), with their field records and external ids, so
that the values and the chatter's tracking of them stay.
"""

import logging

_logger = logging.getLogger(__name__)

MODEL = "connectbooks.store"
TABLE = "connectbooks_store"
RENAMED = {
    "amazon_fetch_enabled": "fetch_enabled",
    "amazon_fetch_since": "fetch_since",
    "amazon_last_fetch_at": "last_fetch_at",
    "amazon_last_fetch_message": "last_fetch_message",
}


def _column_exists(cr, table, column):
    cr.execute(
        """
        SELECT 1 FROM information_schema.columns
         WHERE table_name = %s AND column_name = %s
        """,
        [table, column],
    )
    return bool(cr.fetchone())


def migrate(cr, version):
    if not version:
        return
    prefix = "field_" + MODEL.replace(".", "_") + "__"
    for old, new in RENAMED.items():
        if not _column_exists(cr, TABLE, old) or _column_exists(cr, TABLE, new):
            continue
        cr.execute(f'ALTER TABLE "{TABLE}" RENAME COLUMN "{old}" TO "{new}"')
        cr.execute(
            "UPDATE ir_model_fields SET name = %s WHERE model = %s AND name = %s",
            [new, MODEL, old],
        )
        cr.execute(
            """
            UPDATE ir_model_data SET name = %s
             WHERE module = 'connectbooks_goflow' AND model = 'ir.model.fields'
               AND name = %s
            """,
            [prefix + new, prefix + old],
        )
        _logger.info("connectbooks_store.%s renamed to %s", old, new)
