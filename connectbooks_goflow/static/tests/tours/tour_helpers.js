import { stepUtils } from "@web_tour/tour_service/tour_utils";

// The world of these tours is built by tests/test_ui_tours.py.
export const SETTLEMENT_REF = "24010823451";
export const SETTLEMENT_NAME = `Amazon US A ${SETTLEMENT_REF}`;
// Not a real host: the test answers it with tests/data/amazon_v2_small.txt
// (HttpCase.fetch_proxy), as if downloaded from Seller Central.
export const SETTLEMENT_FILE_URL = "https://files.connectbooks.test/amazon_v2_small.txt";
export const SETTLEMENT_FILE_NAME = "amazon_v2_small.txt";

/**
 * Steps opening Accounting > Marketplaces > the given menu item.
 *
 * @param {string} menu xmlid of the menu item, without the module
 * @param {string} description
 */
export function openMarketplaceMenu(menu, description) {
    return [
        ...stepUtils.goToAppSteps("account.menu_finance", "Open the accounting app"),
        {
            content: "Open the Marketplaces menu",
            trigger:
                '.o-dropdown[data-menu-xmlid="connectbooks_goflow.connectbooks_marketplace_menu"]',
            run: "click",
        },
        {
            content: description,
            trigger: `.o-dropdown-item[data-menu-xmlid="connectbooks_goflow.${menu}"]`,
            run: "click",
        },
    ];
}

/**
 * Step waiting for the settlement form to show the given export status.
 *
 * @param {string} status
 */
export function exportStatus(status) {
    return {
        content: `The export status reads "${status}"`,
        trigger: `.o_form_view h3 [name="export_status"]:contains("${status}")`,
    };
}

/**
 * Steps opening the settlement from the Settlements list.
 */
export function openSettlement() {
    return [
        ...openMarketplaceMenu("connectbooks_settlement_menu", "Open the settlements"),
        {
            content: "Open the imported settlement",
            trigger: `.o_list_view .o_data_row td[name="settlement_ref"]:contains("${SETTLEMENT_REF}")`,
            run: "click",
        },
        {
            content: "The settlement form is open",
            trigger: `.o_breadcrumb .active:contains("${SETTLEMENT_NAME}")`,
        },
    ];
}
