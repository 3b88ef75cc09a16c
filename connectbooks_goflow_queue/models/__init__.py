from . import queue_job_channel
from . import connectbooks_queue_channel_mixin
from . import goflow_connection
from . import connectbooks_amazon_connection
from . import connectbooks_walmart_connection
from . import connectbooks_store
from . import connectbooks_settlement
