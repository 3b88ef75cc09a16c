from . import connectbooks_settlement_import_wizard
from . import goflow_resolve_cost_wizard_sku
from . import goflow_resolve_cost_wizard_line
from . import goflow_resolve_cost_wizard
from . import goflow_cost_download_wizard
from . import goflow_cost_upload_wizard
