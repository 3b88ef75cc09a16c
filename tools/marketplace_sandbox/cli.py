"""Command line of the marketplace sandbox (see ``--help``)."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from tools.goflow_sandbox.dataset import Dataset, build_dataset
from tools.marketplace_sandbox import amazon, documents, walmart
from tools.marketplace_sandbox.server import MarketplaceSandbox

MARKETPLACES = ("all", "amazon", "walmart")


def _positive(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("a positive number")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tools.marketplace_sandbox",
        description="A local HTTP server that answers like Login with Amazon and "
        "the SP-API Reports API, serving settlement reports whose orders match "
        "the Goflow sandbox started with the same data arguments, and like "
        "Walmart's token and reconciliation report API.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (loopback)")
    add("--port", type=int, default=8098, help="0 picks a free port")
    add(
        "--marketplace",
        choices=MARKETPLACES,
        default="all",
        help="which marketplace APIs to serve (default: all)",
    )
    data = parser.add_argument_group(
        "settlements", "the Goflow sandbox's data arguments: same values, same orders"
    )
    data.add_argument("--orders", type=int, default=1000, help="0: none generated")
    data.add_argument("--skus", type=int, default=200)
    data.add_argument("--seed", type=int, default=1)
    data.add_argument("--missing-share", type=float, default=0.1)
    data.add_argument("--data", default=None, help="a Goflow sandbox JSON data set")
    data.add_argument(
        "--period-days", type=int, default=documents.PERIOD_DAYS, help="days"
    )
    data.add_argument(
        "--first-settlement-id", type=int, default=documents.FIRST_SETTLEMENT_ID
    )
    data.add_argument(
        "--report-file",
        action="append",
        default=[],
        metavar="PATH",
        help="serve this settlement file too (repeatable)",
    )
    data.add_argument(
        "--created-now",
        action="store_true",
        help="list the --report-file reports as created now, not at their "
        "deposit date (a fetch asks no further back than 90 days)",
    )
    data.add_argument(
        "--compression",
        choices=("gzip", "none", "mixed"),
        default="gzip",
        help="how documents are served (mixed: gzip and plain in turn)",
    )
    data.add_argument(
        "--no-distractors",
        action="store_true",
        help="list no IN_PROGRESS settlement and no report of another type",
    )
    data.add_argument(
        "--bench-orders",
        type=int,
        default=0,
        help="also serve a gzip settlement of this many orders (153000: about "
        "1,000,000 rows), generated once into the temporary directory",
    )
    data.add_argument("--bench-seed", type=int, default=documents.BENCH_SEED)
    data.add_argument(
        "--bench-dir", default=None, help="where it is kept (default: temporary)"
    )
    lwa = parser.add_argument_group("Login with Amazon")
    lwa.add_argument("--client-id", default=amazon.DEFAULT_CLIENT_ID)
    lwa.add_argument("--client-secret", default=amazon.DEFAULT_CLIENT_SECRET)
    lwa.add_argument("--refresh-token", default=amazon.DEFAULT_REFRESH_TOKEN)
    lwa.add_argument("--token-lifetime", type=_positive, default=3600.0, help="seconds")
    lwa.add_argument(
        "--url-lifetime", type=_positive, default=300.0, help="download URL, seconds"
    )
    lwa.add_argument("--marketplace-id", default=amazon.DEFAULT_MARKETPLACE_ID)
    limits = parser.add_argument_group("rate limits")
    limits.add_argument(
        "--speedup", type=_positive, default=1.0, help="multiplies Amazon's rates"
    )
    limits.add_argument("--no-rate-limit", action="store_true")
    limits.add_argument(
        "--retry-after", action="store_true", help="send Retry-After on 429"
    )
    wm = parser.add_argument_group("Walmart")
    wm.add_argument("--walmart-client-id", default=walmart.DEFAULT_CLIENT_ID)
    wm.add_argument("--walmart-client-secret", default=walmart.DEFAULT_CLIENT_SECRET)
    wm.add_argument(
        "--walmart-token-lifetime",
        type=_positive,
        default=walmart.TOKEN_LIFETIME,
        help="seconds",
    )
    wm.add_argument(
        "--recon-file",
        action="append",
        default=[],
        metavar="PATH",
        help="serve this recon file (CSV or zip), or every one of a folder "
        "(repeatable); without any, a small built-in one is served",
    )
    wm.add_argument(
        "--walmart-rate-limit",
        type=_positive,
        default=None,
        metavar="PER_SECOND",
        help="answer 429 beyond this many requests a second per operation",
    )
    add("--latency-ms", type=float, default=0.0, help="delay of every answer")
    add("--verbose", action="store_true", help="log every request to stderr")
    return parser


def build_sandbox(args):
    """The :class:`MarketplaceSandbox` (not started) the arguments describe."""
    sandbox = MarketplaceSandbox(
        args.host, args.port, latency_ms=args.latency_ms, verbose=args.verbose
    )
    if args.marketplace in ("amazon", "all"):
        _mount_amazon(sandbox, args)
    if args.marketplace in ("walmart", "all"):
        _mount_walmart(sandbox, args)
    return sandbox


def _mount_walmart(sandbox, args):
    limit = args.walmart_rate_limit
    api = sandbox.mount(
        walmart.WalmartApi(
            client_id=args.walmart_client_id,
            client_secret=args.walmart_client_secret,
            token_lifetime=args.walmart_token_lifetime,
            rate_limits=None
            if limit is None
            else dict.fromkeys(
                (walmart.OPERATION_AVAILABLE, walmart.OPERATION_RECON_FILE),
                (limit, max(1, int(limit))),
            ),
        )
    )
    for source in args.recon_file:
        if Path(source).is_dir():
            api.add_folder(source)
        else:
            api.add_recon_file(source)
    return api


def _mount_amazon(sandbox, args):
    api = sandbox.mount(
        amazon.AmazonApi(
            client_id=args.client_id,
            client_secret=args.client_secret,
            refresh_token=args.refresh_token,
            token_lifetime=args.token_lifetime,
            url_lifetime=args.url_lifetime,
            rate_limits=None if args.no_rate_limit else amazon.PUBLISHED_RATE_LIMITS,
            speedup=args.speedup,
            retry_after=args.retry_after,
            marketplace_id=args.marketplace_id,
        )
    )
    compression = {"gzip": "GZIP", "none": None, "mixed": "mixed"}[args.compression]
    if args.data:
        dataset = Dataset.from_json(args.data)
    elif args.orders:
        dataset = build_dataset(args.orders, args.skus, args.seed, args.missing_share)
    else:
        dataset = None
    if dataset is not None:
        api.add_settlements(
            dataset,
            compression=compression,
            period_days=args.period_days,
            first_settlement_id=args.first_settlement_id,
            seed=args.seed,
        )
    created = datetime.now(timezone.utc) if args.created_now else None
    for index, path in enumerate(args.report_file):
        chosen = compression
        if compression == "mixed":
            chosen = "GZIP" if index % 2 == 0 else None
        if documents.read_summary(path).gzipped:
            chosen = "GZIP"
        api.add_report(path, compression=chosen, created_time=created)
    if args.bench_orders:
        api.add_report(
            documents.bench_settlement(
                args.bench_orders, args.bench_seed, args.bench_dir
            ),
            compression="GZIP",
        )
    if not args.no_distractors:
        api.add_distractors()
    return api


def _app(sandbox, kind):
    return next((app for app in sandbox.apps if isinstance(app, kind)), None)


def describe(sandbox):
    """The line printed once the sandbox serves: its URL and what it serves."""
    parts = []
    api = _app(sandbox, amazon.AmazonApi)
    if api is not None:
        settlements = [r for r in api.reports if r.settlement_id]
        parts.append(
            f"Amazon SP-API endpoint {sandbox.url}, LWA {api.token_url}, "
            f"{len(settlements)} settlement report(s) of {len(api.reports)}"
        )
    wm = _app(sandbox, walmart.WalmartApi)
    if wm is not None:
        count = len(wm.files) or 1  # the built-in file, served when none
        parts.append(
            f"Walmart API {wm.base_url}, token {wm.token_url}, {count} recon file(s)"
        )
    return f"Marketplace sandbox serving {sandbox.url} ({'; '.join(parts)})"


def main(argv=None):
    args = build_parser().parse_args(argv)
    sandbox = build_sandbox(args)
    sandbox.serve_until_signal(describe(sandbox), "Marketplace sandbox stopped")
    return 0
