from odoo import models


class ConnectbooksAmazonConnection(models.Model):
    _name = "connectbooks.amazon.connection"
    _inherit = ["connectbooks.amazon.connection", "connectbooks.queue.channel.mixin"]
    _queue_channel_prefix = "amazon"
