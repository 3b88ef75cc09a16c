"""A PostgreSQL server for the test and run commands.

Uses the server named by ``PGHOST``/``PGPORT``/``PGUSER`` when one answers,
else starts a private cluster of Debian's PostgreSQL on loopback: a
throw-away one in /tmp for the tests, or a kept one in ``.local/`` for the
run command.
"""

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass

ODOO_ROLE = "odoo"


@dataclass
class Cluster:
    host: str
    port: int
    user: str
    password: str | None = None
    datadir: str | None = None  # set when this process started the server
    temporary: bool = False

    def odoo_args(self):
        """Odoo's command-line options to reach this server."""
        args = ["--db_host", self.host, "--db_port", str(self.port)]
        args += ["--db_user", self.user]
        if self.password:
            args += ["--db_password", self.password]
        return args

    def _client_args(self):
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

    def _env(self):
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def drop_database(self, name):
        """Drop database ``name`` if it exists."""
        subprocess.run(
            ["dropdb", *self._client_args(), "--if-exists", name],
            capture_output=True,
            env=self._env(),
        )

    def scalar(self, database, query):
        """The first column of the first row of ``query`` (a constant SQL
        text) in ``database``, as text; None when there is no row."""
        proc = subprocess.run(
            ["psql", *self._client_args(), "-d", database, "-tAc", query],
            capture_output=True,
            text=True,
            env=self._env(),
            check=True,
        )
        value = proc.stdout.strip()
        return value or None

    def database_exists(self, name):
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"unexpected database name {name!r}")
        proc = subprocess.run(
            [
                "psql",
                *self._client_args(),
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
            ],
            capture_output=True,
            text=True,
            env=self._env(),
        )
        return proc.stdout.strip() == "1"

    def stop(self):
        if not self.datadir:
            return
        _as_postgres(
            [_pg_bin("pg_ctl"), "-D", self.datadir, "-m", "fast", "-w", "stop"]
        )
        if self.temporary:
            shutil.rmtree(self.datadir, ignore_errors=True)
        self.datadir = None


def _pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if found:
        return found[0]
    path = shutil.which(name)
    if not path:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install Debian's postgresql "
            "package (apt-get install postgresql)."
        )
    return path


def _as_postgres(cmd, **kwargs):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(host, port, user, password=None):
    try:
        import psycopg2  # noqa: PLC0415 (only there where Odoo is)
    except ImportError:
        return False
    try:
        conn = psycopg2.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            dbname="postgres",
            connect_timeout=3,
        )
    except Exception:
        return False
    conn.close()
    return True


def _start(datadir, port, temporary):
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(datadir, owner.pw_uid, owner.pw_gid)
    if not os.path.exists(os.path.join(datadir, "PG_VERSION")):
        _as_postgres(
            [
                _pg_bin("initdb"),
                "-D",
                datadir,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} "
        f"-c unix_socket_directories={datadir} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off "
        "-c shared_buffers=256MB -c max_connections=100"
    )
    _as_postgres(
        [
            _pg_bin("pg_ctl"),
            "-D",
            datadir,
            "-o",
            options,
            "-l",
            os.path.join(datadir, "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ]
    )
    cluster = Cluster(
        "127.0.0.1", port, ODOO_ROLE, datadir=datadir, temporary=temporary
    )
    psql = [
        _pg_bin("psql"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-tAc",
    ]
    exists = _as_postgres(
        [*psql, f"SELECT 1 FROM pg_roles WHERE rolname='{ODOO_ROLE}'"]
    )
    if not exists.stdout.strip():
        _as_postgres([*psql, f"CREATE ROLE {ODOO_ROLE} SUPERUSER LOGIN"])
    return cluster


def ensure_cluster(keep_dir=None, port=None):
    """Return a reachable :class:`Cluster`.

    :param keep_dir: data directory to create or reuse (run command); when
        ``None`` a throw-away cluster is made in /tmp (tests)
    """
    host = os.environ.get("PGHOST")
    if host:
        port_env = int(os.environ.get("PGPORT", "5432"))
        user = os.environ.get("PGUSER", ODOO_ROLE)
        password = os.environ.get("PGPASSWORD")
        if _answers(host, port_env, user, password):
            return Cluster(host, port_env, user, password)
        raise RuntimeError(f"PGHOST={host}:{port_env} does not answer as {user}.")
    if keep_dir:
        os.makedirs(keep_dir, exist_ok=True)
        port_file = os.path.join(keep_dir, ".port")
        if port is None and os.path.exists(port_file):
            with open(port_file) as f:
                port = int(f.read().strip())
        port = port or free_port()
        with open(port_file, "w") as f:
            f.write(str(port))
        if _answers("127.0.0.1", port, ODOO_ROLE):
            return Cluster("127.0.0.1", port, ODOO_ROLE)
        datadir = os.path.join(keep_dir, "data")
        os.makedirs(datadir, exist_ok=True)
        return _start(datadir, port, temporary=False)
    datadir = tempfile.mkdtemp(prefix="cbg-pg-")
    with suppress(OSError):
        os.chmod(datadir, 0o700)
    try:
        return _start(datadir, port or free_port(), temporary=True)
    except Exception:
        shutil.rmtree(datadir, ignore_errors=True)
        raise


def wait_port(host, port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError), socket.create_connection((host, port), timeout=1):
            return True
        time.sleep(0.2)
    return False
