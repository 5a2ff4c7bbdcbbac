"""A throwaway PostgreSQL server for the tests: initdb into a temp folder, start, yield a URL, stop.

Needs the server binaries (Debian: `apt-get install postgresql`, found under
/usr/lib/postgresql/<version>/bin). Without them the tests that use it are skipped, except on CI
(CI=true), where that is a failure. PostgreSQL refuses to run as root: as root, the server runs as
the `postgres` system user (created by the Debian package), else as `nobody`.

Use: `from pg import pg_url  # noqa: F401` in conftest.py, then ask for the `pg_url` fixture.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
DATABASE = "churn_test"


def find_pg_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl."""
    found = [Path(p) for p in glob.glob(PG_BIN_GLOB) if (Path(p) / "initdb").exists() and (Path(p) / "pg_ctl").exists()]
    return max(found, key=lambda p: _version(p.parent.name)) if found else None


def _version(name: str) -> tuple:
    return tuple(int(x) if x.isdigit() else 0 for x in name.split("."))


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One server in its own temp folder; `start()` / `stop()`; `url(db)` gives a SQLAlchemy URL."""

    def __init__(self, bin_dir: Path, user: str = "postgres"):
        self.bin_dir = bin_dir
        self.superuser = user  # the database superuser (initdb -U), whatever the OS user
        self.root = Path(tempfile.mkdtemp(prefix="churn-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port: int | None = None
        self.os_user = None
        if os.geteuid() == 0:
            self.os_user = _unprivileged_user()
            os.chown(self.root, self.os_user.pw_uid, self.os_user.pw_gid)
        self.sockets.mkdir()
        if self.os_user:
            os.chown(self.sockets, self.os_user.pw_uid, self.os_user.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.os_user:
            kwargs = {"user": self.os_user.pw_uid, "group": self.os_user.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}
        if self.os_user:
            env |= {"HOME": str(self.root), "USER": self.os_user.pw_name, "LOGNAME": self.os_user.pw_name}
        return subprocess.run([str(self.bin_dir / args[0]), *args[1:]], cwd=self.root, env=env, timeout=timeout,
                              capture_output=True, text=True, **kwargs)

    def start(self, attempts: int = 3) -> None:
        init = self._run("initdb", "-D", str(self.data), "-U", self.superuser, "--auth-local=trust",
                         "--auth-host=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
        if init.returncode:
            raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        for attempt in range(attempts):  # another process may take the free port before the server does
            self.port = free_port()
            run = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", self._options(),
                            "start")
            if run.returncode == 0:
                return
            if attempt == attempts - 1:
                log = self.log.read_text(errors="replace") if self.log.exists() else ""
                raise RuntimeError(f"pg_ctl start failed ({run.returncode}):\n{run.stdout}\n{run.stderr}\n{log}")

    def halt(self) -> None:
        """Stop the server at once (`-m immediate`: connections are cut, as when a database host goes down)."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", timeout=60)

    def restart(self) -> None:
        """Start the halted server again on the same port (clients reconnect to the same URL)."""
        run = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", self._options(),
                        "start")
        if run.returncode:
            raise RuntimeError(f"pg_ctl restart failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")

    def _options(self) -> str:
        return (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.sockets} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")

    def stop(self) -> None:
        try:
            self.halt()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        return create_database(self.url(), name)


def create_database(url: str, name: str) -> str:
    """Create database `name` on the server of `url` (any database there); return its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, but there is neither a `postgres` nor a `nobody` user to run PostgreSQL as")


def pg_server_or_skip() -> PostgresServer:
    """A new, not yet started server; skipped (failed on CI) without the binaries."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        message = (f"PostgreSQL server binaries (initdb, pg_ctl) not found under {PG_BIN_GLOB}; "
                   "install them with `apt-get install postgresql`")
        if on_ci():
            pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run on CI; .ci/run installs it)")
        pytest.skip(message)
    return PostgresServer(bin_dir)


@pytest.fixture(scope="session")
def pg_url():
    """`postgresql+psycopg://postgres@127.0.0.1:PORT/churn_test` on a throwaway server (a few seconds to start)."""
    server = pg_server_or_skip()
    try:
        started = time.perf_counter()
        server.start()
        url = server.create_database(DATABASE)
        server.startup_seconds = time.perf_counter() - started
        yield url
    finally:
        server.stop()
