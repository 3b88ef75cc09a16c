"""Write realistic Amazon Settlement V2 flat files (tests, demo, benchmarks).

The rows follow the V2 layout (``settlement_const``): per order item Principal, Tax and
its MarketplaceFacilitatorTax, sometimes Shipping, Commission, the FBA
fulfilment fee, some promotions with a promotion id; refunds of earlier orders
(reversed amounts plus the RefundCommission Amazon keeps); FBA inventory
reimbursements with a SKU and no order id; the reserve released and held;
storage, subscription and advertising fees. The summary first row carries the
exact sum of all amounts.

Orders come from an internal random source, or from the Goflow sandbox data
set (``tools.goflow_sandbox.dataset``) so that the settlement and the sandbox
agree on order numbers, SKUs and quantities::

    python -m tools.settlement_generator --orders 150000 --seed 7 --out big.txt
    python -m tools.settlement_generator --orders 500 --match-sandbox --eu-decimal

``--marketplace walmart`` writes Walmart's reconciliation report instead
(:mod:`tools.walmart_recon_generator`), ``--zip`` the zip Walmart delivers.
"""

import argparse
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

# Column order of the V2 flat file (Amazon's 23 attributes + promotion-id);
# imported from the add-on so the generator and the parser agree.
from connectbooks_goflow.core.settlement_const import AMAZON_V2_COLUMNS

DEFAULT_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
PERIOD = timedelta(days=14)
FLUSH_LINES = 20_000

# Shares and ranges of the internal order source (tuned so that 150,000 orders
# give about 1,000,000 rows, the size the import benchmark measures).
ITEMS_PER_ORDER = ((1, 2, 3), (72, 20, 8))
UNITS_PER_ITEM = ((1, 2, 3), (85, 12, 3))
TAXED_SHARE = 0.6
MFN_SHARE = 0.15
SHIPPING_SHARE_AFN = 0.1
PROMOTION_SHARE = 0.1
REFUND_SHARE = 0.04
REFUND_QTY_ZERO_SHARE = 0.3  # single-unit refunds written with quantity 0
ORDERS_PER_REIMBURSEMENT = 400
ORDERS_PER_AD_CHARGE = 2000
REFUND_COMMISSION_CAP = 500  # cents


def _fmt_dot(cents):
    if cents < 0:
        return "-" + _fmt_dot(-cents)
    return f"{cents // 100}.{cents % 100:02d}"


def _fmt_comma(cents):
    if cents < 0:
        return "-" + _fmt_comma(-cents)
    whole = f"{cents // 100:,}".replace(",", ".")
    return f"{whole},{cents % 100:02d}"


@dataclass
class Item:
    """One order item: what the settlement needs of a Goflow order line."""

    code: str
    sku: str
    quantity: int
    unit_cents: int
    discount_cents: int = 0
    commission: int = 0  # set when the order is written, used by its refund
    tax_rate: int = 0


@dataclass
class Order:
    order_id: str
    moment: datetime
    items: list
    refunds: list = field(default_factory=list)  # [(moment, [(Item, qty)])]


@dataclass
class GeneratedSettlement:
    """What was written: enough to check a parse of the file."""

    settlement_id: str
    currency: str
    rows: int = 0
    orders: int = 0
    refunds: int = 0
    reimbursements: int = 0
    units_ordered: int = 0
    units_refunded: int = 0
    total_cents: int = 0
    skus: set = field(default_factory=set)

    @property
    def total(self):
        return Decimal(self.total_cents).scaleb(-2)


