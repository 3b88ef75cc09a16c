from collections import defaultdict

from odoo import models

from ..core.cost_workbook import WORKBOOK_OPTIONS, write_workbook

WIZARD = "goflow.cost.download.wizard"


class CostWorkbookXlsx(models.AbstractModel):
    """Download Costs (Excel): the workbook of a download wizard
    (docs/architecture.md, "The costs workbook").

    The rows are read in one SQL query, the pre-fills computed per SKU as the
    resolve wizard does, the product and settlement names read once each;
    :func:`~..core.cost_workbook.write_workbook` writes the cells.
    """

    _name = "report.connectbooks_goflow.cost_workbook_xlsx"
    _inherit = "report.report_xlsx.abstract"
    _description = "Costs Workbook (XLSX)"

    def _get_objs_for_report(self, docids, data):
        # The report is bound to the wizard, whatever the active model says.
        return self.env[WIZARD].browse(docids)

    def get_workbook_options(self):
        return dict(WORKBOOK_OPTIONS)

    def generate_xlsx_report(self, workbook, data, objs):
        wizard = objs.filtered(lambda w: w._name == WIZARD)
        wizard.ensure_one()
        # a transient record is its creator's: another user's is an AccessError
        wizard.check_access("read")
        CostLine = self.env["goflow.cost.line"]
        write_workbook(
            workbook,
            self._workbook_rows(wizard._workbook_raw_rows()),
            CostLine._goflow_workbook_secret(),
            labels=self._workbook_labels(),
        )

    def _workbook_rows(self, raw):
        """Rows in the writer's ``ROW_FIELDS`` order, with their pre-fills."""
        CostLine = self.env["goflow.cost.line"]
        connections = self.env["goflow.connection"]
        keys_by_connection = defaultdict(set)
        for row in raw:
            key = (row[2], row[3], row[9] or "")
            keys_by_connection[connections.browse(row[4])].add(key)
        prefills, _problems, window = CostLine._goflow_prefills(keys_by_connection)
        basis_texts = {}
        for _value, basis, _text, count in prefills.values():
            if (basis, count) not in basis_texts:
                basis_texts[basis, count] = CostLine._goflow_basis_text(
                    basis, count, window
                )
        settlements = {
            settlement.id: settlement.display_name
            for settlement in self.env["connectbooks.settlement"].browse(
                {row[1] for row in raw}
            )
        }
        # Names of the products the lines point to; the user reads the lines,
        # so their product names are not a secret (as in the COGS workbook).
        products = {
            product.id: product.display_name
            for product in self.env["product.product"]
            .sudo()
            .with_context(active_test=False)
            .browse({row[10] for row in raw if row[10]})
        }
        for (
            line_id,
            settlement_id,
            company_id,
            currency_id,
            _connection_id,
            posted_date,
            kind,
            order_ref,
            adjustment_ref,
            sku,
            product_id,
            quantity,
            reason,
            unit_cost,
            source,
            _state,
        ) in raw:
            if unit_cost is None:
                value, basis, _text, count = prefills[
                    company_id, currency_id, sku or ""
                ]
                basis_text = basis_texts[basis, count]
            else:
                value = basis_text = None
            yield (
                line_id,
                settlements[settlement_id],
                posted_date,
                kind,
                order_ref,
                adjustment_ref,
                sku,
                products.get(product_id, "") if product_id else "",
                quantity,
                reason,
                value,
                basis_text,
                unit_cost,
                source,
            )

    def _workbook_labels(self):
        """The writer's texts, translated (keys of ``DEFAULT_LABELS``)."""
        _ = self.env._
        CostLine = self.env["goflow.cost.line"]

        def selection(fname):
            return dict(CostLine._fields[fname]._description_selection(self.env))

        headers = {
            "key": _("Key"),
            "settlement": _("Settlement"),
            "posted_date": _("Posted Date"),
            "kind": _("Kind"),
            "order_ref": _("Order ID"),
            "adjustment_ref": _("Adjustment ID"),
            "sku": _("SKU"),
            "product": _("Product"),
            "quantity": _("Quantity"),
            "missing_reason": _("Why Missing"),
            "prefill_cost": _("Pre-filled Cost"),
            "prefill_basis": _("Pre-filled From"),
            "current_cost": _("Current Cost"),
            "source": _("Source"),
            "unit_cost": _("Unit Cost"),
            "use_prefill": _("Use Pre-filled"),
        }
        return {
            "sheet_costs": _("Costs"),
            "sheet_instructions": _("Instructions"),
            "yes": _("Yes"),
            "no": _("No"),
            "kind": selection("kind"),
            "reason": selection("missing_reason"),
            "source": selection("source"),
            "headers": headers,
            "validation_title": _("Unit Cost"),
            "validation_message": _(
                "A number, 0 or more. Leave it empty to leave the line as it is."
            ),
            "flag_message": _("Yes: save the pre-filled cost when Unit Cost is empty."),
            "instructions_title": _("How to fill in this workbook"),
            "instructions": (
                _(
                    "Each row of the Costs sheet is one cost line still missing "
                    "(or, if you asked for every line, one line of a draft "
                    "settlement)."
                ),
                _(
                    "Type the cost of one unit in the Unit Cost column. It is "
                    "saved as a manual cost, with your name and the time. A 0 "
                    "you type is saved as 0."
                ),
                _(
                    "To take the pre-filled cost instead, leave Unit Cost empty "
                    "and choose Yes in Use Pre-filled. It is saved as the "
                    "current average, as in the Resolve wizard."
                ),
                _("Rows left empty are not changed."),
                _(
                    "Do not add rows or change the hidden Key column: each row "
                    "is tied to its cost line, and a workbook whose keys were "
                    "changed is refused."
                ),
                _("Formulas are refused: type the numbers (or paste them as values)."),
                _(
                    "Upload the workbook with Upload Costs (Excel), in the "
                    "database you downloaded it from. If one row is wrong, "
                    "nothing is saved and every problem is listed with its row "
                    "and column."
                ),
                _(
                    "A line that got a cost meanwhile, or whose settlement was "
                    "posted, is skipped and listed as such."
                ),
            ),
        }
