"""Stages of the test command; called by scripts/test inside its venv.

plain  pytest on tests/ (core/, the client against the sandbox, parsers)
lint   ruff (check + format) and the blocking pylint-odoo checks
odoo   when an Odoo 18 server is importable: a throw-away PostgreSQL, the add-on
       installed with demo data (log checked for warnings), then installed on a
       second fresh database without demo, where pytest-odoo runs its Odoo suite
       (JUnit file in .local/logs); --test-tags adds a run through Odoo's own
       test runner (odoo-bin --test-enable) on that database
queue  the job-queue add-on (connectbooks_goflow_queue), where an Odoo 18 server
       is importable and OCA's queue_job is or can be installed from PyPI
       (odoo-addon-queue_job 18.0, into this venv): installed with demo data
       (log checked), then on a fresh database without demo its own suite
       through pytest-odoo; skipped with the reason elsewhere

The pytest runs start with plugin autoload off (PYTEST_DISABLE_PLUGIN_AUTOLOAD)
and name the plugins they use, so that plugins the environment brings (the
test venv sees the machine's site packages) do not change them.

Each stage prints one line at the end: ran/passed, ran/failed or skipped with
the reason; the last line totals the test counts.
"""

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import pgcluster  # noqa: E402

ADDON = "connectbooks_goflow"
ODOO_TESTS = f"{ADDON}/tests"
# Plugins each pytest run loads, autoload being off: the plain suite uses
# pytest's own fixtures only; the Odoo suite runs through pytest-odoo, whose
# entry point is named "odoo".
PLAIN_PLUGINS = ()
ODOO_PLUGINS = ("odoo",)
PYTEST_EXIT = {
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no test collected",
}
REPORT_XLSX_REQ = "odoo-addon-report_xlsx>=18.0,<18.1"
# The job-queue glue add-on (connectbooks_goflow_queue) and OCA's queue_job
# it needs; its tests run on a database of their own (stage "queue"): with
# it installed, the scheduled actions only enqueue, which the main add-on's
# own tests do not expect.
QUEUE_ADDON = "connectbooks_goflow_queue"
QUEUE_TESTS = f"{QUEUE_ADDON}/tests"
QUEUE_JOB_REQ = "odoo-addon-queue_job>=18.0,<18.1"
OCA_ADDONS = ("report_xlsx", "queue_job")
LOG_DIR = ROOT / ".local" / "logs"
# What odoo.tests.common looks for to drive the UI tours (ChromeBrowser:
# _find_executable, and the websocket-client module for DevTools); without
# them Odoo skips every tour at INFO level, so the stage checks them itself.
BROWSER_NAMES = (
    "google-chrome",
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
)
BROWSER_APT_PACKAGE = "chromium"  # Debian's headless-capable Chromium
WEBSOCKET_REQ = "websocket-client"
BROWSER_SKIP = re.compile(
    r"skipped (\S+) .*: (.*(?:chrom|websocket).*)$", re.IGNORECASE
)


class Stage:
    def __init__(self, name):
        self.name = name
        self.status = "skipped"
        self.detail = ""
        self.passed = self.failed = self.skipped = 0
        self.seconds = 0.0

    def line(self):
        counts = f"{self.passed} passed, {self.failed} failed"
        if self.skipped:
            counts += f", {self.skipped} skipped"
        head = f"[{self.name}] {self.status}"
        if self.status == "skipped":
            return f"{head}: {self.detail}"
        return f"{head} in {self.seconds:.0f}s: {counts}" + (
            f" ({self.detail})" if self.detail else ""
        )


def run(cmd, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, **kwargs)


def pytest_cmd(plugins, *args):
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *(arg for name in plugins for arg in ("-p", name)),
        *args,
    ]


def run_pytest(cmd):
    """Run ``cmd`` with plugin autoload off, its output streamed as it comes;
    return the exit code and the output."""
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    print("+ PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", " ".join(map(str, cmd)), flush=True)
    lines = []
    with subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    return proc.returncode, "".join(lines)


# "== 80 passed, 1 skipped in 99.12s (0:01:39) ==", without the = under -q;
# pytest 8 adds "7 subtests passed" when tests use subTest
SUMMARY_LINE = re.compile(
    r"^(?:=+ )?(\d+ \w+(?:, \d+ \w+(?: \w+)?)* in [\d.]+s\b.*?)(?: =+)?$"
)


