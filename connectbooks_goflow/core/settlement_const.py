"""Vocabularies of the settlement files: column names, transaction kinds.

Sources, cited per block below:

* [AMZ-attrs] Amazon SP-API "Settlement reports attributes"
  https://developer-docs.amazon.com/sp-api/docs/settlement-reports-attributes
* [AMZ-deprec] Amazon SP-API changelog, deprecation of the V1 / XML settlement reports
  (V2 properties: quantities on all rows, local number format, two posted-date formats)
* [AMZ-reporttypes] Amazon SP-API "Report type values: settlement"
  https://developer-docs.amazon.com/sp-api/docs/report-type-values-settlement
* [AMZ-removal] Amazon SP-API changelog, removal of the XML and Flat File (V1)
  settlement reports moved to 11 Nov 2026; the V1 -> V2 field mapping
  https://developer-docs.amazon.com/sp-api/changelog/update-removal-of-xml-settlement-report-and-flat-file-settlement-report-date-changed-to-november-11-2026
* [CN-list] https://www.iamyourfather.cn/53 (a glossary of observed values),
  [WIMOOR] https://github.com/wimoor-erp/wimoor, [MAP-table], [PARSER-py],
  [PARSER-ts] (public mapping tables and parsers), [OA-skill]
  https://openaccountants.com/skills/amazon-seller-integration: observed
  transaction-type / amount-type / amount-description values.
* [WM-learn] Walmart Marketplace Learn, payment report overview; [WM-header]: public
  fixtures of Walmart's reconciliation report.
* [WM-recon] Walmart Marketplace developer docs, "Recon Report" (v1) and "Recon
  Report JSON" (its field names, the PaymentSummary row)
  https://developer.walmart.com/us-marketplace/docs/recon-report
  https://developer.walmart.com/us-marketplace/docs/recon-report-json
* [WM-legacy] Walmart's legacy (v0) recon report: SALE / REFUNDED / ADJMNT.
* [REAL-V2], [REAL-V1], [REAL-XLS], [REAL-WM]: genuine settlement files published
  by sellers (an Amazon.com V2 file of 2017, Amazon.ca Flat File V1 files of 2025,
  the same V2 file re-saved by Excel, a Walmart reconciliation report v1 of
  2026), checked by ``tests/test_settlement_real_files.py``.

Every vocabulary is compared lower-cased: casing differs between sources
(``other-transaction`` vs ``Other-Transaction``) [PARSER-py].
"""

# --- Layouts ---------------------------------------------------------------

LAYOUT_AUTO = "auto"
LAYOUT_AMAZON_V2 = "amazon_v2"
LAYOUT_GENERIC_CSV = "generic_csv"
LAYOUT_WALMART_RECON_V1 = "walmart_recon_v1"
LAYOUTS = (
    LAYOUT_AUTO,
    LAYOUT_AMAZON_V2,
    LAYOUT_GENERIC_CSV,
    LAYOUT_WALMART_RECON_V1,
)

# --- Kinds of row (connectbooks.settlement.line.kind) -----------------------

KIND_ORDER = "order"
KIND_REFUND = "refund"
KIND_ADJUSTMENT = "adjustment"
KIND_FEE = "fee"
KIND_RESERVE = "reserve"
KIND_OTHER = "other"
KINDS = (KIND_ORDER, KIND_REFUND, KIND_ADJUSTMENT, KIND_FEE, KIND_RESERVE, KIND_OTHER)

# --- Columns ----------------------------------------------------------------
# Canonical field names are the Amazon V2 header names [AMZ-attrs] with "-"
# turned into "_". A header cell is normalised the same way (lower case,
# "-" and " " -> "_"), so "settlement-id" (V2), "settlement_id" (generic CSV)
# and "Settlement ID" all name the same field.

