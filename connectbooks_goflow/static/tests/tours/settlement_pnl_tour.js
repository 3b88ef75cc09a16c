import { registry } from "@web/core/registry";
import {
    SETTLEMENT_NAME,
    openMarketplaceMenu,
} from "@connectbooks_goflow/../tests/tours/tour_helpers";

registry.category("web_tour.tours").add("connectbooks_goflow_pnl_tour", {
    url: "/odoo",
    steps: () => [
        ...openMarketplaceMenu("connectbooks_settlement_pnl_menu", "Open the Profit & Loss"),
        {
            content: "The list is grouped by settlement",
            trigger: `.o_list_view .o_group_header:contains("${SETTLEMENT_NAME}")`,
        },
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "One row per settlement, one column per kind",
            trigger: `.o_pivot table th.o_pivot_header_cell_closed:contains("${SETTLEMENT_NAME}")`,
        },
        {
            trigger: '.o_pivot table thead th:contains("Order")',
        },
        {
            content: "Profit is among the measures",
            trigger: '.o_pivot table thead th.o_pivot_measure_row:contains("Profit")',
        },
    ],
});
