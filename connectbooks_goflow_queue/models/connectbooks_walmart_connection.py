from odoo import models


class ConnectbooksWalmartConnection(models.Model):
    _name = "connectbooks.walmart.connection"
    _inherit = ["connectbooks.walmart.connection", "connectbooks.queue.channel.mixin"]
    _queue_channel_prefix = "walmart"