F_SETTLEMENT_ID = "settlement_id"
F_START = "settlement_start_date"
F_END = "settlement_end_date"
F_DEPOSIT = "deposit_date"
F_TOTAL = "total_amount"
F_CURRENCY = "currency"
F_TRANSACTION_TYPE = "transaction_type"
F_ORDER_ID = "order_id"
F_MERCHANT_ORDER_ID = "merchant_order_id"
F_ADJUSTMENT_ID = "adjustment_id"
F_SHIPMENT_ID = "shipment_id"
F_MARKETPLACE = "marketplace_name"
F_AMOUNT_TYPE = "amount_type"
F_AMOUNT_DESCRIPTION = "amount_description"
F_AMOUNT = "amount"
F_FULFILLMENT_ID = "fulfillment_id"
F_POSTED_DATE = "posted_date"
F_POSTED_DATE_TIME = "posted_date_time"
F_ORDER_ITEM_CODE = "order_item_code"
F_MERCHANT_ORDER_ITEM_ID = "merchant_order_item_id"
F_MERCHANT_ADJUSTMENT_ITEM_ID = "merchant_adjustment_item_id"
F_SKU = "sku"
F_QUANTITY = "quantity_purchased"
F_PROMOTION_ID = "promotion_id"

# The 23 V2 columns in file order [AMZ-attrs], then ``promotion-id`` which real
# files carry but Amazon's list omits [CN-list] [OA-skill] (optional).
AMAZON_V2_COLUMNS = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
)

# Fields read by the parser, in the order of the internal row tuple.
FIELDS = tuple(name.replace("-", "_") for name in AMAZON_V2_COLUMNS)

# Generic CSV accepts a shorter name for the quantity (docs/generic_csv.md).
HEADER_ALIASES = {
    "quantity": F_QUANTITY,
    "qty": F_QUANTITY,
}

# A file must name these columns; the others may be absent (public samples
# omit some [APIFY-sample]). Without order id, adjustment id, SKU and
# quantity no cost could be computed, so the file is refused rather than
# imported with silently missing COGS.
REQUIRED_FIELDS = (
    F_SETTLEMENT_ID,
    F_DEPOSIT,
    F_TOTAL,
    F_CURRENCY,
    F_TRANSACTION_TYPE,
    F_ORDER_ID,
    F_ADJUSTMENT_ID,
    F_AMOUNT_TYPE,
    F_AMOUNT_DESCRIPTION,
    F_AMOUNT,
    F_SKU,
    F_QUANTITY,
)
# ... and at least one of these [AMZ-deprec]: short date and "... UTC" form.
POSTED_DATE_FIELDS = (F_POSTED_DATE, F_POSTED_DATE_TIME)

# Fields holding the settlement summary (first row of a V2 file [OA-skill]).
SUMMARY_FIELDS = (F_SETTLEMENT_ID, F_START, F_END, F_DEPOSIT, F_TOTAL, F_CURRENCY)
DATE_FIELDS = (F_START, F_END, F_DEPOSIT, F_POSTED_DATE, F_POSTED_DATE_TIME)

# --- Transaction type -> kind ----------------------------------------------
# Order-level types [CN-list] [PARSER-ts] [EM-code]; Walmart recon names
# (Sale, REFUNDED, ADJMNT, Reserve, Release Reserve) [WM-learn] [WM-legacy] so
# a converted recon file keeps its wording.
ORDER_TRANSACTION_TYPES = frozenset({"order", "order_retrocharge", "sale"})
REFUND_TRANSACTION_TYPES = frozenset(
    {
        "refund",
        "chargeback refund",
        "a-to-z guarantee refund",
        "refund_retrocharge",
        "refunded",
    }
)
# Retrocharges adjust tax on an earlier order or refund; no goods move, so
# they never need a cost (Order_Retrocharge, Refund_Retrocharge [CN-list]).
NO_GOODS_TRANSACTION_TYPES = frozenset({"order_retrocharge", "refund_retrocharge"})

# The row that prices an order item: each amount group of an item has one, with
# the group's own quantity. A genuine Amazon.com V2 file splits one order item
# of one shipment into two or three such groups (Principal 10.99 with quantity
# 1, then 21.98 with quantity 2: 3 units) [REAL-V2], so a second price row of
# an item opens a new group whose quantity counts too.
# (amount-type, amount-description), lower-cased [AMZ-attrs].
ITEM_PRICE_AMOUNT = ("itemprice", "principal")

