"""Shared fixtures of the plain suite.

Goflow and marketplace sandboxes: real HTTP servers on 127.0.0.1 (port 0 = a
free port), one per test that asks, stopped after it. Nothing here mocks the
network.
"""

import pytest

from connectbooks_goflow.core.amazon_client import AmazonClient
from connectbooks_goflow.core.goflow_client import GoflowClient
from connectbooks_goflow.core.walmart_client import WalmartClient
from tools.goflow_sandbox.dataset import Dataset, build_dataset
from tools.goflow_sandbox.server import SandboxServer
from tools.marketplace_sandbox.amazon import AmazonApi
from tools.marketplace_sandbox.server import MarketplaceSandbox
from tools.marketplace_sandbox.walmart import WalmartApi

SANDBOX_TOKEN = "sandbox-test-token-4f1c9a"


class SleepRecorder:
    """A ``sleep`` that records the waits instead of waiting."""

    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)


@pytest.fixture
def goflow_dataset():
    """A small seeded dataset (60 orders over 25 SKUs); fresh per test."""
    return build_dataset(orders=60, skus=25, seed=11)


@pytest.fixture
def sandbox_factory():
    """``make(dataset=None, **options)`` -> a started :class:`SandboxServer`."""
    servers = []

    def make(dataset=None, **options):
        if dataset is None:
            dataset = build_dataset(orders=60, skus=25, seed=11)
        elif isinstance(dataset, dict):
            dataset = Dataset.from_dict(dataset)
        options.setdefault("token", SANDBOX_TOKEN)
        server = SandboxServer(dataset, host="127.0.0.1", port=0, **options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(sandbox_factory, goflow_dataset):
    """A sandbox serving ``goflow_dataset`` with default knobs."""
    return sandbox_factory(goflow_dataset)


@pytest.fixture
def sleeps():
    """A fake ``sleep`` recording the waits (``sleeps.waits``)."""
    return SleepRecorder()


@pytest.fixture
def client_factory(sleeps):
    """``make(server, **options)`` -> a :class:`GoflowClient` on the sandbox.

    Defaults keep tests fast: the fake ``sleep`` fixture, short timeouts.
    """
    clients = []

    def make(server, **options):
        token = options.pop("token", server.token)
        options.setdefault("sleep", sleeps)
        options.setdefault("timeout", (2.0, 5.0))
        client = GoflowClient(token, base_url=server.url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# -- marketplace sandbox (Amazon) ---------------------------------------------


@pytest.fixture
def amazon_factory():
    """``make(dataset=..., distractors=True, **options)`` -> a started
    marketplace sandbox's :class:`AmazonApi` (``api.server`` is the server).

    By default: the settlements of ``build_dataset(60, 25, seed=11)`` (the
    orders the ``goflow_dataset`` fixture serves), gzip and plain in turn,
    the distractor reports, and no rate limit.
    """
    servers = []

    def make(dataset="default", distractors=True, compression="mixed", **options):
        options.setdefault("rate_limits", None)
        server = MarketplaceSandbox()
        servers.append(server)
        api = server.mount(AmazonApi(**options))
        if dataset == "default":
            dataset = build_dataset(orders=60, skus=25, seed=11)
        if dataset is not None:
            api.add_settlements(dataset, compression=compression, seed=11)
        if distractors:
            api.add_distractors()
        server.start()
        return api

    yield make
    for server in servers:
        server.stop()


def _client_factory(sleeps, build):
    """``make(api, **options)`` -> ``build(api, options)``, with the defaults
    that keep tests fast (the fake ``sleep``, short timeouts, no client-side
    rate limit); every client is closed after the test."""
    clients = []

    def make(api, **options):
        options.setdefault("sleep", sleeps)
        options.setdefault("timeout", (2.0, 5.0))
        options.setdefault("rate_limits", {})
        client = build(api, options)
        clients.append(client)
        return client

    return make, clients


@pytest.fixture
def amazon_client_factory(sleeps):
    """``make(api, **options)`` -> an :class:`AmazonClient` on the sandbox."""

    def build(api, options):
        return AmazonClient(
            options.pop("client_id", api.client_id),
            options.pop("client_secret", api.client_secret),
            options.pop("refresh_token", api.refresh_token or "Atzr|revoked-token"),
            endpoint=api.server.url,
            token_url=api.token_url,
            **options,
        )

    make, clients = _client_factory(sleeps, build)
    yield make
    for client in clients:
        client.close()


# -- marketplace sandbox (Walmart) --------------------------------------------


@pytest.fixture
def walmart_factory():
    """``make(**options)`` -> a started marketplace sandbox's
    :class:`WalmartApi` (``api.server`` is the server), serving the built-in
    recon file unless others are added."""
    servers = []

    def make(**options):
        server = MarketplaceSandbox()
        servers.append(server)
        api = server.mount(WalmartApi(**options))
        server.start()
        return api

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def walmart_client_factory(sleeps):
    """``make(api, **options)`` -> a :class:`WalmartClient` on the sandbox."""

    def build(api, options):
        return WalmartClient(
            options.pop("client_id", api.client_id),
            options.pop("client_secret", api.client_secret),
            base_url=api.base_url,
            **options,
        )

    make, clients = _client_factory(sleeps, build)
    yield make
    for client in clients:
        client.close()


class FakeClock:
    """A monotonic clock that moves only when told (``clock.now += 60``)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def fake_clock():
    """A :class:`FakeClock`."""
    return FakeClock()
