from . import models


def post_init_hook(env):
    """The connections made before this add-on was installed get their
    channel (capacity 1), as new ones do when they are created."""
    env["goflow.connection"].with_context(active_test=False).search([])._queue_channel()
    env["connectbooks.amazon.connection"].with_context(active_test=False).search(
        []
    )._queue_channel()
