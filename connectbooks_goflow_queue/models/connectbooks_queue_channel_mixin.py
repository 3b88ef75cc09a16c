from odoo import api, models


class ConnectbooksQueueChannelMixin(models.AbstractModel):
    """A remote account's job channel: the jobs of one Goflow, Amazon or
    Walmart account run one at a time (capacity 1), so its rate limit is
    never shared by two jobs. Each connection model names its channels by
    ``_queue_channel_prefix``."""

    _name = "connectbooks.queue.channel.mixin"
    _description = "Job channel per remote account"
    _queue_channel_prefix = None

    @api.model_create_multi
    def create(self, vals_list):
        connections = super().create(vals_list)
        connections._queue_channel()
        return connections

    def _queue_channel(self):
        """Create the channels of these accounts where missing.

        :return: the channel's complete name (of the last connection)
        """
        name = None
        for connection in self:
            name = self.env["queue.job.channel"]._connectbooks_channel(
                f"{self._queue_channel_prefix}_{connection.id}"
            )
        return name
