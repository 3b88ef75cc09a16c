import { registry } from "@web/core/registry";
import { exportStatus, openSettlement } from "@connectbooks_goflow/../tests/tours/tour_helpers";

const SKU_ROWS = '.modal .o_field_widget[name="sku_ids"] .o_data_row';

registry.category("web_tour.tours").add("connectbooks_goflow_resolve_tour", {
    url: "/odoo",
    steps: () => [
        ...openSettlement(),
        {
            content: "Ask Goflow for the costs",
            trigger: '.o_form_view .o_statusbar_buttons button[name="action_sync_goflow"]',
            run: "click",
        },
        exportStatus("Item missing cost (3)"),
        {
            content: "Open the resolve wizard",
            trigger: '.o_statusbar_buttons button:contains("Resolve")',
            run: "click",
        },
        {
            content: "TEA-TIN-50G is pre-filled with Goflow's current average: accept it",
            trigger: `${SKU_ROWS}:contains("TEA-TIN-50G"):contains("Goflow average") td[name="unit_cost"]:contains("4.2")`,
        },
        {
            content: "Type the cost of BLU-MUG-12OZ",
            trigger: `${SKU_ROWS}:contains("BLU-MUG-12OZ") td[name="unit_cost"]`,
            run: "click",
        },
        {
            trigger: `${SKU_ROWS}.o_selected_row:contains("BLU-MUG-12OZ") [name="unit_cost"] input`,
            run: "edit 6.40",
        },
        {
            content: "Leave RED-MUG-12OZ missing: remove it from the wizard",
            trigger: `${SKU_ROWS}:contains("RED-MUG-12OZ") .o_list_record_remove`,
            run: "click",
        },
        {
            trigger: `.modal .o_field_widget[name="sku_ids"]:not(:has(.o_data_row:contains("RED-MUG-12OZ")))`,
        },
        {
            content: "Save the costs",
            trigger: '.modal-footer button[name="action_resolve"]',
            run: "click",
        },
        {
            content: "Two costs saved, one still missing",
            trigger: '.o_notification:contains("2 cost(s) saved; 1 still missing.")',
        },
        exportStatus("Item missing cost (1)"),
    ],
});
