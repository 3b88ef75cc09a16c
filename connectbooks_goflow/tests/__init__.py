from . import test_security
from . import test_settlement_model
from . import test_settlement_import
from . import test_cost_sync
from . import test_journal_entries
from . import test_cogs_report
from . import test_resolve_wizard
from . import test_settlement_pnl
