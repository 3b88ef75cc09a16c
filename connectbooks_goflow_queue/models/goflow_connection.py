from odoo import models


class GoflowConnection(models.Model):
    _name = "goflow.connection"
    _inherit = ["goflow.connection", "connectbooks.queue.channel.mixin"]
    _queue_channel_prefix = "goflow"
