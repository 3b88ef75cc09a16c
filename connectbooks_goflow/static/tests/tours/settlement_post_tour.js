import { waitUntil } from "@odoo/hoot-dom";
import { registry } from "@web/core/registry";
import { exportStatus, openSettlement } from "@connectbooks_goflow/../tests/tours/tour_helpers";

registry.category("web_tour.tours").add("connectbooks_goflow_post_tour", {
    url: "/odoo",
    steps: () => [
        ...openSettlement(),
        exportStatus("Item missing cost (1)"),
        {
            content: "Open the resolve wizard on the last missing cost",
            trigger: '.o_statusbar_buttons button:contains("Resolve")',
            run: "click",
        },
        {
            content: "Accept the pre-filled Goflow default cost of RED-MUG-12OZ",
            trigger:
                '.modal .o_field_widget[name="sku_ids"] .o_data_row:contains("RED-MUG-12OZ"):contains("Goflow default cost")',
        },
        {
            trigger: '.modal-footer button[name="action_resolve"]',
            run: "click",
        },
        exportStatus("Ready"),
        {
            content: "Post the settlement and its COGS",
            trigger: '.o_statusbar_buttons button.btn-primary[name="action_post"]',
            run: "click",
        },
        exportStatus("Posted"),
        {
            trigger: '.o_statusbar_status button.o_arrow_button_current:contains("Posted")',
        },
        {
            content: "Open the actions menu",
            trigger: ".o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            content: "Print the COGS workbook",
            trigger: '.o-dropdown--menu .o-dropdown-item:contains("COGS (Excel)")',
            run: "click",
        },
        {
            content: "The workbook is downloaded",
            trigger: ".o_form_view",
            async run() {
                await waitUntil(
                    () =>
                        performance
                            .getEntriesByType("resource")
                            .some((entry) => entry.name.endsWith("/report/download")),
                    { timeout: 10000, message: "Print > COGS (Excel) downloaded nothing" }
                );
            },
        },
        {
            content: "without error, and the form is still there",
            trigger:
                'body:not(:has(.o_blockUI, .o_error_dialog)) .o_form_view [name="export_status"]:contains("Posted")',
        },
    ],
});
