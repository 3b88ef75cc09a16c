import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from odoo import models

from ..core.cogs_workbook import WORKBOOK_OPTIONS, write_workbook

_logger = logging.getLogger(__name__)

# Cost lines are fetched from the cursor in batches of this many rows, so a
# 150,000-line settlement is never held as Python objects all at once.
FETCH_BATCH_ROWS = 20_000


class CogsXlsx(models.AbstractModel):
    """Print → COGS (Excel) of one or many settlements (docs/architecture.md, "Layers").

    Reads each settlement with two SQL queries (its cost lines, streamed;
    its products and booked COGS) after checking the user may read it, and
    leaves rows and cells to :func:`~..core.cogs_workbook.write_workbook`.
    """

    _name = "report.connectbooks_goflow.cogs_xlsx"
    _inherit = "report.report_xlsx.abstract"
    _description = "COGS Workbook (XLSX)"

    def get_workbook_options(self):
        return dict(WORKBOOK_OPTIONS)

    def generate_xlsx_report(self, workbook, data, objs):
        settlements = objs.filtered(lambda s: s._name == "connectbooks.settlement")
        # SQL below bypasses the ORM: check the rights it would have checked.
        settlements.check_access("read")
        self.env["goflow.cost.line"].check_access("read")
        write_workbook(
            workbook,
            self._cogs_settlements_data(settlements),
            labels=self._cogs_labels(),
            tz=self._cogs_tz(),
        )

    def _cogs_settlements_data(self, settlements):
        """Settlement dicts for the writer, one at a time (a generator: the
        lines of the previous one have been written when the next is read).
        """
        CostLine = self.env["goflow.cost.line"]
        CostLine.flush_model()
        settlements.flush_recordset()
        for settlement in settlements:
            products, booked = self._cogs_products_and_booked(settlement)
            currency = settlement.currency_id
            yield {
                "name": settlement.display_name,
                "store": settlement.store_id.name,
                "settlement_ref": settlement.settlement_ref,
                "currency": currency.name,
                "decimals": currency.decimal_places,
                "period_start": settlement.period_start or None,
                "period_end": settlement.period_end or None,
                "deposit_date": settlement.deposit_date or None,
                "deposit": settlement.total_amount,
                "state": settlement.state,
                "posted_with_estimates": settlement.posted_with_estimates,
                "booked_cogs": booked if settlement.state == "posted" else None,
                "products": products,
                "lines": self._cogs_lines(settlement),
            }

    def _cogs_products_and_booked(self, settlement):
        product_ids, booked = self.env["goflow.cost.line"]._workbook_summary(settlement)
        # Names of the products the settlement's own cost lines point to; the
        # user reads the settlement, so its product names are not a secret.
        products = self.env["product.product"].sudo().browse(product_ids)
        names = {
            product.id: product.display_name
            for product in products.with_context(active_test=False)
        }
        return names, booked

    def _cogs_lines(self, settlement):
        """The settlement's cost lines in ``LINE_FIELDS`` order, streamed."""
        return self.env["goflow.cost.line"]._workbook_rows(settlement, FETCH_BATCH_ROWS)

    def _cogs_tz(self):
        name = self.env.context.get("tz") or self.env.user.tz or "UTC"
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            _logger.info("COGS workbook: unknown time zone %r, using UTC", name)
            return ZoneInfo("UTC")

    def _cogs_labels(self):
        """The writer's texts, translated (keys of ``DEFAULT_LABELS``)."""
        _ = self.env._
        CostLine = self.env["goflow.cost.line"]
        Settlement = self.env["connectbooks.settlement"]

        def selection(model, fname):
            return dict(model._fields[fname]._description_selection(self.env))

        states = selection(CostLine, "state")
        states["missing"] = _("Missing cost")
        return {
            "sheet_cogs": _("COGS"),
            "sheet_sku": _("By SKU"),
            "sheet_summary": _("Summary"),
            "total": _("Total"),
            "missing_cost": _("Missing cost"),
            "missing_total": _("%(count)s missing"),
            "yes": _("Yes"),
            "no": _("No"),
            "kind": selection(CostLine, "kind"),
            "source": selection(CostLine, "source"),
            "state": states,
            "settlement_state": selection(Settlement, "state"),
            "headers": {
                "settlement": _("Settlement"),
                "posted_date": _("Posted Date"),
                "kind": _("Kind"),
                "order_ref": _("Order ID"),
                "adjustment_ref": _("Adjustment ID"),
                "sku": _("SKU"),
                "product": _("Product"),
                "quantity": _("Quantity"),
                "unit_cost": _("Unit Cost"),
                "total_cost": _("Total Cost"),
                "source": _("Source"),
                "status": _("Status"),
                "synced_at": _("Last Goflow Sync"),
                "currency": _("Currency"),
                "lines": _("Cost Lines"),
                "missing": _("Missing Costs"),
                "missing_quantity": _("Units Without Cost"),
                "store": _("Store"),
                "settlement_ref": _("Settlement ID"),
                "period_start": _("Period Start"),
                "period_end": _("Period End"),
                "deposit_date": _("Deposit Date"),
                "deposit": _("Deposit"),
                "total_cogs": _("Total COGS"),
                "state": _("Status"),
                "posted_with_estimates": _("Posted With Estimates"),
                "booked_cogs": _("Booked COGS"),
            },
        }
