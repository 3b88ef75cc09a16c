"""Settlement files the marketplace sandbox serves, written to disk, never
held in memory whole.

* :func:`settlements_from_dataset`: one V2 settlement per period (14 days) of
  a Goflow sandbox data set, written by ``tools.settlement_generator`` so that
  their orders, SKUs and quantities are the ones the Goflow sandbox serves
  from the same data set (or the same ``--orders/--skus/--seed``);
* :func:`gzip_file`: a gzip copy, streamed;
* :func:`bench_settlement`: a settlement of about a million rows, gzipped,
  generated once and kept in the temporary directory for later runs.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tools.goflow_sandbox.dataset import Dataset
from tools.settlement_generator import write_settlement

PERIOD_DAYS = 14  # Amazon settles every two weeks
FIRST_SETTLEMENT_ID = 19_000_000_001
GZIP_LEVEL = 6
BENCH_GZIP_LEVEL = 1  # a million rows: speed over size
BENCH_ORDERS = 153_000  # about 1,000,000 rows, as the import benchmark
BENCH_SEED = 1  # the seed of the import benchmark: the same file
CACHE_DIR_NAME = "connectbooks-marketplace-sandbox"
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class SettlementFile:
    """A settlement file on disk and what its summary row says."""

    path: Path
    settlement_id: str
    start: datetime | None
    end: datetime | None
    deposit: datetime | None
    gzipped: bool


def _parse_summary_date(text):
    text = (text or "").strip()
    if not text:
        return None
    for form in ("%d.%m.%Y %H:%M:%S UTC", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S UTC"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def read_summary(path):
    """The :class:`SettlementFile` of a V2 file (plain or gzip) on disk.

    Reads its first two lines only: the header and the summary row.
    """
    path = Path(path)
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as handle:
        handle.readline()
        summary = handle.readline().decode("utf-8-sig", errors="replace")
    fields = summary.rstrip("\r\n").split("\t")
    fields += [""] * (5 - len(fields))
    return SettlementFile(
        path=path,
        settlement_id=fields[0].strip(),
        start=_parse_summary_date(fields[1]),
        end=_parse_summary_date(fields[2]),
        deposit=_parse_summary_date(fields[3]),
        gzipped=gzipped,
    )


def gzip_file(source, dest, level=GZIP_LEVEL):
    """Write a gzip copy of ``source`` to ``dest``, streamed; returns ``dest``."""
    with open(source, "rb") as reader, open(dest, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level) as writer:
            shutil.copyfileobj(reader, writer, COPY_CHUNK)
    return Path(dest)


def _order_moment(order):
    return datetime.fromisoformat(order["date"].replace("Z", "+00:00"))


def settlements_from_dataset(
    dataset,
    directory,
    *,
    period_days=PERIOD_DAYS,
    first_settlement_id=FIRST_SETTLEMENT_ID,
    seed=1,
):
    """One plain V2 settlement per period of the data set's orders.

    Orders (and their returns) go to the period of their order date; the
    periods start at midnight of the first order's day. Periods without
    orders get no settlement.

    :param dataset: a ``tools.goflow_sandbox.dataset.Dataset``
    :param directory: where the files are written
    :return: list of :class:`SettlementFile`, oldest first
    """
    orders = [order for order in dataset.orders if order.get("date")]
    if not orders:
        return []
    orders.sort(key=_order_moment)
    first = _order_moment(orders[0]).replace(hour=0, minute=0, second=0, microsecond=0)
    period = timedelta(days=period_days)
    buckets = {}
    for order in orders:
        index = int((_order_moment(order) - first) / period)
        buckets.setdefault(index, []).append(order)
    result = []
    for number, index in enumerate(sorted(buckets)):
        settlement_id = str(first_settlement_id + number)
        path = Path(directory) / f"settlement-{settlement_id}.txt"
        subset = Dataset(
            orders=buckets[index], products=dataset.products, stores=dataset.stores
        )
        write_settlement(
            path,
            dataset=subset,
            seed=seed + number,
            settlement_id=settlement_id,
            start=first + index * period,
        )
        result.append(read_summary(path))
    return result


def bench_settlement(orders=BENCH_ORDERS, seed=BENCH_SEED, directory=None):
    """A gzipped settlement of ``orders`` orders (153,000: ~1,000,000 rows),
    generated once and kept for later runs.

    Written through a gzip stream to a temporary name, then renamed: a run
    that stops half-way leaves no half file behind under the final name.

    :param directory: where to keep it (default: the temporary directory)
    :return: the :class:`pathlib.Path` of the ``.txt.gz`` file
    """
    directory = Path(directory or Path(tempfile.gettempdir()) / CACHE_DIR_NAME)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"settlement-{orders}-orders-seed-{seed}.txt.gz"
    if path.exists():
        return path
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as raw:
            with gzip.GzipFile(
                fileobj=raw, mode="wb", compresslevel=BENCH_GZIP_LEVEL
            ) as writer:
                write_settlement(writer, orders=orders, seed=seed)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return path
