from . import cogs_xlsx
from . import cost_workbook_xlsx
