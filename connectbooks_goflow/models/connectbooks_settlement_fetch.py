from odoo import models


# One model, one file per concern (docs/architecture.md, "Layers").
class ConnectbooksSettlement(models.Model):
    """The Fetch Settlements button of the settlement list; the fetch itself
    is the store's (``connectbooks_store_fetch*.py``)."""

    _inherit = "connectbooks.settlement"  # pylint: disable=consider-merging-classes-inherited

    def action_fetch_settlements(self):
        """Fetch the settlements of every switched-on store of the user's
        companies from its marketplace. A list header button: the selected
        settlements, if any, do not matter."""
        return self.env["connectbooks.store"].action_fetch_all_settlements()