# Goods leave (or come back to) stock without an order: FBA inventory
# reimbursements [MAP-table] [CB-fifo], liquidations [CN-list], Walmart
# adjustments [WM-legacy].
ADJUSTMENT_TRANSACTION_TYPES = frozenset(
    {"liquidations", "liquidations adjustments", "adjustment", "adjmnt"}
)
ADJUSTMENT_AMOUNT_TYPES = frozenset({"fba inventory reimbursement"})
ADJUSTMENT_DESCRIPTIONS = frozenset(
    {
        # FBA Inventory Reimbursement descriptions [MAP-table] [WIMOOR]
        "warehouse_damage",
        "warehouse_lost",
        "warehouse_lost_manual",
        "warehouse_damage_exception",
        "reversal_reimbursement",
        "cs_error_items",
        "free_replacement_refund_items",
        "missing_from_inbound",
        "missing_from_inbound_clawback",
        "re_evaluation",
    }
)

# Reserve held / released: balance sheet, not P&L [WIMOOR] [PARSER-py].
RESERVE_TRANSACTION_TYPES = frozenset({"reserve", "release reserve"})
RESERVE_DESCRIPTIONS = frozenset(
    {"current reserve amount", "previous reserve amount balance"}
)

# Fees charged at account level [CN-list] [PARSER-ts] [MAP-table].
FEE_TRANSACTION_TYPES = frozenset(
    {
        "servicefee",
        "vine enrollment fee",
        "lightning deal fee",
        "couponredemptionfee",
        "sellerreviewenrollmentpayment",
        "fee adjustment",
        "grade and resell fees",
        "fbafees",
    }
)
FEE_AMOUNT_TYPES = frozenset(
    {
        "cost of advertising",
        "couponredemptionfee",
        "grade and resell charge",
        "item fee adjustment",
        "lightningdealfee",
        "refund for advertiser",
        "review enrollment fee",
        "vine enrollment fee",
        "manual processing fee reimbursement",
        "capacity reservation fee",
        "amazon warehousing & distribution (awd)",
        "inbound defect fee",
    }
)
# ``other-transaction`` descriptions that are fees [MAP-table] [WIMOOR].
FEE_DESCRIPTIONS = frozenset(
    {
        "storage fee",
        "fba long-term storage fee",
        "fba long-term storage",
        "storagerenewalbilling",
        "subscription fee",
        "disposalcomplete",
        "removalcomplete",
        "fbainboundtransportationfee",
        "fba inbound placement service fee",
        "shipping label purchase",
        "shipping label purchase for return",
        "nonsubscriptionfeeadj",
        "transactiontotalamount",
    }
)

# --- Files of the wrong kind ---------------------------------------------------

# Columns only Amazon's settlement Flat File V1 has (36 columns; still produced
# in 2025 [REAL-V1]): V2 condensed them into amount-type, amount-description
# and amount [AMZ-reporttypes] [AMZ-removal]. Normalised like any header cell.
AMAZON_V1_COLUMNS = frozenset(
    {
        "shipment_fee_type",
        "shipment_fee_amount",
        "order_fee_type",
        "order_fee_amount",
        "price_type",
        "price_amount",
        "item_related_fee_type",
        "item_related_fee_amount",
        "misc_fee_amount",
        "other_fee_amount",
        "other_fee_reason_description",
        "direct_payment_type",
        "direct_payment_amount",
        "other_amount",
    }
)
# Walmart's reconciliation report as Walmart delivers it (columns normalised
# like any header cell) [WM-header] [REAL-WM]: a header with these and no
# settlement id is read by ``walmart_recon`` (layout walmart_recon_v1).
WALMART_RECON_COLUMNS = frozenset(
    {"period_start_date", "total_payable", "transaction_key", "partner_item_id"}
)
# What a spreadsheet writes back when it saves a settlement it opened
# [REAL-XLS]: long ids as numbers in scientific notation ("7.82115E+12", the
# digits are gone) and dates in the locale's short form ("2/25/17"). Amazon
# writes neither: ids are digits or letters, dates ISO or dd.mm.yyyy.
SPREADSHEET_ID_PATTERN = r"\d(?:[.,]\d+)?E\+\d+"
SPREADSHEET_DATE_PATTERN = r"\d{1,2}/\d{1,2}/\d{2}(?:\d{2})?(?:\s.*)?"
# Rows read ahead and checked for a spreadsheet's damage before the import
# writes anything (the rest are checked as they are read).
SPREADSHEET_CHECK_ROWS = 50
# Columns whose values are identifiers, checked for scientific notation.
ID_FIELDS = (
    F_SETTLEMENT_ID,
    F_ORDER_ID,
    F_MERCHANT_ORDER_ID,
    F_ADJUSTMENT_ID,
    F_ORDER_ITEM_CODE,
    F_MERCHANT_ORDER_ITEM_ID,
    F_MERCHANT_ADJUSTMENT_ITEM_ID,
)

