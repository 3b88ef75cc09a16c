"""Walmart reconciliation files (report v1) the marketplace sandbox serves.

* :func:`write_sample_recon`: a small recon CSV of our own, laid out as
  Walmart writes them (the 43-column header, the ``Number of Lines in file``
  line, a short ``PaymentSummary`` row, then the transactions: sales,
  a refund, WFS fees and adjustments) whose amounts sum to its Total Payable;
* :func:`read_recon_summary`: the period, total and currency of a recon file,
  CSV or zip, from its first lines;
* :func:`zip_recon`: the zip Walmart's API delivers, the CSV copied into it in
  chunks (never whole in memory).
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from connectbooks_goflow.core.settlement_const import WALMART_COLUMNS

# The header of a v1 recon file, in Walmart's order: the reader's own list,
# as the settlement generator uses it.
COLUMNS = WALMART_COLUMNS
PREAMBLE = "Number of Lines in file"
PAYMENT_SUMMARY = "PaymentSummary"
# Walmart writes the summary row shorter than the header.
SUMMARY_FIELDS = 34
DATE_FORMAT = "%m/%d/%Y"
# Ours: a recon report is dated a few days after its period ends (the day
# the payment leaves), as the files sellers publish show.
REPORT_DELAY_DAYS = 3
SELLER_NAME = "Sandbox_Seller"
PARTNER_ID = "10000000001"
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class ReconSummary:
    """What the summary row of a recon file says."""

    period_start: date | None
    period_end: date | None
    total_payable: Decimal | None
    currency: str


def member_name(report_date):
    """The CSV's name in Walmart's zip: seller, partner id, date, version."""
    stamp = report_date.strftime("%m%d%Y")
    return f"{SELLER_NAME}_{PARTNER_ID}_MP_{stamp}_reconciliationreport_v1.csv"


def _day(text):
    try:
        return datetime.strptime(text.strip(), DATE_FORMAT).date()
    except (AttributeError, ValueError):
        return None


def _row(**values):
    """A 43-field transaction row from column names written with
    underscores (``Amount_Type``) or as they are."""
    by_name = {name.replace(" ", "_").replace("#", "no"): name for name in COLUMNS}
    row = dict.fromkeys(COLUMNS, "")
    for key, value in values.items():
        row[by_name.get(key, key)] = value
    return [row[name] for name in COLUMNS]


def _sale_rows(posted, order, line, po, item, price, qty, tax, rate):
    """The rows of one shipped order line: price, tax (withheld by Walmart
    as marketplace facilitator) and commission."""
    common = {
        "Transaction Key": f"{posted:%Y_%m_%d}_{order[-7:]}",
        "Transaction Posted Timestamp": posted.strftime(DATE_FORMAT),
        "Transaction Type": "Sale",
        "Transaction Description": "Purchase",
        "Customer Order #": order,
        "Customer Order line #": str(line),
        "Purchase Order #": po,
        "Purchase Order line #": str(line),
        "Ship Qty": str(qty),
        "Partner Item Id": item[0],
        "Partner GTIN": item[1],
        "Partner Item Name": item[2],
        "Product Tax Code": "2038710",
        "Ship to State": "TX",
        "Ship to City": "Austin",
        "Ship to Zipcode": "78701",
        "Contract Category": "Home",
        "Product Type": "Storage Boxes",
        "Shipping Method": "Marketplace value",
        "Fulfillment Type": "Walmart-fulfilled(WFS)",
        "Fulfillment Details": "Delivery",
        "Ship to country": "USA",
    }
    commission = -(price * rate / 100).quantize(Decimal("0.01"))
    return [
        _row(**common, Amount=f"{price:.2f}", Amount_Type="Product Price"),
        _row(**common, Amount=f"{tax:.2f}", Amount_Type="Product tax"),
        _row(**common, Amount=f"{-tax:.2f}", Amount_Type="Product tax withheld"),
        _row(
            **common,
            Amount=f"{commission:.2f}",
            Amount_Type="Commission on Product",
            Commission_Rate=f"{rate:.2f}",
            Base_Commission_Rate=f"{rate:.2f}",
            Original_Commission=f"{commission:.2f}",
            Commission_Saving="0.00",
        ),
    ]


def sample_rows(period_start, period_end):
    """Transactions of a small period: two sales, a refund, WFS fees and
    inventory adjustments (some carrying their own weekly period)."""
    items = [
        ("SBX-BIN-001", "00810000000011", "Stackable Storage Bin, 3 Pack"),
        ("SBX-HOOK-002", "00810000000028", "Adhesive Wall Hooks, 12 Count"),
    ]
    first = period_start + timedelta(days=2)
    second = period_start + timedelta(days=5)
    rows = []
    rows += _sale_rows(
        first,
        "2000000000101",
        1,
        "100000000000101",
        items[0],
        Decimal("24.99"),
        1,
        Decimal("2.06"),
        Decimal("15"),
    )
    rows += _sale_rows(
        second,
        "2000000000102",
        1,
        "100000000000102",
        items[1],
        Decimal("17.98"),
        2,
        Decimal("1.48"),
        Decimal("15"),
    )
    for when, order, po in (
        (first, "2000000000101", "100000000000101"),
        (second, "2000000000102", "100000000000102"),
    ):
        rows.append(
            _row(
                Transaction_Key=f"{when:%Y_%m_%d}_{order[-7:]}",
                Transaction_Posted_Timestamp=when.strftime(DATE_FORMAT),
                Transaction_Type="Adjustment",
                Transaction_Description="WFS Fulfillment fee",
                Customer_Order_no=order,
                Customer_Order_line_no="1",
                Purchase_Order_no=po,
                Purchase_Order_line_no="1",
                Amount="-3.45",
                Amount_Type="Fee/Reimbursement",
                Fulfillment_Type="Walmart-fulfilled(WFS)",
                Ship_to_country="USA",
            )
        )
    refunded = period_start + timedelta(days=8)
    refund = {
        "Transaction Key": f"{refunded:%Y_%m_%d}_0000101",
        "Transaction Posted Timestamp": refunded.strftime(DATE_FORMAT),
        "Transaction Type": "Refund",
        "Transaction Description": "Return Refund",
        "Customer Order #": "2000000000101",
        "Customer Order line #": "1",
        "Purchase Order #": "100000000000101",
        "Purchase Order line #": "1",
        "Ship Qty": "1",
        "Partner Item Id": items[0][0],
        "Partner GTIN": items[0][1],
        "Partner Item Name": items[0][2],
        "Fulfillment Type": "Walmart-fulfilled(WFS)",
        "Ship to country": "USA",
    }
    rows += [
        _row(**refund, Amount="-24.99", Amount_Type="Product Price"),
        _row(**refund, Amount="3.75", Amount_Type="Commission on Product"),
    ]
    week_end = period_start + timedelta(days=6)
    for description, amount, kind in (
        ("WFS StorageFee", "-4.12", "Service Fee"),
        ("WFS LostInventory", "6.26", "Adjustment"),
    ):
        rows.append(
            _row(
                Period_Start_Date=period_start.strftime(DATE_FORMAT),
                Period_End_Date=week_end.strftime(DATE_FORMAT),
                Transaction_Posted_Timestamp=week_end.strftime(DATE_FORMAT),
                Transaction_Type=kind,
                Transaction_Description=description,
                Amount=amount,
                Amount_Type="WFS Inventory Fee/Reimbursement",
            )
        )
    return rows


def write_sample_recon(
    path,
    period_start=None,
    period_end=None,
    *,
    currency="USD",
    rows=None,
    account="sandbox bank account",
):
    """Write a recon v1 CSV; its Total Payable is the sum of its amounts.

    :param period_start: first day (default: 14 days before ``period_end``)
    :param period_end: last day (default: a fixed day, 2026-07-24, so
        that every run writes the same file)
    :param rows: 43-field transaction rows (default: :func:`sample_rows`)
    :return: the :class:`ReconSummary` written
    """
    period_end = period_end or date(2026, 7, 24)
    period_start = period_start or period_end - timedelta(days=13)
    rows = sample_rows(period_start, period_end) if rows is None else list(rows)
    amount = COLUMNS.index("Amount")
    order = COLUMNS.index("Customer Order #")
    total = sum((Decimal(row[amount] or "0") for row in rows), Decimal("0"))
    summary = [
        period_start.strftime(DATE_FORMAT),
        period_end.strftime(DATE_FORMAT),
        f"{total:.2f}",
        currency,
        "",
        period_end.strftime(DATE_FORMAT),
        PAYMENT_SUMMARY,
        f"Deposited in {account}",
    ]
    summary += [""] * (SUMMARY_FIELDS - len(summary))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        # One field, padded with spaces, counting the rows that follow.
        handle.write(f"{PREAMBLE} {len(rows) + 1:<12d}\n")
        writer.writerow(summary)
        for row in rows:
            # Walmart quotes the empty first field of its order rows.
            if row[0] == "" and row[order]:
                handle.write('"",' + _csv_line(row[1:]))
            else:
                writer.writerow(row)
    return ReconSummary(period_start, period_end, total, currency)


def _csv_line(fields):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()


def _open_text(path):
    """The CSV of a recon file (plain or zipped) as text lines."""
    path = Path(path)
    with open(path, "rb") as probe:
        zipped = probe.read(4) == b"PK\x03\x04"
    if not zipped:
        return open(path, encoding="utf-8-sig", newline="")
    archive = zipfile.ZipFile(path)
    names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
    if len(names) != 1:
        archive.close()
        raise ValueError(f"{path} holds {len(names)} CSV files, not one")
    return io.TextIOWrapper(archive.open(names[0]), encoding="utf-8-sig", newline="")


def read_recon_summary(path):
    """The :class:`ReconSummary` of a recon file on disk (CSV or zip).

    Reads the header, the line count and the summary row only.

    :raise ValueError: when it is not a recon v1 file
    """
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if "Total Payable" not in header or "Transaction Type" not in header:
            raise ValueError(f"{path} is not a Walmart recon v1 file")
        for row in reader:
            if not row or row[0].strip().startswith(PREAMBLE):
                continue
            values = dict(zip(header, row, strict=False))
            if values.get("Transaction Type") != PAYMENT_SUMMARY:
                break
            total = (values.get("Total Payable") or "").strip()
            return ReconSummary(
                _day(values.get("Period Start Date")),
                _day(values.get("Period End Date")),
                Decimal(total) if total else None,
                (values.get("Currency") or "").strip(),
            )
    return ReconSummary(None, None, None, "")


def zip_recon(source, dest, report_date):
    """Write the zip Walmart delivers: one CSV named as Walmart names it.

    :param source: a recon CSV on disk
    :param dest: the zip to write
    :return: ``dest`` as a :class:`Path`
    """
    dest = Path(dest)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with (
            open(source, "rb") as plain,
            archive.open(member_name(report_date), "w") as packed,
        ):
            shutil.copyfileobj(plain, packed, COPY_CHUNK)
    return dest


def report_date_of(summary):
    """The date Walmart would list a file of this period under."""
    if summary.period_end is None:
        return None
    return summary.period_end + timedelta(days=REPORT_DELAY_DAYS)
