"""Write realistic Walmart reconciliation reports v1 (tests, demo, benchmarks).

Laid out as Walmart writes them (``settlement_const``, "Walmart
reconciliation report v1"): the 43-column header, ``Number of Lines in file
N``, the short PaymentSummary row carrying the exact sum of all amounts, then
per purchase order line of each order its Sale rows (Product Price, Product
tax and Product tax withheld, Commission on Product, a Promo Code now and
then, Shipping Price for seller-fulfilled lines) and its WFS fulfilment fee;
refunds of earlier orders (reversed price and tax, the commission given
back, the WFS return processing fee); WFS storage fees and disposal fees
with their own weekly periods (the disposal fee without a transaction type,
as Walmart writes it), WFS lost inventory reimbursed, and the reserve held
and released. Dates are month first, without time; transaction rows start
with a quoted empty field.

Orders come from the same sources as the Amazon generator
(:mod:`tools.settlement_generator`): an internal random source, or the Goflow
sandbox data set, whose order numbers become the customer order numbers
(what Goflow knows a Walmart order by, the reader's default) and whose
SKUs become the partner item ids::

    python -m tools.settlement_generator --marketplace walmart --orders 150000 \
        --seed 7 --out big.csv
    python -m tools.settlement_generator --marketplace walmart --match-sandbox \
        --zip --out recon.zip
"""

import random
import shutil
import tempfile
import zipfile
import zlib
from datetime import timedelta

from connectbooks_goflow.core.settlement_const import (
    WALMART_COLUMNS,
    WALMART_SETTLEMENT_ID_FORMAT,
)
from tools.settlement_generator import (
    DEFAULT_START,
    FLUSH_LINES,
    PERIOD,
    GeneratedSettlement,
    _dataset_orders,
    _fmt_dot,
    _internal_orders,
    _load_dataset,
)

__all__ = ["member_name", "write_walmart_recon"]

SELLER = "Sandbox_Seller_LLC"
PARTNER_ID = "10001051452"
# Walmart lists a report a few days after its period ends.
REPORT_DELAY = timedelta(days=3)
COMMISSION_PERCENT = 15
WFS_SHARE = 0.8
TAXED_SHARE = 0.7
SPLIT_SHARE = 0.05  # orders of several items shipped as two purchase orders
ORDERS_PER_LOST_INVENTORY = 500
QUOTED_NAME_EVERY = 40  # one SKU in so many has a comma in its name
STATES = (
    ("TX", "Sherman", "75090"),
    ("CA", "Fresno", "93650"),
    ("NY", "Utica", "13501"),
)
_TAIL_COLUMNS = len(WALMART_COLUMNS) - 18  # Partner Item Id .. Store Id
_EMPTY_TAIL = "," * (_TAIL_COLUMNS - 1)


def _date(moment):
    return moment.strftime("%m/%d/%Y")


def _item_name(sku, qty):
    """Most names hold no comma; a few do, and are quoted as Walmart does."""
    if zlib.crc32(sku.encode()) % QUOTED_NAME_EVERY:
        return f"Item {sku} - pack of {qty}"
    return f'"Item {sku}, pack of {qty}"'


def member_name(report_date, seller=SELLER, partner_id=PARTNER_ID):
    """The CSV's name in Walmart's zip."""
    return f"{seller}_{partner_id}_MP_{report_date:%m%d%Y}_reconciliationreport_v1.csv"