# --- Walmart reconciliation report v1 ---------------------------------------
# The CSV Walmart's Payments API (``reconFile?reportVersion=v1``) and Seller
# Center deliver, in a zip holding that one file [WM-recon] [REAL-WM]:
#   line 1  the header (43 columns in 2026, read by name; more may come);
#   line 2  "Number of Lines in file N": N counts the lines after it;
#   line 3  the PaymentSummary row: period, Total Payable, currency, posted
#           date, payment description (shorter than the header: 34 fields);
#   then one row per amount, amounts summing to Total Payable.
# Dates are month first (07/16/2026), a date without a time.

WALMART_COLUMNS = (
    "Period Start Date",
    "Period End Date",
    "Total Payable",
    "Currency",
    "Transaction Key",
    "Transaction Posted Timestamp",
    "Transaction Type",
    "Transaction Description",
    "Customer Order #",
    "Customer Order line #",
    "Purchase Order #",
    "Purchase Order line #",
    "Amount",
    "Amount Type",
    "Ship Qty",
    "Commission Rate",
    "Base Commission Rate",
    "Transaction Reason Description",
    "Partner Item Id",
    "Partner GTIN",
    "Partner Item Name",
    "Product Tax Code",
    "Ship to State",
    "Ship to City",
    "Ship to Zipcode",
    "Contract Category",
    "Product Type",
    "Commission Rule",
    "Shipping Method",
    "Fulfillment Type",
    "Fulfillment Details",
    "Original Commission",
    "Commission Incentive Program",
    "Commission Saving",
    "Customer Promo Type",
    "Total Walmart Funded Savings Program",
    "Campaign Id",
    "Item Condition",
    "Original charge",
    "Charge Savings",
    "Incentive Program Name",
    "Ship to country",
    "Store Id",
)
# The columns the reader uses, by their header names, in the order of its
# internal row tuple; all but the fulfillment type are required.
WALMART_FIELDS = (
    "Period Start Date",
    "Period End Date",
    "Total Payable",
    "Currency",
    "Transaction Key",
    "Transaction Posted Timestamp",
    "Transaction Type",
    "Transaction Description",
    "Customer Order #",
    "Customer Order line #",
    "Purchase Order #",
    "Purchase Order line #",
    "Amount",
    "Amount Type",
    "Ship Qty",
    "Partner Item Id",
    "Fulfillment Type",
)
WALMART_OPTIONAL_FIELDS = frozenset({"Fulfillment Type"})
# Line 2 of the file [REAL-WM]; compared lower-cased.
WALMART_LINE_COUNT_PREFIX = "number of lines in file"
WALMART_MARKETPLACE_NAME = "Walmart.com"
# The settlement id of a Walmart payment. The report carries no payment or
# settlement number: a payment is its period (start and end date), which
# every file of it states the same way, uploaded or fetched
# [WM-recon] [REAL-WM]; the date the API lists the report under is not in the
# file. One cycle has one period, so (store, period) is unique.
WALMART_SETTLEMENT_ID_FORMAT = "{start:%Y%m%d}-{end:%Y%m%d}"

# Which Walmart number is the order id Goflow knows the order by: the
# customer order number (what the buyer sees; the default) or the purchase
# order number (one per shipping node of a customer order). The other one
# becomes the merchant order id. A store setting, passed to the reader.
WALMART_ORDER_CUSTOMER = "customer_order"
WALMART_ORDER_PURCHASE = "purchase_order"
WALMART_ORDER_NUMBERS = (WALMART_ORDER_CUSTOMER, WALMART_ORDER_PURCHASE)

