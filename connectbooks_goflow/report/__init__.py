from . import cogs_xlsx
