import io

from odoo import api, models
from odoo.tools import SQL

from ..core.pg_copy import copy_text
from ..core.vocabulary import MANUAL_SOURCES

# What a sync writes on a line, in the order of the rows of
# :meth:`_sync_stage`.
SYNC_COLUMNS = (
    "unit_cost",
    "total_cost",
    "state",
    "source",
    "missing_reason",
    "goflow_order_ref",
)


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class GoflowCostLine(models.Model):
    """The sync's reads and writes: the lines a sync may change, read by
    cursor, and its results staged and applied in one statement."""

    _inherit = "goflow.cost.line"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _sync_rows(self, settlement, batch_size=20_000):
        """The cost lines of ``settlement`` a sync may change (not those set
        by a person), in order of their order id, streamed through a
        server-side cursor ``batch_size`` rows at a time.

        :return: iterator of ``(id, kind, order_ref, sku, state, source,
            unit_cost, missing_reason, quantity, sign)``, "" for no order or
            SKU
        """
        self.flush_model()
        cr = self.env.cr
        name = SQL.identifier(f"goflow_sync_rows_{settlement.id}")
        cr.execute(
            SQL(
                """
                DECLARE %s NO SCROLL CURSOR FOR
                SELECT id, kind, COALESCE(order_ref, ''), COALESCE(sku, ''),
                       state, source, unit_cost, missing_reason, quantity, sign
                  FROM goflow_cost_line
                 WHERE settlement_id = %s
                   AND (source IS NULL OR source NOT IN %s)
                 ORDER BY COALESCE(order_ref, ''), id
                """,
                name,
                settlement.id,
                tuple(MANUAL_SOURCES),
            )
        )
        while True:
            cr.execute(SQL("FETCH %s FROM %s", SQL(str(int(batch_size))), name))
            rows = cr.fetchall()
            if not rows:
                break
            yield from rows
        # Closed here when read to the end; on an error the savepoint or
        # transaction around the sync closes it.
        cr.execute(SQL("CLOSE %s", name))

    @api.model
    def _sync_stage_begin(self):
        """An empty staging table for the rows a sync decides
        (:meth:`_sync_stage`), dropped with the transaction."""
        self.env.cr.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS goflow_sync_update (
                id integer PRIMARY KEY, unit_cost numeric, total_cost numeric,
                state varchar, source varchar, missing_reason varchar,
                goflow_order_ref varchar
            ) ON COMMIT DROP
            """
        )
        self.env.cr.execute("TRUNCATE goflow_sync_update")

    @api.model
    def _sync_stage(self, rows):
        """Stage what a sync decided for some lines, with ``COPY``.

        :param rows: ``[(id, *values of SYNC_COLUMNS)]`` as strings, "" for
            NULL
        """
        if rows:
            self.env.cr.copy_expert(
                "COPY goflow_sync_update FROM STDIN WITH (FORMAT text, NULL '')",
                io.StringIO(copy_text(tuple, rows)),
            )

    @api.model
    def _sync_stage_apply(self, settlement, synced_at):
        """Write the staged rows on their lines in one ``UPDATE ... FROM``,
        and stamp every line of ``settlement`` with the sync time. Each row
        is written once: a 450,000-line settlement is rewritten in seconds,
        not in minutes of VALUES lists."""
        self.flush_model()
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line c
                   SET unit_cost = v.unit_cost,
                       total_cost = v.total_cost,
                       state = v.state,
                       source = v.source,
                       missing_reason = v.missing_reason,
                       goflow_order_ref = COALESCE(
                           v.goflow_order_ref, c.goflow_order_ref
                       ),
                       synced_at = %s,
                       write_uid = %s,
                       write_date = %s
                  FROM goflow_sync_update v
                 WHERE c.id = v.id
                """,
                synced_at,
                self.env.uid,
                synced_at,
            )
        )
        cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line
                   SET synced_at = %s
                 WHERE settlement_id = %s
                   AND synced_at IS DISTINCT FROM %s
                """,
                synced_at,
                settlement.id,
                synced_at,
            )
        )
        cr.execute("TRUNCATE goflow_sync_update")
        self._written_by_sql(
            settlement, [*SYNC_COLUMNS, "synced_at", "write_uid", "write_date"]
        )