class _Emitter:
    """Formats rows, sums the amounts, buffers lines into a binary stream."""

    def __init__(self, stream, stats, rng, newline):
        self.stream = stream
        self.stats = stats
        self.rng = rng
        self.newline = newline
        self.buffer = []
        self.key_seq = 1_690_000
        self.po_seq = 129_119_000_000_000
        cache = {}

        def money(cents):
            text = cache.get(cents)
            if text is None:
                text = cache[cents] = _fmt_dot(cents)
            return text

        self.money = money

    def key(self, moment):
        self.key_seq += self.rng.randrange(1, 40)
        return f"{moment:%Y_%m_%d}_{self.key_seq}"

    def purchase_order(self):
        self.po_seq += self.rng.randrange(1, 10**6)
        return str(self.po_seq)

    def add(self, head, rows, tail):
        """``head`` (columns 1-12), then per row amount, amount type, Ship
        Qty, commission rates, reason, then ``tail`` (columns 19-43)."""
        money = self.money
        total = 0
        buffer = self.buffer
        for cents, amount_type, qty, rate, reason in rows:
            total += cents
            buffer.append(
                f"{head},{money(cents)},{amount_type},{qty},{rate},{rate},{reason},"
                f"{tail}"
            )
        self.stats.total_cents += total
        self.stats.rows += len(rows)
        if len(buffer) >= FLUSH_LINES:
            self.flush()

    def account_row(self, period, moment, ttype, description, cents, amount_type):
        start, end = period
        self.buffer.append(
            f"{_date(start)},{_date(end)},,,,{_date(moment)},{ttype},{description},"
            f",,,,{self.money(cents)},{amount_type},,,,,{_EMPTY_TAIL}"
        )
        self.stats.total_cents += cents
        self.stats.rows += 1

    def flush(self):
        if self.buffer:
            nl = self.newline
            self.stream.write((nl.join(self.buffer) + nl).encode())
            self.buffer = []

    # -- blocks

    def order(self, order, customer_order):
        rng = self.rng
        wfs = rng.random() < WFS_SHARE
        fulfillment = "Walmart-fulfilled(WFS)" if wfs else "Seller-fulfilled"
        taxed = rng.random() < TAXED_SHARE
        tax_rate = rng.choice((600, 725, 825))
        state, city, zipcode = rng.choice(STATES)
        posted = _date(order.moment)
        sale_key = self.key(order.moment)
        split = len(order.items) > 1 and rng.random() < SPLIT_SHARE
        po = self.purchase_order()
        po_line = 0
        lines = []
        for number, item in enumerate(order.items, start=1):
            if split and number == len(order.items):
                po, po_line, sale_key = self.purchase_order(), 0, self.key(order.moment)
            po_line += 1
            qty = item.quantity
            principal = item.unit_cents * qty
            commission = principal * COMMISSION_PERCENT // 100
            tail = (
                f"{item.sku},00{zlib.crc32(item.sku.encode()):012d},"
                f"{_item_name(item.sku, qty)},2038723,{state},{city},{zipcode},Home,"
                f"Kitchen,BSE-59-{COMMISSION_PERCENT}.0,Marketplace standard,"
                f"{fulfillment},Delivery,{_fmt_dot(-commission)},,0.00,,,,,,,,USA,"
            )
            rows = [(principal, "Product Price", qty, "", "")]
            tax = principal * tax_rate // 10_000 if taxed else 0
            if tax:
                rows.append((tax, "Product tax", qty, "", ""))
                rows.append((-tax, "Product tax withheld", qty, "", ""))
            if not wfs:
                rows.append((499 * qty, "Shipping Price", qty, "", ""))
            if item.discount_cents:
                rows.append((-item.discount_cents, "Promo Code", qty, "", ""))
            rows.append((-commission, "Commission on Product", qty, "15.00", ""))
            head = (
                f'"",,,,{sale_key},{posted},Sale,Purchase,{customer_order},{number},'
                f"{po},{po_line}"
            )
            self.add(head, rows, tail)
            if wfs:
                fee = -rng.choice((345, 390, 445, 590)) * qty
                head = (
                    f'"",,,,{self.key(order.moment)},{posted},Adjustment,'
                    f"WFS Fulfillment fee,{customer_order},{number},{po},{po_line}"
                )
                self.add(head, [(fee, "Fee/Reimbursement", "", "", "")], tail)
            item.commission = commission
            item.tax_rate = tax_rate if taxed else 0
            lines.append((item, number, po, po_line, tail, wfs))
            self.stats.units_ordered += qty
            self.stats.skus.add(item.sku)
        self.stats.orders += 1
        return lines

    def refund(self, customer_order, lines, moment, refunded):
        """``refunded``: [(Item, qty)] of the order's ``lines``."""
        posted = _date(moment)
        key = self.key(moment)
        by_item = {id(line[0]): line for line in lines}
        self.stats.refunds += 1
        for item, qty in refunded:
            _item, number, po, po_line, tail, wfs = by_item[id(item)]
            principal = item.unit_cents * qty
            tax = principal * item.tax_rate // 10_000
            commission = item.commission * qty // max(item.quantity, 1)
            rows = [(-principal, "Product Price", qty, "", "No Longer Wanted")]
            if tax:
                rows.append((-tax, "Product tax", qty, "", "No Longer Wanted"))
                rows.append((tax, "Product tax withheld", qty, "", "No Longer Wanted"))
            rows.append((commission, "Commission on Product", qty, "15.00", ""))
            head = (
                f'"",,,,{key},{posted},Refund,Return Refund,{customer_order},'
                f"{number},{po},{po_line}"
            )
            self.add(head, rows, tail)
            if wfs:
                head = (
                    f'"",,,,{self.key(moment)},{posted},Adjustment,'
                    f"WFS Return Processing Fee,{customer_order},{number},{po},"
                    f"{po_line}"
                )
                self.add(head, [(-470 * qty, "Fee/Reimbursement", "", "", "")], tail)
            self.stats.units_refunded += qty


def _customer_orders(orders, match):
    """Orders with the customer order number Walmart would show: the
    sandbox's order number, else a 15-digit number of our own."""
    for index, order in enumerate(orders):
        yield order, order.order_id if match else str(200_015_000_000_000 + index)


