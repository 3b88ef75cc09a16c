from odoo import api, models


class ConnectbooksWalmartConnection(models.Model):
    _inherit = "connectbooks.walmart.connection"

    @api.model_create_multi
    def create(self, vals_list):
        connections = super().create(vals_list)
        connections._queue_channel()
        return connections

    def _queue_channel(self):
        """The job channel of this Walmart seller account: its stores'
        fetches run one at a time (capacity 1), so its rate limit is never
        shared by two jobs.

        :return: the channel's complete name (of the last connection)
        """
        name = None
        for connection in self:
            name = self.env["queue.job.channel"]._connectbooks_channel(
                f"walmart_{connection.id}"
            )
        return name