class _Emitter:
    """Formats rows, sums the amounts, buffers lines into a binary stream."""

    def __init__(self, stream, stats, *, eu, encoding, newline, rng):
        self.stream = stream
        self.stats = stats
        self.eu = eu
        self.encoding = encoding
        self.newline = newline
        self.rng = rng
        self.marketplace = "Amazon.de" if eu else "Amazon.com"
        fmt = _fmt_comma if eu else _fmt_dot
        cache = {}

        def money(cents):
            text = cache.get(cents)
            if text is None:
                text = cache[cents] = fmt(cents)
            return text

        self.money = money
        self.buffer = []
        self.sid = stats.settlement_id
        self.adjustment_seq = 0

    # -- dates in Amazon's forms

    def short_date(self, moment):
        return moment.strftime("%d.%m.%Y" if self.eu else "%Y-%m-%d")

    def date_time(self, moment):
        form = "%d.%m.%Y %H:%M:%S UTC" if self.eu else "%Y-%m-%d %H:%M:%S UTC"
        return moment.astimezone(timezone.utc).strftime(form)

    def iso(self, moment):
        if self.eu:
            return self.date_time(moment)
        return moment.astimezone(timezone.utc).isoformat(timespec="seconds")

    # -- output

    def add(self, prefix, suffix, rows):
        """Append ``prefix + amount-type, description, amount + suffix`` rows."""
        buffer = self.buffer
        money = self.money
        total = 0
        for amount_type, description, cents, tail in rows:
            total += cents
            buffer.append(
                f"{prefix}{amount_type}\t{description}\t{money(cents)}\t{suffix}{tail}"
            )
        self.stats.total_cents += total
        self.stats.rows += len(rows)
        if len(buffer) >= FLUSH_LINES:
            self.flush()

    def flush(self):
        if self.buffer:
            nl = self.newline
            text = nl.join(self.buffer) + nl
            self.stream.write(text.encode(self.encoding))
            self.buffer = []

    def _prefix(self, ttype, order_id="", adjustment_id="", shipment_id=""):
        merchant_order_id = ""
        return (
            f"{self.sid}\t\t\t\t\t\t{ttype}\t{order_id}\t{merchant_order_id}\t"
            f"{adjustment_id}\t{shipment_id}\t{self.marketplace}\t"
        )

    def next_adjustment_id(self):
        self.adjustment_seq += 1
        return f"{50_000_000_000 + self.adjustment_seq * 7919 % 10**10:011d}"

    # -- blocks

    def order(self, order):
        rng = self.rng
        mfn = rng.random() < MFN_SHARE
        fulfillment = "MFN" if mfn else "AFN"
        taxed = rng.random() < TAXED_SHARE
        tax_rate = rng.choice((600, 725, 825, 950))  # basis points
        shipped = mfn or rng.random() < SHIPPING_SHARE_AFN
        shipment_id = f"D{rng.getrandbits(40):010X}"
        prefix = self._prefix("Order", order.order_id, "", shipment_id)
        suffix = (
            f"{fulfillment}\t{self.short_date(order.moment)}\t"
            f"{self.date_time(order.moment)}\t"
        )
        stats = self.stats
        stats.orders += 1
        for item in order.items:
            qty = item.quantity
            principal = item.unit_cents * qty
            rows = [("ItemPrice", "Principal", principal, "")]
            tax = principal * tax_rate // 10_000 if taxed else 0
            if tax:
                rows.append(("ItemPrice", "Tax", tax, ""))
            shipping = 0
            if shipped:
                shipping = rng.choice((399, 499, 599)) * qty
                rows.append(("ItemPrice", "Shipping", shipping, ""))
                if taxed:
                    shipping_tax = shipping * tax_rate // 10_000
                    rows.append(("ItemPrice", "ShippingTax", shipping_tax, ""))
            discount = item.discount_cents
            promotion = ""
            if discount:
                promotion = f"PLM-{rng.randrange(10**8):08d}"
                rows.append(("Promotion", "Principal", -discount, promotion))
            if tax:
                rows.append(
                    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -tax, "")
                )
            if shipped and taxed:
                rows.append(
                    (
                        "ItemWithheldTax",
                        "MarketplaceFacilitatorTax-Shipping",
                        -(shipping * tax_rate // 10_000),
                        "",
                    )
                )
            commission = max(30 * qty, (principal + shipping - discount) * 15 // 100)
            rows.append(("ItemFees", "Commission", -commission, ""))
            if not mfn:
                rows.append(
                    (
                        "ItemFees",
                        "FBAPerUnitFulfillmentFee",
                        -rng.choice((322, 340, 406, 475, 589)) * qty,
                        "",
                    )
                )
            item_suffix = f"{suffix}{item.code}\t\t\t{item.sku}\t{qty}\t"
            self.add(prefix, item_suffix, rows)
            stats.units_ordered += qty
            stats.skus.add(item.sku)
            item.commission = commission
            item.tax_rate = tax_rate if taxed else 0

    def refund(self, order, moment, lines):
        rng = self.rng
        adjustment_id = self.next_adjustment_id()
        prefix = self._prefix("Refund", order.order_id, adjustment_id, "")
        date_part = f"AFN\t{self.short_date(moment)}\t{self.date_time(moment)}\t"
        self.stats.refunds += 1
        for n, (item, qty) in enumerate(lines, start=1):
            principal = item.unit_cents * qty
            tax = principal * item.tax_rate // 10_000
            commission = item.commission * qty // max(item.quantity, 1)
            rows = [("ItemPrice", "Principal", -principal, "")]
            if tax:
                rows.append(("ItemPrice", "Tax", -tax, ""))
                rows.append(
                    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", tax, "")
                )
            rows.append(("ItemFees", "Commission", commission, ""))
            rows.append(
                (
                    "ItemFees",
                    "RefundCommission",
                    -min(commission // 5, REFUND_COMMISSION_CAP),
                    "",
                )
            )
            written_qty = qty
            if qty == 1 and rng.random() < REFUND_QTY_ZERO_SHARE:
                written_qty = 0
            adj_item = f"{adjustment_id[-6:]}{n:03d}"
            suffix = (
                f"{date_part}{item.code}\t\t{adj_item}\t{item.sku}\t{written_qty}\t"
            )
            self.add(prefix, suffix, rows)
            self.stats.units_refunded += qty

    def account_row(
        self, moment, ttype, amount_type, description, cents, sku="", qty=""
    ):
        prefix = self._prefix(ttype)
        dates = f"{self.short_date(moment)}\t{self.date_time(moment)}"
        suffix = f"\t{dates}\t\t\t\t{sku}\t{qty}\t"
        self.add(prefix, suffix, [(amount_type, description, cents, "")])


# --- order sources -----------------------------------------------------------


def _internal_orders(count, skus, rng, start, period):
    """Random orders over ``skus`` SKUs named like the sandbox's (SKU-00042)."""
    prices = [rng.randrange(600, 9000) for _ in range(skus)]
    step = period / max(count, 1)
    last_day = start + period
    item_seq = 10_000_000_000_000
    for index in range(count):
        moment = start + step * index + timedelta(seconds=rng.randrange(60))
        items = []
        for _ in range(rng.choices(*ITEMS_PER_ORDER)[0]):
            k = rng.randrange(skus)
            qty = rng.choices(*UNITS_PER_ITEM)[0]
            discount = 0
            if rng.random() < PROMOTION_SHARE:
                discount = prices[k] * qty // 10
            item_seq += rng.randrange(1, 5000)
            items.append(Item(str(item_seq), f"SKU-{k:05d}", qty, prices[k], discount))
        middle, last = rng.randrange(10**7), rng.randrange(10**7)
        order_id = f"{111 + index % 3:03d}-{middle:07d}-{last:07d}"
        order = Order(order_id, moment, items)
        if rng.random() < REFUND_SHARE:
            item = items[0]
            qty = 1 if rng.random() < 0.7 else item.quantity
            refunded_at = min(moment + timedelta(days=rng.randint(1, 10)), last_day)
            order.refunds.append((refunded_at, [(item, qty)]))
        yield order


def _cents(value):
    return int((Decimal(str(value)) * 100).to_integral_value())


def _parse_goflow_date(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _dataset_orders(dataset):
    """One settlement order per distinct Goflow order number.

    Split orders (same ``order_number``, several Goflow ids) are merged; lines
    whose product is null are left out (Amazon always names a SKU, a null
    product is an unmapped Goflow line). Returns become refunds.
    """
    by_number = {}
    for goflow_order in dataset.orders:
        number = goflow_order["order_number"]
        order = by_number.get(number)
        if order is None:
            order = by_number[number] = Order(
                number, _parse_goflow_date(goflow_order["date"]), []
            )
        items_by_line = {}
        for line in goflow_order.get("lines") or []:
            product = line.get("product")
            if not product:
                continue
            price = next(
                (
                    c["amount"]
                    for c in line.get("charges") or []
                    if c["type"] == "price"
                ),
                0,
            )
            discount = sum(
                -_cents(c["amount"])
                for c in line.get("charges") or []
                if c["type"] == "discount"
            )
            item = Item(
                str(10_000_000_000_000 + int(line["id"])),
                product["item_number"],
                int(line["quantity"]["amount"]),
                _cents(price),
                discount,
            )
            order.items.append(item)
            items_by_line[line["id"]] = item
        for ret in goflow_order.get("returns") or []:
            lines = []
            for ret_line in ret.get("lines") or []:
                item = items_by_line.get(ret_line.get("order_line_id"))
                if item is not None:
                    lines.append((item, int(ret_line["quantity"]["amount"])))
            if lines:
                order.refunds.append((_parse_goflow_date(ret["date"]), lines))
    orders = [o for o in by_number.values() if o.items]
    orders.sort(key=lambda o: o.moment)
    return orders


# The sandbox package is imported lazily: the generator works without it.


def _load_dataset(orders, skus, seed, missing_share=0.1):
    """The data set ``python -m tools.goflow_sandbox`` builds from the same
    arguments."""
    from tools.goflow_sandbox.dataset import build_dataset  # noqa: PLC0415

    return build_dataset(orders, skus, seed, missing_share)


def _read_dataset(path):
    """A data set the sandbox serves with ``--data PATH``."""
    from tools.goflow_sandbox.dataset import Dataset  # noqa: PLC0415

    return Dataset.from_json(path)


# --- writer ------------------------------------------------------------------


def write_settlement(
    out,
    *,
    orders=1000,
    seed=1,
    skus=200,
    settlement_id=None,
    start=None,
    match_sandbox=False,
    missing_share=0.1,
    dataset=None,
    crlf=False,
    bom=False,
    eu_decimal=False,
    cp1252=False,
):
    """Write one settlement file.

    :param out: a path or a binary file object
    :param orders: number of orders (Goflow orders when matching the sandbox)
    :param match_sandbox: take the orders from the sandbox's
        ``build_dataset(orders, skus, seed, missing_share)`` (the share changes
        the random draws, so pass the sandbox's value)
    :param dataset: take the orders from this sandbox ``Dataset`` instead
    :param eu_decimal: decimal commas, ``dd.mm.yyyy`` dates, EUR, Amazon.de
    :return: :class:`GeneratedSettlement`
    """
    rng = random.Random(f"settlement:{seed}")
    if dataset is None and match_sandbox:
        dataset = _load_dataset(orders, skus, seed, missing_share)
    if dataset is not None:
        source = _dataset_orders(dataset)
        start = start or (
            source[0].moment.replace(hour=0, minute=0, second=0, microsecond=0)
            if source
            else DEFAULT_START
        )
        last = max(
            [o.moment for o in source]
            + [m for o in source for m, _lines in o.refunds]
            + [start]
        )
        end = last + timedelta(seconds=1)
        orders_iter = iter(source)
    else:
        start = start or DEFAULT_START
        end = start + PERIOD
        orders_iter = _internal_orders(
            orders, skus, rng, start, end - start - timedelta(days=1)
        )
    sid = settlement_id or f"{12_000_000_000 + seed * 7_919 % 10**9:011d}"
    stats = GeneratedSettlement(sid, "EUR" if eu_decimal else "USD")
    encoding = "cp1252" if cp1252 else "utf-8"
    newline = "\r\n" if crlf else "\n"
    with tempfile.TemporaryFile() as body:
        em = _Emitter(
            body, stats, eu=eu_decimal, encoding=encoding, newline=newline, rng=rng
        )
        _write_body(em, orders_iter, start, end, rng, eu_decimal or cp1252)
        em.flush()
        deposit = end + timedelta(days=2)
        header = "\t".join(AMAZON_V2_COLUMNS)
        summary = "\t".join(
            [
                sid,
                em.iso(start),
                em.iso(end),
                em.iso(deposit),
                em.money(stats.total_cents),
                stats.currency,
            ]
            + [""] * (len(AMAZON_V2_COLUMNS) - 6)
        )
        head = (header + newline + summary + newline).encode(encoding)
        if bom:
            head = "\ufeff".encode() + head
        body.seek(0)
        if isinstance(out, (str, bytes)) or hasattr(out, "__fspath__"):
            with open(out, "wb") as handle:
                handle.write(head)
                shutil.copyfileobj(body, handle, 1 << 20)
        else:
            out.write(head)
            shutil.copyfileobj(body, out, 1 << 20)
    return stats


def _write_body(em, orders_iter, start, end, rng, accented):
    em.account_row(
        start,
        "other-transaction",
        "other-transaction",
        "Previous Reserve Amount Balance",
        rng.randrange(50_000, 500_000),
    )
    pending = []
    count = 0
    for order in orders_iter:
        em.order(order)
        count += 1
        for moment, lines in order.refunds:
            pending.append((moment, order, lines))
        if count % 50 == 0 and pending:
            ripe = [p for p in pending if p[0] <= order.moment]
            if ripe:
                pending = [p for p in pending if p[0] > order.moment]
                for moment, refunded, lines in ripe:
                    em.refund(refunded, moment, lines)
        if count % ORDERS_PER_REIMBURSEMENT == 0:
            _reimbursement(em, order, rng)
        if count % ORDERS_PER_AD_CHARGE == 0:
            _advertising(em, order.moment, rng)
    for moment, refunded, lines in sorted(pending, key=lambda p: p[0]):
        em.refund(refunded, moment, lines)
    closing = end - timedelta(hours=1)
    # Small files still show every kind of row.
    if count < ORDERS_PER_REIMBURSEMENT and count:
        _reimbursement(em, order, rng)
    if count < ORDERS_PER_AD_CHARGE:
        _advertising(em, closing, rng)
    storage = -max(500, count * rng.randrange(2, 6))
    em.account_row(
        closing, "other-transaction", "other-transaction", "Storage Fee", storage
    )
    em.account_row(
        closing,
        "other-transaction",
        "other-transaction",
        "StorageRenewalBilling",
        -rng.randrange(100, 5_000),
    )
    em.account_row(
        closing, "other-transaction", "other-transaction", "Subscription Fee", -3999
    )
    if accented:
        em.account_row(
            closing,
            "other-transaction",
            "other-transaction",
            "Régularisation de frais",
            rng.randrange(100, 1_000),
        )
    em.account_row(
        closing,
        "other-transaction",
        "other-transaction",
        "Current Reserve Amount",
        -rng.randrange(50_000, 500_000),
    )


def _advertising(em, moment, rng):
    em.account_row(
        moment,
        "ServiceFee",
        "Cost of Advertising",
        "TransactionTotalAmount",
        -rng.randrange(5_000, 200_000),
    )


def _reimbursement(em, order, rng):
    item = order.items[0]
    qty = rng.randint(1, 3)
    if rng.random() < 0.2:
        description, cents = "REVERSAL_REIMBURSEMENT", -item.unit_cents * qty * 6 // 10
    else:
        description = rng.choice(
            ("WAREHOUSE_DAMAGE", "WAREHOUSE_LOST", "CS_ERROR_ITEMS")
        )
        cents = item.unit_cents * qty * 6 // 10
    em.account_row(
        order.moment,
        "other-transaction",
        "FBA Inventory Reimbursement",
        description,
        cents,
        item.sku,
        str(qty),
    )
    em.stats.reimbursements += 1


# --- command line ------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.settlement_generator",
        description="Write a realistic Amazon Settlement V2 flat file or "
        "Walmart reconciliation report.",
    )
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--settlement-id")
    parser.add_argument(
        "--match-sandbox",
        action="store_true",
        help="take orders, SKUs and returns from the Goflow sandbox data set "
        "built from --orders, --skus, --seed and --missing-share",
    )
    parser.add_argument(
        "--missing-share",
        type=float,
        default=0.1,
        help="the sandbox's --missing-share (with --match-sandbox)",
    )
    parser.add_argument(
        "--data", help="a sandbox JSON data set (python -m tools.goflow_sandbox --data)"
    )
    parser.add_argument("--out", default="-", help="file to write ('-': stdout)")
    parser.add_argument("--crlf", action="store_true", help="CRLF line ends")
    parser.add_argument("--bom", action="store_true", help="UTF-8 byte order mark")
    parser.add_argument(
        "--eu-decimal",
        action="store_true",
        help="decimal commas and dd.mm.yyyy dates (Amazon EU), EUR",
    )
    parser.add_argument("--cp1252", action="store_true", help="Windows-1252 text")
    parser.add_argument(
        "--marketplace",
        choices=("amazon", "walmart"),
        default="amazon",
        help="amazon: a Settlement V2 flat file; walmart: a reconciliation "
        "report v1 (CSV)",
    )
    parser.add_argument(
        "--zip",
        action="store_true",
        help="with --marketplace walmart: the zip Walmart delivers, holding the CSV",
    )
    args = parser.parse_args(argv)
    if args.bom and args.cp1252:
        parser.error("--bom is for UTF-8 files only")
    out = sys.stdout.buffer if args.out == "-" else args.out
    if args.marketplace == "walmart":
        return _main_walmart(parser, args, out)
    if args.zip:
        parser.error("--zip is for --marketplace walmart")
    stats = write_settlement(
        out,
        orders=args.orders,
        seed=args.seed,
        skus=args.skus,
        settlement_id=args.settlement_id,
        match_sandbox=args.match_sandbox,
        missing_share=args.missing_share,
        dataset=_read_dataset(args.data) if args.data else None,
        crlf=args.crlf,
        bom=args.bom,
        eu_decimal=args.eu_decimal,
        cp1252=args.cp1252,
    )
    print(
        f"settlement {stats.settlement_id}: {stats.rows} rows, {stats.orders} orders, "
        f"{stats.refunds} refunds, total {stats.total} {stats.currency}",
        file=sys.stderr,
    )
    return 0


def _main_walmart(parser, args, out):
    # Imported here: the Walmart generator builds on this module.
    from tools.walmart_recon_generator import write_walmart_recon  # noqa: PLC0415

    unused = [
        flag
        for flag, value in (
            ("--settlement-id", args.settlement_id),
            ("--bom", args.bom),
            ("--eu-decimal", args.eu_decimal),
            ("--cp1252", args.cp1252),
        )
        if value
    ]
    if unused:
        parser.error(f"{', '.join(unused)}: not for --marketplace walmart")
    stats = write_walmart_recon(
        out,
        orders=args.orders,
        seed=args.seed,
        skus=args.skus,
        match_sandbox=args.match_sandbox,
        missing_share=args.missing_share,
        dataset=_read_dataset(args.data) if args.data else None,
        zip_archive=args.zip,
        crlf=args.crlf,
    )
    print(
        f"Walmart payment {stats.settlement_id}: {stats.rows} rows, {stats.orders} "
        f"orders, {stats.refunds} refunds, total {stats.total} {stats.currency}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
