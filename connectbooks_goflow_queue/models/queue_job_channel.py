from odoo import api, models

# The parent of every channel of this add-on (data/queue_job_data.xml).
PARENT_CHANNEL_XMLID = "connectbooks_goflow_queue.channel_connectbooks"


class QueueJobChannel(models.Model):
    _inherit = "queue.job.channel"

    @api.model
    def _connectbooks_channel(self, name):
        """The complete name of this add-on's channel ``name`` (one remote
        account: ``goflow_7``, ``amazon_3``), created with a capacity of 1
        when missing.

        queue_job's runner reads the channels' capacities from these records
        (when no server-wide ``channels`` option overrides them) and reloads
        them when one is created. A channel that has no record falls back on
        its parent in queue_job 18.0 in a way that funnels every such channel
        into one of capacity 1: so each account gets its record.
        """
        Channel = self.sudo()
        parent = self.env.ref(PARENT_CHANNEL_XMLID).sudo()
        channel = Channel.search(
            [("parent_id", "=", parent.id), ("name", "=", name)], limit=1
        )
        if not channel:
            channel = Channel.create(
                {"name": name, "parent_id": parent.id, "capacity": 1}
            )
        return channel.complete_name
