import { registry } from "@web/core/registry";
import { SETTLEMENT_REF, openMarketplaceMenu } from "@connectbooks_goflow/../tests/tours/tour_helpers";

// The world of this tour is built by tests/test_amazon_fetch.py: the
// marketplace sandbox lists the settlement, not yet in Odoo.
registry.category("web_tour.tours").add("connectbooks_goflow_fetch_tour", {
    url: "/odoo",
    steps: () => [
        ...openMarketplaceMenu("connectbooks_settlement_menu", "Open the settlements"),
        {
            content: "No settlement yet",
            trigger: ".o_list_view .o_view_nocontent, .o_list_view:not(:has(.o_data_row))",
        },
        {
            content: "Fetch the settlements Amazon has ready",
            trigger: '.o_control_panel button[name="action_fetch_settlements"]',
            run: "click",
        },
        {
            content: "Amazon's settlement is imported",
            trigger: ".o_notification:contains(1 settlement(s) imported)",
        },
        {
            content: "It appears in the list",
            trigger: `.o_list_view .o_data_row td[name="settlement_ref"]:contains("${SETTLEMENT_REF}")`,
        },
    ],
});
