"""Import a 1,000,000-row Amazon V2 settlement (~150,000 orders) through the
import wizard's code path into a fresh database, against a plain PostgreSQL
``COPY`` of the same rows measured in the same run. Target: <= 5x the COPY
(the seconds are information: machines of the same kind differ by 3x).

The store's products exist (one per SKU of the file), as in a real company,
so the import matches them.

The baseline (``baseline_seconds``, ``ratio``, ``met``) is a ``COPY`` of the
file's rows into an equivalent plain table: an ordinary table with one
column per column of the file, typed (amounts numeric, dates timestamps,
quantity integer), with neither index nor constraint; the median of five
COPYs, each into a fresh table (one COPY of a million rows varies by up to
half from run to run). For reference the run also times, each the median of
five: the rows as the import stored them into an ordinary table with the
line table's columns (``stored_rows_*``) and into a temporary one (no WAL,
local buffers: ``temp_table_*``); and once the file into a table of text
columns and the stored rows into the add-on's own line table (its keys) and
into a twin of it without the foreign key to the settlement: the difference
is the key's cost (``foreign_key_seconds``), and ``ratio_without_foreign_key``
the import's ratio less that cost. Last, the stored cost lines into the cost
line table under the same second settlement: with the line table's COPY, the
import's floor (``floor_seconds``): the rows it must store, into the tables
it must store them in, with their keys, indexes and foreign keys, and no
parsing at all. ``floor_ratio`` is that floor to the baseline, and
``ratio_to_floor`` the import to its floor.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, reset_peak_rss, result
from tools.settlement_generator import write_settlement

ORDERS = int(os.environ.get("BENCH_IMPORT_ORDERS", 153_000))
TARGET_RATIO = 5.0
BASELINE_RUNS = 5


FILE_COLUMN_TYPES = {
    "settlement-start-date": "timestamptz",
    "settlement-end-date": "timestamptz",
    "deposit-date": "timestamptz",
    "total-amount": "numeric",
    "amount": "numeric",
    "posted-date": "date",
    "posted-date-time": "timestamptz",
    "quantity-purchased": "integer",
}
FILE_COPY = (
    "COPY {table} FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', HEADER true, "
    "QUOTE E'\\x01')"
)


def _median_copy(cr, create, copy, source):
    """Median seconds of :data:`BASELINE_RUNS` COPYs, each into a fresh table.

    :param create: ``CREATE TABLE`` statement with a ``{table}`` placeholder
    :param copy: ``COPY ... FROM STDIN`` statement, same placeholder
    :param source: returns a new binary file object of the rows
    :return: ``(median, [each run])``
    """
    runs = []
    for attempt in range(BASELINE_RUNS):
        table = f"bench_copy_{next(_TABLES)}_{attempt}"
        # the benchmark's own statements and table names
        cr.execute(create.format(table=table))  # pylint: disable=sql-injection
        with source() as handle, Stopwatch() as watch:
            cr.copy_expert(copy.format(table=table), handle)
        runs.append(watch.seconds)
    return statistics.median(runs), [round(value, 3) for value in runs]


_TABLES = iter(range(1, 1_000))


@dataclass(frozen=True)
class FileLayout:
    """How the baseline COPYs a generated file: its column names and types,
    the COPY statement, and the file object of its rows."""

    names: list
    types: dict
    copy: str
    source: Callable


def amazon_layout(path):
    """The Amazon V2 flat file: tab-separated, one header line."""
    with open(path, "rb") as handle:
        names = handle.readline().decode().rstrip("\r\n").split("\t")
    return FileLayout(
        names, FILE_COLUMN_TYPES, FILE_COPY, lambda: open(path, "rb")
    )  # closed by _median_copy


def _copy_baselines(env, layout, settlement):
    """Seconds of the COPYs described in the module's docstring.

    :param layout: :class:`FileLayout` of the imported file
    :return: ``(seconds, runs)`` dicts keyed ``file`` (the baseline),
        ``stored``, ``temp``, ``raw`` and ``line_table``
    """
    # the columns the import writes, as the models name them
    from odoo.addons.connectbooks_goflow.models import (  # noqa: PLC0415
        connectbooks_settlement_line,
        goflow_cost_line_import,
    )

    cr = env.cr
    columns = ", ".join(connectbooks_settlement_line.IMPORT_COLUMNS)
    stored_rows = _stored_rows(cr, "connectbooks_settlement_line", columns, settlement)
    names = layout.names
    seconds, runs = {}, {}
    seconds["file"], runs["file"] = _median_copy(
        cr,
        "CREATE TABLE {table} ("
        + ", ".join(f'"{name}" {layout.types.get(name, "text")}' for name in names)
        + ")",
        layout.copy,
        layout.source,
    )
    for name, kind in (("stored", ""), ("temp", "TEMP")):
        seconds[name], runs[name] = _median_copy(
            cr,
            f"CREATE {kind} TABLE {{table}} AS "
            "SELECT * FROM connectbooks_settlement_line WITH NO DATA",
            f"COPY {{table}} ({columns}) FROM STDIN WITH (FORMAT csv)",
            lambda: io.BytesIO(stored_rows),
        )

    # the file's column names, quoted (Walmart's hold spaces and "#")
    cr.execute(  # pylint: disable=sql-injection
        "CREATE TABLE bench_raw ("
        + ", ".join('"{}" text'.format(name.replace('"', '""')) for name in names)
        + ")"
    )
    with layout.source() as handle, Stopwatch() as watch:
        cr.copy_expert(layout.copy.format(table="bench_raw"), handle)
    seconds["raw"] = watch.seconds
    # The stored rows into the add-on's own line table, under a second
    # settlement: the floor for this table.
    other = env["connectbooks.settlement"].create(
        {
            "store_id": settlement.store_id.id,
            "settlement_ref": "BENCH-FLOOR",
            "currency_id": settlement.currency_id.id,
        }
    )
    env.flush_all()
    retagged = io.BytesIO(_retag(stored_rows, settlement, other))
    with Stopwatch() as watch:
        cr.copy_expert(
            f"COPY connectbooks_settlement_line ({columns}) FROM STDIN "
            "WITH (FORMAT csv)",
            retagged,
        )
    seconds["line_table"] = watch.seconds
    # The same into a twin of the line table without its foreign key (same
    # columns, defaults, primary key and index): what the key costs.
    cr.execute(
        "CREATE TABLE bench_line_no_fk (LIKE connectbooks_settlement_line "
        "INCLUDING DEFAULTS INCLUDING INDEXES)"
    )
    retagged.seek(0)
    with Stopwatch() as watch:
        cr.copy_expert(
            f"COPY bench_line_no_fk ({columns}) FROM STDIN WITH (FORMAT csv)",
            retagged,
        )
    seconds["line_table_no_fk"] = watch.seconds
    # The stored cost lines into the cost line table under that settlement:
    # with the line table's COPY, the floor of the import (the rows it must
    # store, in the add-on's own tables, with their keys and indexes).
    cost_columns = ", ".join(goflow_cost_line_import.IMPORT_COLUMNS)
    cost_rows = _stored_rows(cr, "goflow_cost_line", cost_columns, settlement)
    with Stopwatch() as watch:
        cr.copy_expert(
            f"COPY goflow_cost_line ({cost_columns}) FROM STDIN WITH (FORMAT csv)",
            io.BytesIO(_retag(cost_rows, settlement, other)),
        )
    seconds["cost_line_table"] = watch.seconds
    return seconds, runs


def _stored_rows(cr, table, columns, settlement):
    """The CSV of ``columns`` of ``settlement``'s rows in ``table``."""
    stored = io.BytesIO()
    cr.copy_expert(
        f"COPY (SELECT {columns} FROM {table} "
        f"WHERE settlement_id = {int(settlement.id)}) TO STDOUT WITH (FORMAT csv)",
        stored,
    )
    return stored.getvalue()


