"""Serve the demo: PostgreSQL (kept in .local/pg), the Goflow sandbox with the
demo data, the marketplace sandbox (Amazon and Walmart) listing the demo
settlement files,
and Odoo with the add-on and its demo data on 127.0.0.1:8069.

The database is created on the first run and reused afterwards.
"""

import argparse
import ast
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import pgcluster  # noqa: E402
import run_tests  # noqa: E402

DB = "connectbooks_demo"
SANDBOX_DATA = ROOT / "connectbooks_goflow" / "demo" / "goflow_sandbox_demo.json"
SANDBOX_PORT = 8099  # the demo Goflow connection's base URL
SANDBOX_TOKEN = "sandbox-token"
# The demo Amazon connection's endpoint and token URL; its credentials are the
# marketplace sandbox's defaults.
MARKETPLACE_PORT = 8098
DEMO_DIR = ROOT / "connectbooks_goflow" / "demo"
# The two settlements the demo database holds (uploaded by hand: the fetch
# recognises them) and a third one only Amazon has.
MARKETPLACE_REPORTS = (
    DEMO_DIR / "amazon_settlement_demo_1.txt",
    DEMO_DIR / "amazon_settlement_demo_2.txt",
    DEMO_DIR / "amazon_settlement_demo_3.txt",
)
# The same for Walmart (same port): the recon report the demo database holds
# and a second one only Walmart has.
WALMART_RECON_FILES = (
    DEMO_DIR / "walmart_recon_demo_1.csv",
    DEMO_DIR / "walmart_recon_demo_2.csv",
)

NO_ODOO = """\
No Odoo 18 server is importable by {python} ({why}).

The run command serves Odoo with this add-on, so it needs an Odoo 18.0
(Community) server installed for this Python: its source (not on PyPI) set up
so that `python3 -c "import odoo"` works, with OCA's report_xlsx 18.0
(`pip install 'odoo-addon-report_xlsx>=18.0,<18.1'`) and a PostgreSQL server
(Debian's postgresql package is enough: this command starts its own cluster).
See README.md, "Install into an existing Odoo 18"."""


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    # Ctrl-C, or a TERM from a supervisor: stop all that was started. Set
    # explicitly, since a shell's background job starts with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http-port", type=int, default=8069)
    parser.add_argument(
        "--reset", action="store_true", help="drop the demo database first"
    )
    args = parser.parse_args()
    version, why = run_tests.odoo_version()
    if version != "18":
        why = why or f"found Odoo {version}"
        print(NO_ODOO.format(python=sys.executable, why=why), file=sys.stderr)
        return 1
    started = time.monotonic()
    paths, report_xlsx = run_tests.addons_path()
    if not report_xlsx:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                run_tests.REPORT_XLSX_REQ,
            ],
            check=True,
        )
        paths, report_xlsx = run_tests.addons_path()
    cluster = pgcluster.ensure_cluster(keep_dir=str(ROOT / ".local" / "pg"))
    data_dir = str(ROOT / ".local" / "odoo-data")
    children = []

    def stop(*_args):
        # Odoo first (a second SIGINT is its "stop now"), then the sandbox.
        for child in reversed(children):
            for signum in (signal.SIGINT, signal.SIGINT, signal.SIGKILL):
                if child.poll() is not None:
                    break
                child.send_signal(signum)
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    continue
        cluster.stop()

    try:
        sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.goflow_sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(SANDBOX_PORT),
                "--data",
                str(SANDBOX_DATA),
                "--token",
                SANDBOX_TOKEN,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        children.append(sandbox)
        print(sandbox.stdout.readline().strip(), flush=True)
        reports = [
            arg for path in MARKETPLACE_REPORTS for arg in ("--report-file", str(path))
        ] + [arg for path in WALMART_RECON_FILES for arg in ("--recon-file", str(path))]
        marketplace = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.marketplace_sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(MARKETPLACE_PORT),
                "--orders",
                "0",
                *reports,
                # Listed as created now: a fetch asks Amazon for 90 days at most.
                "--created-now",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        children.append(marketplace)
        print(marketplace.stdout.readline().strip(), flush=True)
        common = ["--addons-path", ",".join(paths), "--log-level", "warn"]
        exists = cluster.database_exists(DB)
        if exists and args.reset:
            cluster.drop_database(DB)
            exists = False
        action = None
        if not exists:
            action = ("-i", f"Creating the demo database {DB} (first run, a minute)")
        else:
            installed = cluster.scalar(
                DB,
                "SELECT latest_version FROM ir_module_module "
                "WHERE name = 'connectbooks_goflow'",
            )
            version = _addon_version()
            if installed and installed != version:
                action = (
                    "-u",
                    f"Updating the demo database from connectbooks_goflow "
                    f"{installed} to {version}",
                )
        if action:
            flag, message = action
            print(f"{message}...", flush=True)
            subprocess.run(
                run_tests.odoo_cmd(
                    cluster, DB, [*common, flag, "connectbooks_goflow"], data_dir
                ),
                cwd=ROOT,
                check=True,
            )
        serve = run_tests.odoo_cmd(cluster, DB, common, data_dir)
        serve.remove("--stop-after-init")
        port_at = serve.index("--http-port") + 1
        serve[port_at] = str(args.http_port)
        serve[serve.index("--max-cron-threads") + 1] = "1"
        odoo = subprocess.Popen(serve, cwd=ROOT)
        children.append(odoo)
        url = f"http://127.0.0.1:{args.http_port}"
        if not pgcluster.wait_port("127.0.0.1", args.http_port, timeout=120):
            print(
                "Odoo did not start listening; see the messages above.", file=sys.stderr
            )
            stop()
            return 1
        print(
            f"\nconnectbooks_goflow demo served at {url}/odoo "
            f"(ready in {time.monotonic() - started:.0f} s)\n"
            "  log in as admin / admin (accounting manager) or demo / demo "
            "(bookkeeper)\n"
            f"  Goflow sandbox: http://127.0.0.1:{SANDBOX_PORT}/v1 "
            f"(token {SANDBOX_TOKEN})\n"
            f"  Marketplace sandbox (Amazon, Walmart): "
            f"http://127.0.0.1:{MARKETPLACE_PORT} (Settlements > Fetch Settlements "
            "imports a third Amazon settlement and a second Walmart one)\n"
            "  Ctrl-C stops Odoo, the sandboxes and PostgreSQL.\n",
            flush=True,
        )
        odoo.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    return 0


def _addon_version():
    """The version in the add-on's manifest."""
    manifest = ROOT / "connectbooks_goflow" / "__manifest__.py"
    return ast.literal_eval(manifest.read_text(encoding="utf-8"))["version"]


if __name__ == "__main__":
    sys.exit(main())