def pytest_summary(output):
    """pytest's closing line (``80 passed, 1 skipped in 99.1s``) and its
    counts by word."""
    lines = [m.group(1) for m in map(SUMMARY_LINE.match, output.splitlines()) if m]
    if not lines:
        return "", {}
    counts = {}
    for count, word in re.findall(r"(\d+) (\w+)", lines[-1]):
        word = {"error": "errors", "warning": "warnings"}.get(word, word)
        counts[word] = counts.get(word, 0) + int(count)
    return lines[-1], counts


def read_pytest(stage, rc, output, keyword):
    """Add the counts of a pytest run to ``stage``; return why the run
    failed, ``""`` when ``keyword`` selected no test, else ``None``."""
    summary, counts = pytest_summary(output)
    stage.passed += counts.get("passed", 0) + counts.get("xfailed", 0)
    stage.failed += sum(counts.get(w, 0) for w in ("failed", "errors", "xpassed"))
    stage.skipped += counts.get("skipped", 0)
    if rc == 5 and keyword:
        return ""
    if rc in (0, 1) and not summary:
        return "no pytest summary line in the output"
    if rc == 1:
        return None  # the counts say which failed
    if rc:
        return f"pytest exit {rc}: {PYTEST_EXIT.get(rc, 'unexpected')}"
    if not stage.passed + stage.failed:
        return "pytest ran no test"
    return None


def stage_plain(stage, pytest_args, keyword=None):
    start = time.monotonic()
    select = ["-k", keyword] if keyword else []
    rc, output = run_pytest(pytest_cmd(PLAIN_PLUGINS, "-q", *select, *pytest_args))
    stage.seconds = time.monotonic() - start
    why = read_pytest(stage, rc, output, keyword)
    if why == "":
        stage.detail = f"-k {keyword!r} selects no test here"
        return
    stage.status = "ran/failed" if why or stage.failed else "ran/passed"
    stage.detail = why or ""


def stage_lint(stage):
    start = time.monotonic()
    checks = [
        ("ruff check", [sys.executable, "-m", "ruff", "check", "."]),
        ("ruff format", [sys.executable, "-m", "ruff", "format", "--check", "."]),
        (
            "pylint-odoo",
            [
                sys.executable,
                "-m",
                "pylint",
                "--rcfile=.pylintrc-mandatory",
                "--score=n",
                ADDON,
                QUEUE_ADDON,
            ],
        ),
    ]
    failures = []
    for name, cmd in checks:
        if run(cmd).returncode:
            failures.append(name)
            stage.failed += 1
        else:
            stage.passed += 1
    stage.seconds = time.monotonic() - start
    stage.status = "ran/failed" if failures else "ran/passed"
    stage.detail = (
        ("failed: " + ", ".join(failures)) if failures else "ruff, pylint-odoo"
    )


