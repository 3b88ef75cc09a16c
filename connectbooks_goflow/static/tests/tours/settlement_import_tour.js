import { registry } from "@web/core/registry";
import { inputFiles } from "@web/../tests/utils";
import {
    SETTLEMENT_FILE_NAME,
    SETTLEMENT_FILE_URL,
    SETTLEMENT_NAME,
    exportStatus,
    openMarketplaceMenu,
} from "@connectbooks_goflow/../tests/tours/tour_helpers";

registry.category("web_tour.tours").add("connectbooks_goflow_import_tour", {
    url: "/odoo",
    steps: () => [
        ...openMarketplaceMenu("connectbooks_settlement_import_menu", "Open Import Settlement"),
        {
            content: "The company's only store is proposed",
            trigger: '.modal .o_field_widget[name="store_id"] input:value("Amazon US A")',
        },
        {
            content: "Attach the settlement file downloaded from Seller Central",
            trigger: ".modal .o_field_many2many_binary .o_attach",
            async run() {
                const response = await fetch(SETTLEMENT_FILE_URL);
                if (!response.ok) {
                    throw new Error(`Cannot get the settlement file: ${response.status}`);
                }
                const file = new File([await response.blob()], SETTLEMENT_FILE_NAME, {
                    type: "text/plain",
                });
                await inputFiles(".modal .o_field_many2many_binary .o_input_file", [file]);
            },
        },
        {
            content: "The file is uploaded",
            trigger: `.modal .o_attachment[title="${SETTLEMENT_FILE_NAME}"]:not(.o_attachment_uploading)`,
        },
        {
            content: "Import it",
            trigger: '.modal-footer button[name="action_import"]',
            run: "click",
        },
        {
            content: "The new settlement opens",
            trigger: `body:not(:has(.modal)) .o_breadcrumb .active:contains("${SETTLEMENT_NAME}")`,
        },
        {
            content: "Its 34 rows are there",
            trigger: '.oe_stat_button [name="line_count"]:contains("34")',
        },
        exportStatus("Item missing cost (8)"),
    ],
});
