from . import models


def post_init_hook(env):
    """The connections made before this add-on was installed get their
    channel (capacity 1), as new ones do when they are created."""
    for model in (
        "goflow.connection",
        "connectbooks.amazon.connection",
        "connectbooks.walmart.connection",
    ):
        env[model].with_context(active_test=False).search([])._queue_channel()
