"""18.0.1.2.0: settlement lines get their foreign key back.

The key is created by the update; lines whose settlement no longer exists
(possible while the table had no key) would stop it, so they go first.
"""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        DELETE FROM connectbooks_settlement_line l
         WHERE NOT EXISTS (
               SELECT 1 FROM connectbooks_settlement s WHERE s.id = l.settlement_id
         )
        """
    )
    if cr.rowcount:
        _logger.info("deleted %s settlement lines of deleted settlements", cr.rowcount)