def odoo_version():
    proc = subprocess.run(
        [sys.executable, "-c", "import odoo.release as r; print(r.version_info[0])"],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        return None, (proc.stderr.strip().splitlines() or ["import failed"])[-1]
    return proc.stdout.strip(), ""


def addons_path():
    """Our repository, the server's own addons folder, and wherever
    report_xlsx (and queue_job) was installed (the odoo.addons namespace);
    and report_xlsx's folder, ``None`` when it is not installed."""
    paths, found = oca_addons()
    return paths, found.get("report_xlsx")


def oca_addons():
    """The addons path, and ``{OCA add-on: folder}`` of those of
    :data:`OCA_ADDONS` installed."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, odoo, odoo.addons as a;"
            "print(os.path.dirname(os.path.dirname(odoo.__file__)));"
            "print('\\n'.join(a.__path__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stdout.strip().splitlines()
    paths = [str(ROOT)]
    community = Path(lines[0]) / "addons"
    if (community / "web").is_dir():
        paths.append(str(community))
    found = {}
    for entry in lines[1:]:
        for name in OCA_ADDONS:
            if name not in found and (Path(entry) / name).is_dir():
                found[name] = entry
                if entry not in paths:
                    paths.append(entry)
    return paths, found


def odoo_cmd(cluster, db, extra, data_dir):
    return [
        sys.executable,
        "-c",
        "import sys, odoo.cli; sys.argv[0] = 'odoo'; odoo.cli.main()",
        "--database",
        db,
        *cluster.odoo_args(),
        "--data-dir",
        data_dir,
        "--http-interface",
        "127.0.0.1",
        "--http-port",
        str(pgcluster.free_port()),
        "--gevent-port",
        str(pgcluster.free_port()),
        "--max-cron-threads",
        "0",
        "--stop-after-init",
        *extra,
    ]


def run_odoo(cmd, log_path):
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.run(
            cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    return (
        proc.returncode,
        log_path.read_text(errors="replace"),
        time.monotonic() - start,
    )


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (\w+) (\S+) (\S+): ")


# pytest-odoo imports Odoo's test framework before it turns test_enable on
# (on at registry load, it would run every module's at_install tests), and
# Odoo 18 logs that import as an error: the one line its log may hold.
PYTEST_ODOO_IMPORT = re.compile(
    r" ERROR \S+ odoo\.tests\.common: Importing test framework, avoid importing"
)


def bad_lines(text, levels=("WARNING", "ERROR", "CRITICAL"), allowed=None):
    out = []
    for line in text.splitlines():
        match = LOG_LINE.match(line)
        if match and match.group(1) in levels:
            if not (allowed and allowed.search(line)):
                out.append(line)
    return out


def find_browser():
    return next(filter(None, map(shutil.which, BROWSER_NAMES)), None)


def ensure_browser():
    """Chromium and websocket-client for the tours: installed when missing
    (Chromium with apt-get, as root only). Return why they are still
    missing, or ``None``."""
    if not find_browser():
        if os.geteuid() == 0 and shutil.which("apt-get"):
            print(
                f"no Chrome/Chromium for the UI tours: installing Debian's "
                f"{BROWSER_APT_PACKAGE} with apt-get",
                flush=True,
            )
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            install = ["apt-get", "install", "-y", "--no-install-recommends"]
            for cmd in (["apt-get", "update"], [*install, BROWSER_APT_PACKAGE]):
                if run(cmd, env=env).returncode:
                    break
        browser = find_browser()
        if not browser:
            return (
                f"none of {', '.join(BROWSER_NAMES)} on PATH and it could not be "
                f"installed (needs root and apt-get: apt-get install "
                f"{BROWSER_APT_PACKAGE})"
            )
        print(f"UI tours will use {browser}")
    probe = [sys.executable, "-c", "import websocket"]
    if subprocess.run(probe, capture_output=True).returncode:
        print(f"websocket-client missing for the UI tours: installing {WEBSOCKET_REQ}")
        run([sys.executable, "-m", "pip", "install", "--quiet", WEBSOCKET_REQ])
        if subprocess.run(probe, capture_output=True).returncode:
            return f"the {WEBSOCKET_REQ} module could not be installed"
    return None


def write_odoo_config(path, cluster, paths, data_dir, logfile):
    """The Odoo configuration file pytest-odoo reads (``--odoo-config``):
    the same server, addons and data folder as the odoo-bin runs, the log to
    a file so that it can be checked as theirs is."""
    options = {
        "db_host": cluster.host,
        "db_port": cluster.port,
        "db_user": cluster.user,
        "db_password": cluster.password or "False",
        "addons_path": ",".join(paths),
        "data_dir": data_dir,
        "http_interface": "127.0.0.1",
        "max_cron_threads": 0,
        "logfile": logfile,
    }
    lines = ["[options]", *(f"{key} = {value}" for key, value in options.items())]
    Path(path).write_text("\n".join(lines) + "\n")


def browser_skips_in_junit(path):
    """(test, reason) of the tests a JUnit file reports skipped for want of
    Chrome or websocket-client."""
    if not path.exists():
        return []
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        for skipped in case.iter("skipped"):
            reason = skipped.get("message", "")
            if re.search(r"chrom|websocket", reason, re.IGNORECASE):
                out.append((f"{case.get('classname')}.{case.get('name')}", reason))
    return out


def odoo_bin_tests(stage, text, failures):
    """Read Odoo's own test-runner summary from an odoo-bin log into
    ``stage``; return its line for the stage detail."""
    summaries = re.findall(
        r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database", text
    )
    skipped = len(re.findall(r": skipped \S+ ", text))
    for match in [m for m in map(BROWSER_SKIP.search, text.splitlines()) if m][:10]:
        print(f"   UI tour skipped, no browser: {match.group(1)}: {match.group(2)}")
        failures.append("UI tours need Chromium: skipped")
    if not summaries:
        print("odoo-bin tests: no test summary found in the log")
        failures.append("no Odoo test ran through odoo-bin")
        return "odoo-bin: no test ran"
    failed, errors, total = (int(x) for x in summaries[-1])
    passed = max(0, total - failed - errors - skipped)
    stage.passed += passed
    stage.failed += failed + errors
    stage.skipped += skipped
    line = f"odoo-bin: {total} tests, {failed} failed, {errors} error(s)"
    print(line)
    if not total:
        failures.append("odoo-bin --test-tags selected no test")
    return line


def addon_state(cluster, db):
    """The add-on's state in ``db`` (``installed``...), ``None`` when unknown."""
    try:
        return cluster.scalar(
            db, f"SELECT state FROM ir_module_module WHERE name = '{ADDON}'"
        )
    except subprocess.CalledProcessError:
        return None


def odoo_18_missing():
    """Why the Odoo stages cannot run here (no Odoo 18 importable), or ``""``."""
    version, why = odoo_version()
    if version is None:
        return f"no Odoo importable by {sys.executable} ({why})"
    if version != "18":
        return f"the importable Odoo is version {version}, not 18"
    return ""


def addons_path_with_report_xlsx():
    """The addons path, OCA's report_xlsx installed from PyPI when missing."""
    paths, report_xlsx = addons_path()
    if not report_xlsx:
        print(f"report_xlsx not found beside Odoo: installing {REPORT_XLSX_REQ}")
        run(
            [sys.executable, "-m", "pip", "install", "--quiet", REPORT_XLSX_REQ],
            check=True,
        )
        paths, report_xlsx = addons_path()
    return paths


def install(cmd, log, what, shown=80):
    """Run an ``odoo-bin`` install, print ``what`` with its time, exit code
    and the first ``shown`` warning or error lines of its log.

    :return: ``(exit code, log text, warning/error lines)``
    """
    rc, text, secs = run_odoo(cmd, log)
    bad = bad_lines(text)
    print(f"{what}: {secs:.0f}s, exit {rc}, {len(bad)} warning/error line(s)")
    for line in bad[:shown]:
        print("  ", line)
    return rc, text, bad


def conclude(stage, start, failures, notes, suite):
    """Set an Odoo stage's time, status and detail; ``suite`` names its
    failed tests among the failures."""
    stage.seconds = time.monotonic() - start
    if stage.failed:
        failures.append(suite)
    stage.status = "ran/failed" if failures else "ran/passed"
    stage.detail = "; ".join(dict.fromkeys([*failures, *notes]))


def stage_odoo(stage, test_tags=None, keyword=None, quick=False):
    """Install with demo (checked log), then on a fresh database without demo
    the add-on's tests: through pytest-odoo, and through odoo-bin's own runner
    when ``test_tags`` is given (only through it when no ``keyword`` is)."""
    missing = odoo_18_missing()
    if missing:
        stage.detail = missing
        return
    paths = addons_path_with_report_xlsx()
    with_pytest = keyword is not None or not test_tags
    if with_pytest and importlib.util.find_spec("pytest_odoo") is None:
        stage.status = "ran/failed"
        stage.detail = (
            f"pytest-odoo is not importable by {sys.executable}: "
            "pip install -r requirements-test.txt"
        )
        return
    start = time.monotonic()
    no_browser = ensure_browser()
    if no_browser:
        print(f"UI TOURS CANNOT RUN: {no_browser}; Odoo would skip them", flush=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    cluster = pgcluster.ensure_cluster()
    data_dir = tempfile.mkdtemp(prefix="cbg-odoo-data-")
    suffix = f"{os.getpid()}"
    test_log = LOG_DIR / f"odoo-tests-{suffix}.log"
    pytest_log = LOG_DIR / f"odoo-pytest-{suffix}.log"
    junit = LOG_DIR / "odoo-junit.xml"
    failures, notes = [], []
    if no_browser:
        failures.append(f"UI tours need Chromium: {no_browser}")
    try:
        common = ["--addons-path", ",".join(paths), "--log-level", "info"]
        # 1. install with demo data: no warning or error in the log
        db_demo = f"cbg_demo_{suffix}"
        if not quick:
            rc, _text, bad = install(
                odoo_cmd(cluster, db_demo, [*common, "-i", ADDON], data_dir),
                LOG_DIR / f"odoo-install-demo-{suffix}.log",
                "install with demo data",
                shown=40,
            )
            if rc or bad:
                failures.append("install with demo")
        # 2. fresh database without demo: the add-on installed (and, with
        # --test-tags, those tests run by Odoo's runner as it installs)
        db_test = f"cbg_test_{suffix}"
        extra = ["--without-demo", "all", "-i", ADDON]
        if test_tags:
            extra += ["--test-enable", "--test-tags", test_tags]
        rc, text, bad = install(
            odoo_cmd(cluster, db_test, [*common, *extra], data_dir),
            test_log,
            f"install without demo{' + odoo-bin tests' if test_tags else ''}",
        )
        if test_tags:
            notes.append(odoo_bin_tests(stage, text, failures))
        if rc or bad:
            failures.append(
                "install without demo" + (" + odoo-bin tests" * bool(test_tags))
            )
        # 3. the add-on's tests through pytest-odoo, on that database (an
        # odoo-bin exit 1 may be failed tests only: the state says)
        if with_pytest and (not rc or addon_state(cluster, db_test) == "installed"):
            run_odoo_pytest(
                stage,
                cluster,
                paths,
                data_dir,
                db_test,
                ODOO_TESTS,
                keyword,
                pytest_log,
                junit,
                failures,
                notes,
            )
        elif with_pytest:
            failures.append("pytest-odoo not run: the add-on did not install")
        if test_tags or not with_pytest or rc:
            notes.append(f"log: {test_log.relative_to(ROOT)}")
        for db in (db_demo, db_test):
            cluster.drop_database(db)
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    conclude(stage, start, failures, notes, "odoo suite")


def run_odoo_pytest(
    stage, cluster, paths, data_dir, db, tests, keyword, log, junit, failures, notes
):
    """pytest-odoo on ``tests`` against ``db``: counts into ``stage``, what
    went wrong into ``failures``, the summary and files into ``notes``."""
    config = Path(data_dir) / f"odoo-pytest-{db}.conf"
    write_odoo_config(config, cluster, paths, data_dir, log)
    junit.unlink(missing_ok=True)
    cmd = pytest_cmd(
        ODOO_PLUGINS,
        f"--odoo-config={config}",
        f"--odoo-database={db}",
        "--odoo-http",  # the UI tours (HttpCase) need the server
        "--odoo-log-level=info",
        f"--junitxml={junit}",
        "-v",
        *(["-k", keyword] if keyword else []),
        tests,
    )
    prc, output = run_pytest(cmd)
    why = read_pytest(stage, prc, output, keyword)
    summary = pytest_summary(output)[0] or f"exit {prc}, no summary line"
    print(f"pytest-odoo: {summary}")
    notes.append(f"pytest-odoo: {summary}")
    if why == "":
        notes.append(f"-k {keyword!r} selects no Odoo test")
    elif why:
        failures.append(why)
    log_text = log.read_text(errors="replace") if log.exists() else ""
    bad = bad_lines(log_text, allowed=PYTEST_ODOO_IMPORT)
    for line in bad[:80]:
        print("  ", line)
    if bad:
        failures.append(f"{len(bad)} warning/error line(s) in the Odoo log")
    for test, reason in browser_skips_in_junit(junit)[:10]:
        print(f"   UI tour skipped, no browser: {test}: {reason}")
        failures.append("UI tours need Chromium: skipped")
    notes.append(f"junit: {junit.relative_to(ROOT)}")
    notes.append(f"log: {log.relative_to(ROOT)}")


def ensure_queue_job():
    """OCA's queue_job beside Odoo, installed from PyPI when missing.
    Return why it is still missing, or ``None``."""
    if "queue_job" in oca_addons()[1]:
        return None
    print(f"queue_job not found beside Odoo: installing {QUEUE_JOB_REQ}")
    proc = run([sys.executable, "-m", "pip", "install", "--quiet", QUEUE_JOB_REQ])
    if "queue_job" in oca_addons()[1]:
        return None
    return (
        f"OCA's queue_job is not importable and pip could not install "
        f"{QUEUE_JOB_REQ} (exit {proc.returncode})"
    )


def stage_queue(stage, keyword=None, quick=False):
    """The job-queue add-on: installed with demo data beside the main one
    (log checked), then on a fresh database without demo, where pytest-odoo
    runs its tests. Skipped, with the reason, without Odoo 18 or where
    queue_job cannot be installed."""
    missing = odoo_18_missing()
    if missing:
        stage.detail = missing
        return
    missing = ensure_queue_job()
    if missing:
        stage.detail = f"{QUEUE_ADDON} not tested: {missing}"
        return
    paths = addons_path_with_report_xlsx()
    if importlib.util.find_spec("pytest_odoo") is None:
        stage.status = "ran/failed"
        stage.detail = f"pytest-odoo is not importable by {sys.executable}"
        return
    start = time.monotonic()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    cluster = pgcluster.ensure_cluster()
    data_dir = tempfile.mkdtemp(prefix="cbg-odoo-queue-data-")
    suffix = f"queue-{os.getpid()}"
    failures, notes = [], []
    try:
        common = ["--addons-path", ",".join(paths), "--log-level", "info"]
        db_demo = f"cbg_qdemo_{os.getpid()}"
        if not quick:
            rc, _text, bad = install(
                odoo_cmd(cluster, db_demo, [*common, "-i", QUEUE_ADDON], data_dir),
                LOG_DIR / f"odoo-install-demo-{suffix}.log",
                f"install {QUEUE_ADDON} with demo data",
                shown=40,
            )
            if rc or bad:
                failures.append("install with demo")
        db_test = f"cbg_qtest_{os.getpid()}"
        test_log = LOG_DIR / f"odoo-tests-{suffix}.log"
        extra = ["--without-demo", "all", "-i", QUEUE_ADDON]
        rc, _text, bad = install(
            odoo_cmd(cluster, db_test, [*common, *extra], data_dir),
            test_log,
            f"install {QUEUE_ADDON} without demo",
        )
        if rc or bad:
            failures.append("install without demo")
            notes.append(f"log: {test_log.relative_to(ROOT)}")
        if not rc:
            run_odoo_pytest(
                stage,
                cluster,
                paths,
                data_dir,
                db_test,
                QUEUE_TESTS,
                keyword,
                LOG_DIR / f"odoo-pytest-{suffix}.log",
                LOG_DIR / "odoo-queue-junit.xml",
                failures,
                notes,
            )
        else:
            failures.append("pytest-odoo not run: the add-on did not install")
        for db in (db_demo, db_test):
            cluster.drop_database(db)
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    conclude(stage, start, failures, notes, "queue suite")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--stages",
        default="plain,lint,odoo,queue",
        help="comma-separated subset to run",
    )
    parser.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPRESSION",
        help="pytest -k: run only the plain and Odoo tests matching it",
    )
    parser.add_argument(
        "--test-tags",
        help=f"Odoo stage: also run these tests through odoo-bin --test-enable "
        f"(e.g. /{ADDON}:TestCostSync); without -k, only through it",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Odoo stage: skip the install with demo data (for development)",
    )
    parser.add_argument(
        "pytest_args", nargs="*", help="extra plain-stage pytest arguments"
    )
    args = parser.parse_args()
    wanted = args.stages.split(",")
    stages = [Stage(name) for name in ("plain", "lint", "odoo", "queue")]
    for stage in stages:
        if stage.name not in wanted:
            stage.detail = "not asked for (--stages)"
            continue
        print(f"\n===== stage {stage.name} =====", flush=True)
        if stage.name == "plain":
            stage_plain(stage, args.pytest_args, args.keyword)
        elif stage.name == "lint":
            stage_lint(stage)
        elif stage.name == "odoo":
            stage_odoo(stage, args.test_tags, args.keyword, quick=args.quick)
        else:
            stage_queue(stage, args.keyword, quick=args.quick)
    print("\n===== summary =====")
    for stage in stages:
        print(stage.line())
    tests = [s for s in stages if s.name != "lint"]
    passed = sum(s.passed for s in tests)
    failed = sum(s.failed for s in tests)
    skipped = sum(s.skipped for s in tests)
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
    if args.keyword and not passed + failed and any(s.name in wanted for s in tests):
        print(f"-k {args.keyword!r} selected no test in any stage")
        return 1
    return 1 if any(s.status == "ran/failed" for s in stages) else 0


if __name__ == "__main__":
    sys.exit(main())
