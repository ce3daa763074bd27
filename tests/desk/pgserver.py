"""A throwaway PostgreSQL cluster for the desk tests: initdb into a temporary folder,
``pg_ctl start`` on a free port, listening on 127.0.0.1 only, trust auth (nothing else can
reach it), stopped and deleted at the end of the session.

Debian's ``postgresql`` package puts the binaries in /usr/lib/postgresql/<major>/bin. When
they are missing the tests skip and say how to install them, unless ``REBAL_REQUIRE_PG=1``
(set by ``.ci/run``), where a missing server is a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = ("PostgreSQL is not installed: `apt-get install -y postgresql` (Debian/Ubuntu) to run the "
                "shared-journal tests")


def pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    return Path(dirs[-1]) if dirs else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bin: Path
    data: Path
    port: int
    as_user: list[str]  # ["runuser", "-u", "postgres", "--"] when run as root (initdb refuses root)

    @property
    def admin_url(self) -> str:
        return f"postgresql://rebal@127.0.0.1:{self.port}/postgres"

    def url(self, db: str) -> str:
        return f"postgresql://rebal@127.0.0.1:{self.port}/{db}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"), "-w", "-t", "30",
                  "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data} -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def new_database(self) -> str:
        import psycopg

        name = "j_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@contextlib.contextmanager
def pg_server() -> Iterator[PgServer]:
    binaries = pg_bin()
    if binaries is None:
        raise FileNotFoundError(INSTALL_HINT)
    as_user: list[str] = []
    root = tempfile.mkdtemp(prefix="rebal-pg-")
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data = Path(root) / "data"
    server = PgServer(binaries, data, free_port(), as_user)
    server._run(str(binaries / "initdb"), "-D", str(data), "-U", "rebal", "--auth=trust", "-E", "UTF8",
                "--no-sync")
    server.start()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def wait_until(pred, timeout: float = 5.0, step: float = 0.02) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())
