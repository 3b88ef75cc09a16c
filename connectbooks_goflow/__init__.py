# Odoo loads this package as ``odoo.addons.connectbooks_goflow``; anywhere else
# (plain pytest, the benchmarks, the sandbox) only the pure ``core`` package is
# used, so the ORM layer is registered only when Odoo is the importer.
if __name__.startswith("odoo.addons."):
    from . import models
    from . import wizards
    from . import report
