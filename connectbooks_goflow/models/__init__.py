from . import goflow_connection
from . import connectbooks_store
from . import connectbooks_amount_mapping
from . import connectbooks_settlement
from . import connectbooks_settlement_line
from . import goflow_cost_line
from . import account_move
from . import account_move_line