def write_walmart_recon(
    out,
    *,
    orders=1000,
    seed=1,
    skus=200,
    start=None,
    match_sandbox=False,
    missing_share=0.1,
    dataset=None,
    zip_archive=False,
    crlf=False,
):
    """Write one Walmart reconciliation report v1 (CSV, or the zip holding it).

    :param out: a path or a binary file object
    :param orders: number of orders (Goflow orders when matching the sandbox)
    :param match_sandbox: take the orders from the sandbox's
        ``build_dataset(orders, skus, seed, missing_share)``
    :param dataset: take the orders from this sandbox ``Dataset`` instead
    :param zip_archive: write the zip Walmart delivers, holding the CSV
    :return: :class:`~tools.settlement_generator.GeneratedSettlement` (its
        ``settlement_id`` is the one the reader gives the report)
    """
    rng = random.Random(f"walmart:{seed}")
    if dataset is None and match_sandbox:
        dataset = _load_dataset(orders, skus, seed, missing_share)
    if dataset is not None:
        source = _dataset_orders(dataset)
        first = source[0].moment if source else DEFAULT_START
        start = start or first.replace(hour=0, minute=0, second=0, microsecond=0)
        last = max(
            [o.moment for o in source]
            + [m for o in source for m, _lines in o.refunds]
            + [start]
        )
        end = last.replace(hour=0, minute=0, second=0, microsecond=0)
        orders_iter = _customer_orders(source, match=True)
    else:
        start = start or DEFAULT_START
        end = start + PERIOD - timedelta(days=1)
        orders_iter = _customer_orders(
            _internal_orders(orders, skus, rng, start, end - start), match=False
        )
    sid = WALMART_SETTLEMENT_ID_FORMAT.format(start=start, end=end)
    stats = GeneratedSettlement(sid, "USD")
    newline = "\r\n" if crlf else "\n"
    with tempfile.TemporaryFile() as body:
        em = _Emitter(body, stats, rng, newline)
        _write_body(em, orders_iter, start, end, rng)
        em.flush()
        header = ",".join(WALMART_COLUMNS)
        summary = ",".join(
            [
                _date(start),
                _date(end),
                em.money(stats.total_cents),
                "USD",
                "",
                _date(end),
                "PaymentSummary",
                "Deposited in BANK account",
            ]
            + [""] * 26
        )
        count = f"Number of Lines in file {stats.rows + 1}            "
        head = newline.join([header, count, summary]).encode() + newline.encode()
        body.seek(0)
        if zip_archive:
            name = member_name(end + REPORT_DELAY)
            _write_zip(out, name, head, body)
        elif isinstance(out, (str, bytes)) or hasattr(out, "__fspath__"):
            with open(out, "wb") as handle:
                handle.write(head)
                shutil.copyfileobj(body, handle, 1 << 20)
        else:
            out.write(head)
            shutil.copyfileobj(body, out, 1 << 20)
    return stats


def _write_zip(out, name, head, body):
    path = isinstance(out, (str, bytes)) or hasattr(out, "__fspath__")
    handle = open(out, "wb") if path else out
    try:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(head)
                shutil.copyfileobj(body, member, 1 << 20)
    finally:
        if path:
            handle.close()


def _weeks(start, end):
    """The weekly periods of WFS charges within the payment's period."""
    week = start
    while week <= end:
        last = min(week + timedelta(days=6), end)
        yield week, last
        week = last + timedelta(days=1)


def _write_body(em, orders_iter, start, end, rng):
    for period in _weeks(start, end):
        closing = period[1]
        em.account_row(
            period,
            closing,
            "Service Fee",
            "WFS StorageFee",
            -rng.randrange(2_000, 20_000),
            "WFS Inventory Fee/Reimbursement",
        )
        em.account_row(
            period,
            closing,
            "",
            "WFS RC_InventoryDisposalFee",
            -rng.randrange(50, 500),
            "",
        )
    released = rng.randrange(10_000, 100_000)
    em.account_row(
        (start, end), start, "Release Reserve", "Reserve released", released, "Reserve"
    )
    pending = []
    count = 0
    order = customer_order = lines = None
    for order, customer_order in orders_iter:
        lines = em.order(order, customer_order)
        count += 1
        for moment, refunded in order.refunds:
            pending.append((moment, customer_order, lines, refunded))
        if count % 50 == 0 and pending:
            ripe = [p for p in pending if p[0] <= order.moment]
            if ripe:
                pending = [p for p in pending if p[0] > order.moment]
                for moment, number, its_lines, refunded in ripe:
                    em.refund(number, its_lines, moment, refunded)
        if count % ORDERS_PER_LOST_INVENTORY == 0:
            _lost_inventory(em, order, start, end)
    for moment, number, its_lines, refunded in sorted(pending, key=lambda p: p[0]):
        em.refund(number, its_lines, moment, refunded)
    if count < ORDERS_PER_LOST_INVENTORY and order is not None:
        _lost_inventory(em, order, start, end)
    em.account_row(
        (start, end),
        end,
        "Reserve",
        "Reserve held",
        -rng.randrange(10_000, 100_000),
        "Reserve",
    )


def _lost_inventory(em, order, start, end):
    """WFS lost an item of ours: Walmart pays for it (no SKU in the row)."""
    moment = min(max(order.moment, start), end)
    monday = moment - timedelta(days=moment.weekday())
    em.account_row(
        (max(monday, start), min(monday + timedelta(days=6), end)),
        moment,
        "Adjustment",
        "WFS LostInventory",
        order.items[0].unit_cents * 6 // 10,
        "WFS Inventory Fee/Reimbursement",
    )
    em.stats.reimbursements += 1