# Transaction Type values, lower-cased [WM-recon] [WM-learn] [REAL-WM]
# (v1: Sale, Refund, Adjustment, Service Fee, PaymentSummary; one real row has
# none) and the legacy v0 spellings [WM-legacy].
WALMART_SUMMARY_TYPE = "paymentsummary"
WALMART_SALE_TYPES = frozenset({"sale"})
WALMART_REFUND_TYPES = frozenset({"refund", "refunded"})
WALMART_ADJUSTMENT_TYPES = frozenset({"adjustment", "adjmnt"})
WALMART_FEE_TYPES = frozenset({"service fee"})
WALMART_RESERVE_TYPES = frozenset({"reserve", "release reserve"})
# Amount Type values, lower-cased [WM-recon] [WM-learn] [REAL-WM].
WALMART_AMOUNT_TYPES = frozenset(
    {
        "product price",
        "product tax",
        "product tax withheld",
        "shipping price",
        "shipping tax",
        "shipping tax withheld",
        "gift wrap price",
        "gift wrap tax",
        "commission on product",
        "commission on shipping",
        "commission on gift wrap",
        "promo code",
        "total walmart funded savings",
        "other tax (fees)",
        "fee/reimbursement",
        "wfs inventory fee/reimbursement",
        # the reserve held or released (Reserve / Release Reserve rows); the
        # name of its amount type is not confirmed by a real file
        "reserve",
    }
)
# The rows that refund the goods themselves (Amazon's ItemPrice Principal,
# Shipping, GiftWrap): a refund with one of them brings the goods back.
WALMART_GOODS_AMOUNT_TYPES = frozenset(
    {"product price", "shipping price", "gift wrap price"}
)
# Transaction Description of Walmart Fulfillment Services (WFS) charges: fees,
# whatever their Transaction Type (Adjustment, Service Fee or none)
# [REAL-WM] [WM-learn]. A description starting with "WFS " that is not an
# inventory movement below is a fee too.
WALMART_FEE_DESCRIPTION_PREFIX = "wfs "
WALMART_FEE_DESCRIPTIONS = frozenset(
    {
        "wfs fulfillment fee",
        "wfs return processing fee",
        "wfs returned item disposal fee",
        "wfs storagefee",
        "wfs rc_inventorydisposalfee",
        "wfs inventorydisposalfee",
        "wfs inboundtransportationfee",
        "wfs prepservicefee",
    }
)
# WFS inventory lost, damaged or found in Walmart's warehouse: goods leave or
# come back to stock (Amazon's FBA inventory reimbursements).
WALMART_INVENTORY_DESCRIPTIONS = frozenset(
    {
        "wfs lostinventory",
        "wfs damageinwarehouse",
        "wfs foundinventory",
        "wfs lostinventoryreimbursement",
        "wfs damagedinventoryreimbursement",
    }
)

# --- Number and date formats -------------------------------------------------

# Amazon writes amounts "in local number format, e.g. 95,00" [AMZ-deprec].
MAX_AMOUNT_DIGITS = 18  # digits before the separator; guards against junk
# Date forms seen in V2 files [AMZ-attrs] [AMZ-deprec] [OA-skill]:
#   2024-01-02T03:04:05+00:00   2024-01-02 03:04:05 UTC   02.01.2024 03:04:05 UTC
#   02.01.2024                  2024-01-02
UTC_SUFFIXES = (" UTC", " GMT", "Z")

# --- Error reporting -----------------------------------------------------------

# Guards against files that are not settlements at all. A settlement line is
# a few hundred characters; a longer one is a binary or damaged file, and no
# value can then exceed the csv module's field limit (131,072 characters).
MAX_LINE_CHARS = 65_536
# Units of one item on one row; also keeps the stored integer in range.
MAX_QUANTITY = 1_000_000
# Dates a settlement can have (also keeps time zone conversions in range).
MIN_YEAR = 1990
MAX_YEAR = 2200

MAX_LISTED_ISSUES = 50  # str(SettlementFileError) lists this many
MAX_KEPT_ISSUES = 1000  # parsing stops once this many errors were collected
SNIFF_BYTES = 64 * 1024
READ_BLOCK_BYTES = 1024 * 1024