def _retag(rows, settlement, other):
    """CSV ``rows`` whose first column is ``settlement``'s id, given
    ``other``'s id instead."""
    prefix = f"{settlement.id},".encode()
    return b"\n".join(
        f"{other.id},".encode() + line[len(prefix) :] for line in rows.splitlines()
    )


def _make_products(env, skus):
    """One product per SKU, its internal reference the SKU."""
    env["product.product"].create(
        [{"name": f"Bench {sku}", "default_code": sku} for sku in sorted(skus)]
    )
    env.flush_all()


def run():
    reason = odoo_missing()
    if reason:
        return [{"bench": "settlement_import", "skipped": reason}]
    with tempfile.TemporaryDirectory(prefix="cbg-bench-import-") as tmp:
        path = Path(tmp) / "settlement_v2.txt"
        generated = write_settlement(str(path), orders=ORDERS, seed=1)
        return [measure_import("settlement_import", path, generated, amazon_layout)]


def measure_import(name, path, generated, layout, marketplace="amazon"):
    """Import ``path`` into a fresh database, then time the baselines.

    :param layout: ``path -> FileLayout`` of the baseline COPY
    :return: the result record
    """
    from bench.odoo_env import make_store, odoo_env  # noqa: PLC0415

    with odoo_env("cbg_bench_import") as env:
        store = make_store(env)
        store.marketplace = marketplace
        _make_products(env, generated.skus)
        reset_peak_rss()
        with open(path, "rb") as handle, Stopwatch() as watch:
            settlement = env["connectbooks.settlement.import"]._import_file(
                store, handle, path.name
            )
            env.flush_all()
        rss = peak_rss_mb()
        rows = settlement.line_count
        cost_lines = len(settlement.cost_line_ids)
        matched = len(settlement.cost_line_ids.filtered("product_id"))
        copies, runs = _copy_baselines(env, layout(path), settlement)
    baseline = copies["file"]
    # The line table's foreign key, timed in the same run (the import pays it
    # once per row, as this COPY does).
    foreign_key = max(copies["line_table"] - copies["line_table_no_fk"], 0.0)
    floor = copies["line_table"] + copies["cost_line_table"]
    ratio_met = watch.seconds <= TARGET_RATIO * baseline

    def ratio(key):
        return round(watch.seconds / copies[key], 2)

    return result(
        name,
        watch.seconds,
        rows=rows,
        orders=getattr(generated, "orders", ORDERS),
        cost_lines=cost_lines,
        cost_lines_with_product=matched,
        products=len(generated.skus),
        peak_rss_mb=rss,
        baseline_runs_seconds=runs["file"],
        stored_rows_copy_seconds=round(copies["stored"], 3),
        stored_rows_runs_seconds=runs["stored"],
        ratio_to_stored_rows_copy=ratio("stored"),
        temp_table_copy_seconds=round(copies["temp"], 3),
        temp_table_runs_seconds=runs["temp"],
        ratio_to_temp_table_copy=ratio("temp"),
        raw_file_copy_seconds=round(copies["raw"], 3),
        line_table_copy_seconds=round(copies["line_table"], 3),
        ratio_to_line_table_copy=ratio("line_table"),
        line_table_without_foreign_key_copy_seconds=round(
            copies["line_table_no_fk"], 3
        ),
        foreign_key_seconds=round(foreign_key, 3),
        ratio_without_foreign_key=round((watch.seconds - foreign_key) / baseline, 2),
        cost_line_table_copy_seconds=round(copies["cost_line_table"], 3),
        floor_seconds=round(floor, 3),
        floor_ratio=round(floor / baseline, 2),
        ratio_to_floor=round(watch.seconds / floor, 2),
        baseline_seconds=baseline,
        target=(
            f"<= {TARGET_RATIO:g}x a COPY of the "
            "file's rows into an equivalent plain table (its columns typed, "
            "ordinary table, no index, no constraint; median of "
            f"{BASELINE_RUNS})"
        ),
        met=ratio_met,
    )
