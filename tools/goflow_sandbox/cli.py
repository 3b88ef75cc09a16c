"""Command line of the Goflow sandbox (see ``--help``)."""

from __future__ import annotations

import argparse

from tools.goflow_sandbox.dataset import Dataset, build_dataset
from tools.goflow_sandbox.server import DEFAULT_TOKEN, RETRY_AFTER_MODES, SandboxServer


def _share(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a share is between 0 and 1")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tools.goflow_sandbox",
        description="A local HTTP server that answers like Goflow's REST API.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (loopback)")
    add("--port", type=int, default=8099, help="0 picks a free port")
    add("--orders", type=int, default=1000, help="orders to generate")
    add("--skus", type=int, default=200, help="products to generate")
    add("--seed", type=int, default=1, help="seed of the generated data")
    add("--token", default=DEFAULT_TOKEN, help="accepted bearer token")
    add("--forbidden-token", default=None, help="a token answered with 403")
    add("--rate-limit", type=float, default=None, help="requests per minute")
    add("--burst", type=int, default=None, help="token-bucket capacity")
    add("--page-size", type=int, default=100, help="records per page")
    add("--max-page-size", type=int, default=1000, help="largest page_size asked")
    add("--missing-share", type=_share, default=0.1, help="lines without cost")
    add("--error-rate", type=_share, default=0.0, help="share answered 500")
    add("--latency-ms", type=float, default=0.0, help="delay of every answer")
    add("--malformed-share", type=_share, default=0.0, help="malformed pages")
    add("--data", default=None, help="serve this JSON dataset instead")
    add("--end-marker", choices=("null", "empty"), default="null")
    add("--retry-after", choices=RETRY_AFTER_MODES, default="mixed")
    add("--require-beta-contact", action="store_true")
    add("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.data:
        dataset = Dataset.from_json(args.data)
    else:
        dataset = build_dataset(args.orders, args.skus, args.seed, args.missing_share)
    server = SandboxServer(
        dataset,
        host=args.host,
        port=args.port,
        token=args.token,
        rate_limit=args.rate_limit,
        page_size=args.page_size,
        max_page_size=args.max_page_size,
        burst=args.burst,
        forbidden_token=args.forbidden_token,
        error_rate=args.error_rate,
        latency_ms=args.latency_ms,
        malformed_share=args.malformed_share,
        end_marker=args.end_marker,
        retry_after=args.retry_after,
        require_beta_contact=args.require_beta_contact,
        seed=args.seed,
        verbose=args.verbose,
    )
    server.serve_until_signal(
        f"Goflow sandbox serving {server.url} (token {args.token}, "
        f"{len(dataset.orders)} orders, {len(dataset.products)} products)",
        "Goflow sandbox stopped",
    )
    return 0
