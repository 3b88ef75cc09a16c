import { waitUntil } from "@odoo/hoot-dom";
import { registry } from "@web/core/registry";
import { inputFiles } from "@web/../tests/utils";
import { exportStatus, openSettlement } from "@connectbooks_goflow/../tests/tours/tour_helpers";

// Not a real host: tests/test_ui_tours.py answers it with the workbook the
// bookkeeper filled in (HttpCase.fetch_proxy).
const COSTS_FILE_URL = "https://files.connectbooks.test/costs.xlsx";
const COSTS_FILE_NAME = "costs.xlsx";

registry.category("web_tour.tours").add("connectbooks_goflow_cost_workbook_tour", {
    url: "/odoo",
    steps: () => [
        ...openSettlement(),
        exportStatus("Item missing cost (3)"),
        {
            content: "Download the missing costs as a workbook",
            trigger: '.o_statusbar_buttons button:contains("Download Costs (Excel)")',
            run: "click",
        },
        {
            content: "Missing costs only (the default)",
            trigger: '.modal .o_field_widget[name="scope"] input[data-value="missing"]:checked',
        },
        {
            trigger: '.modal-footer button[name="action_download"]',
            run: "click",
        },
        {
            content: "The workbook is downloaded",
            trigger: '.modal-footer button[name="action_download"]',
            async run() {
                await waitUntil(
                    () =>
                        performance
                            .getEntriesByType("resource")
                            .some((entry) => entry.name.endsWith("/report/download")),
                    { timeout: 10000, message: "Download Costs (Excel) downloaded nothing" }
                );
            },
        },
        {
            content: "Close the dialog",
            trigger: 'body:not(:has(.o_blockUI, .o_error_dialog)) .modal-footer button:contains("Close")',
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_form_view",
        },
        {
            content: "Upload the workbook, filled in",
            trigger: '.o_statusbar_buttons button:contains("Upload Costs (Excel)")',
            run: "click",
        },
        {
            content: "Choose the file",
            trigger: '.modal .o_field_widget[name="file"]',
            async run() {
                const response = await fetch(COSTS_FILE_URL);
                if (!response.ok) {
                    throw new Error(`Cannot get the workbook: ${response.status}`);
                }
                const file = new File([await response.blob()], COSTS_FILE_NAME, {
                    type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                });
                await inputFiles('.modal .o_field_widget[name="file"] input[type="file"]', [
                    file,
                ]);
            },
        },
        {
            content: "The file is attached",
            trigger: `.modal .o_field_widget[name="file"] input.o_input:value("${COSTS_FILE_NAME}")`,
        },
        {
            trigger: '.modal-footer button[name="action_upload"]',
            run: "click",
        },
        {
            content: "Three costs saved",
            trigger: '.o_notification:contains("3 cost(s) saved.")',
        },
        exportStatus("Ready"),
    ],
});
