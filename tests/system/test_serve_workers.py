"""Several app processes behind nginx (`serve.py --workers 2`): sessions on both processes, signed
in through the form, see the same new number right after an import made by another process; the
browser asks nothing of another host and meets no 404 (Streamlit's page looks for its server at
/<page>/_stcore/health first unless told where it is); the scheduler runs once, in the supervisor;
and a SIGTERM stops nginx and every app process."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DEMO_TODAY
from tests.system.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    EXAMPLES,
    _need,
    _people,
    launch,
    shot,
    sign_in,
    wait_title,
    wait_up,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
HEADCOUNT = re.compile(r"在岗人数: (\d+) \(")


def _nginx() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.fixture(scope="module")
def proxied(demo_template, tmp_path_factory):
    """`serve.py --workers 2` on a copy of the demo: yields (URL, warehouse path, the supervisor)."""
    _need(_nginx() is not None, "nginx is missing (make test installs it as root with apt)")
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing")
    path = tmp_path_factory.mktemp("workers") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    _people(path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KPI_WAREHOUSE": str(path), "KPI_TODAY": DEMO_TODAY.isoformat(), "KPI_JOBS": "on"}
    log = ARTIFACTS.parent / "serve-workers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "serve.py", "--workers", "2", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=(out := log.open("wb")), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_up(url, proc, out, log, 120)
    try:
        yield url, path, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_sessions_on_both_processes_see_an_import_at_once(proxied):
    url, path, proc = proxied
    apps = _children(proc.pid)
    assert len(apps) == 3  # two app processes and nginx's master
    requests: list[str] = []
    problems: list[tuple[int, str]] = []

    def failed(response) -> None:
        if response.status >= 400:
            problems.append((response.status, response.url))

    for b in launch():
        sessions = {}
        for _ in range(12):  # new visitors until both processes have one (1 in 2**11 that they do not)
            ctx = b.new_context(viewport={"width": 1440, "height": 1400}, locale="zh-CN")
            pg = ctx.new_page()
            pg.set_default_timeout(90_000)
            pg.on("request", lambda r: requests.append(r.url))
            pg.on("response", failed)
            first = pg.goto(f"{url}/")
            process = first.headers["x-kpi-process"]
            if process in sessions:
                ctx.close()
                continue
            sign_in(pg, url, "root", "?org=D1-SAL-T1&period=2026-10")
            assert pg.goto(f"{url}/boards").headers["x-kpi-process"] == process  # the route cookie holds
            wait_title(pg, "看板")
            pg.goto(f"{url}/?org=D1-SAL-T1&period=2026-10")
            wait_title(pg, "华东销售一组")
            pg.get_by_role("tab", name="平衡计分卡").click()
            pg.get_by_text(re.compile(r"在岗人数: 9 \(")).wait_for()  # before the import
            sessions[process] = pg
            if len(sessions) == 2:
                break
        assert len(sessions) == 2, "every visitor landed on one process"
        done = subprocess.run([sys.executable, "-m", "kpi_core", "--warehouse", str(path), "import", "actuals",
                               str(EXAMPLES / "团队月度实绩_宽表_2026.xlsx")], cwd=ROOT,
                              env={**os.environ, "KPI_TODAY": DEMO_TODAY.isoformat()},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        for n, pg in enumerate(sessions.values()):  # the next view in each process shows the new number
            pg.reload()
            wait_title(pg, "华东销售一组")
            pg.get_by_role("tab", name="平衡计分卡").click()
            pg.get_by_text(re.compile(r"在岗人数: 15 \(")).wait_for()
            shot(pg, f"w{n + 1}_after_import_process_{n + 1}")
        assert problems == []  # no 404 for /<page>/_stcore/health, nothing refused
        assert {re.match(r"https?://[^/]+", u).group(0) for u in requests} == {url}
        assert not [u for u in requests if "/boards/_stcore/" in u]


def _lock_holders(path: Path) -> set[int]:
    """The processes that hold a flock on the file (/proc/locks: '1: FLOCK ADVISORY WRITE pid maj:min:inode …')."""
    inode = os.stat(path).st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "FLOCK" in parts and parts[-3].split(":")[-1] == str(inode):
            holders.add(int(parts[-4]))
    return holders


def test_the_scheduler_runs_once_and_sigterm_stops_everything(proxied):
    url, path, proc = proxied
    apps = _children(proc.pid)
    assert _lock_holders(path.with_name(path.name + ".jobs.lock")) == {proc.pid}  # the jobs run in the supervisor
    for pid in apps:  # the app processes start no scheduler
        if b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes():
            env = dict(kv.split(b"=", 1) for kv in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in kv)
            assert env[b"KPI_JOBS"] == b"off"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    for pid in apps:
        assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/_stcore/health", timeout=2)
