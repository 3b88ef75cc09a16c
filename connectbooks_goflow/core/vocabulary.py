"""The keys the add-on stores in selection fields, with their English labels.

One place for each vocabulary: the Odoo fields build their selections from
these tuples, the rules in ``core/`` compare against the same constants, and
the COGS workbook prints the same labels (the Odoo layer passes translated
ones). A key is stored in the database: renaming one needs a migration.
"""

from . import settlement_const as _const

# --- What a cost line costs (goflow.cost.line.kind) --------------------------
# The same keys as the settlement rows they come from.
COST_ORDER = _const.KIND_ORDER
COST_REFUND = _const.KIND_REFUND
COST_ADJUSTMENT = _const.KIND_ADJUSTMENT
COST_KINDS = (
    (COST_ORDER, "Order"),
    (COST_REFUND, "Refund"),
    (COST_ADJUSTMENT, "Adjustment"),
)

# --- Kinds of settlement row (connectbooks.settlement.line.kind) -------------
LINE_KINDS = (
    *COST_KINDS,
    (_const.KIND_FEE, "Fee"),
    (_const.KIND_RESERVE, "Reserve"),
    (_const.KIND_OTHER, "Other"),
)

# --- Where a cost came from (goflow.cost.line.source) ------------------------
SOURCE_GOFLOW = "goflow"
SOURCE_MANUAL = "manual"  # typed by a person
SOURCE_AVERAGE = "average"  # a person accepted the pre-filled current average
SOURCE_ESTIMATE = "estimate"  # stood in for a missing cost at posting
COST_SOURCES = (
    (SOURCE_GOFLOW, "Goflow"),
    (SOURCE_MANUAL, "Manual"),
    (SOURCE_AVERAGE, "Current Average"),
    (SOURCE_ESTIMATE, "Estimate"),
)
# Set by a person: a sync never replaces them.
MANUAL_SOURCES = frozenset({SOURCE_MANUAL, SOURCE_AVERAGE})
# Costs the Odoo average of the pre-fill is made of (never estimates).
AVERAGE_SOURCES = (SOURCE_GOFLOW, SOURCE_MANUAL, SOURCE_AVERAGE)

# --- Status of a cost line (goflow.cost.line.state) --------------------------
STATE_MISSING = "missing"
STATE_COSTED = "costed"
COST_STATES = ((STATE_MISSING, "Missing"), (STATE_COSTED, "Costed"))

# --- Why a cost line has no cost (goflow.cost.line.missing_reason) -----------
REASON_NO_COST = "no_goflow_cost"
REASON_NOT_FOUND = "not_in_goflow"
REASON_BEFORE_START = "before_start"
REASON_NO_SKU = "no_sku"
REASON_NO_ORDER = "no_order"
MISSING_REASONS = (
    (REASON_NO_COST, "No cost in Goflow"),
    (REASON_NOT_FOUND, "Order not found in Goflow"),
    (REASON_BEFORE_START, "Before the cost sync start date"),
    (REASON_NO_SKU, "No SKU"),
    (REASON_NO_ORDER, "No order ID"),
)
# Reasons a sync does not revisit: nothing to ask Goflow.
STICKY_REASONS = frozenset({REASON_BEFORE_START, REASON_NO_ORDER})

# --- A settlement's costs (connectbooks.settlement.cost_status) --------------
COST_NOT_SYNCED = "not_synced"
COST_MISSING = "missing"
COST_COMPLETE = "complete"
COST_STATUSES = (
    (COST_NOT_SYNCED, "Not Synced"),
    (COST_MISSING, "Missing Costs"),
    (COST_COMPLETE, "Costs Complete"),
)

# --- A settlement's status (connectbooks.settlement.state) -------------------
SETTLEMENT_DRAFT = "draft"
SETTLEMENT_POSTED = "posted"
SETTLEMENT_CANCELLED = "cancelled"
SETTLEMENT_STATES = (
    (SETTLEMENT_DRAFT, "Draft"),
    (SETTLEMENT_POSTED, "Posted"),
    (SETTLEMENT_CANCELLED, "Cancelled"),
)

# --- Where a settlement came from (connectbooks.settlement.source) -----------
SETTLEMENT_SOURCE_UPLOAD = "upload"
SETTLEMENT_SOURCE_AMAZON = "amazon"
SETTLEMENT_SOURCE_WALMART = "walmart"
SETTLEMENT_SOURCES = (
    (SETTLEMENT_SOURCE_UPLOAD, "Upload"),
    (SETTLEMENT_SOURCE_AMAZON, "Amazon"),
    (SETTLEMENT_SOURCE_WALMART, "Walmart"),
)

# --- What a fetch did with a listed report (connectbooks.marketplace.report) -
REPORT_IMPORTED = "imported"  # a new settlement, imported from the report
REPORT_MATCHED = "matched"  # the settlement was already there, same total
REPORT_REISSUED = "reissued"  # same settlement id, another total: flagged
REPORT_FAILED = "failed"  # download or import failed: tried again
REPORT_STATES = (
    (REPORT_IMPORTED, "Imported"),
    (REPORT_MATCHED, "Already Imported"),
    (REPORT_REISSUED, "Reissued"),
    (REPORT_FAILED, "Failed"),
)
# Reports a fetch does not download again.
REPORT_HANDLED = frozenset({REPORT_IMPORTED, REPORT_MATCHED, REPORT_REISSUED})
