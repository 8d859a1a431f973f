"""Start the app and its scheduler: `python serve.py [--workers P] [streamlit options]` (what
`make run` and `make serve WORKERS=P` do).

One process (the default): the jobs (alert checks, deliveries, subscriptions, reminders) start
with the server, before anyone opens a page, and share the process — and so the warehouse file —
with the app. `streamlit run app.py` alone starts them at the first visit instead.

Several (`--workers P`, P > 1): P app processes on free local ports behind Debian's nginx
(deploy/nginx.conf.in: sticky sessions by a route cookie) on the port asked for; the scheduler
runs here, once, and the app processes run none (KPI_JOBS=off). They share one warehouse file:
page reads open it read-only side by side (store/warehouse.py), writes take turns. Ctrl-C or
SIGTERM stops nginx and every app process.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf.in"
STARTUP_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def option(args: list[str], name: str, default: str) -> str:
    """A streamlit option's value as given (`--server.port 8501` or `--server.port=8501`)."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def without(args: list[str], *names: str) -> list[str]:
    """The streamlit options without the named ones (and their values)."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in names:
            skip = True
        elif not any(a.startswith(n + "=") for n in names):
            out.append(a)
    return out


def nginx_conf(prefix: Path, listen: str, ports: list[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in ports)
    return (NGINX_TEMPLATE.read_text(encoding="utf-8")
            .replace("@PREFIX@", str(prefix)).replace("@LISTEN@", listen).replace("@SERVERS@", servers))


def wait_healthy(port: int, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"app process on port {port} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"app process on port {port} did not start within {STARTUP_SECONDS:g} s")


def serve_many(workers: int, st_args: list[str]) -> int:
    """P app processes behind nginx, the scheduler here; returns when any of them stops."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx; `make serve` does it as root)")
    from kpi_core.jobs import schedule
    from kpi_core.model.config import jobs_enabled, warehouse_path
    from kpi_core.store.warehouse import open_warehouse

    port = option(st_args, "--server.port", "8501")
    address = option(st_args, "--server.address", "0.0.0.0")
    rest = without(st_args, "--server.port", "--server.address")
    prefix = Path(tempfile.mkdtemp(prefix="kpi-serve-"))
    env = dict(os.environ, KPI_JOBS="off",
               # one secret for all, so a form's XSRF cookie is good at any of them
               STREAMLIT_SERVER_COOKIE_SECRET=os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET")
               or secrets.token_hex(32))
    procs: list[subprocess.Popen] = []
    jobs = None
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        wh = open_warehouse(warehouse_path(), timeout=10)  # migrated once, before the app processes read it
        ports = [free_port() for _ in range(workers)]
        for p in ports:
            procs.append(subprocess.Popen([sys.executable, str(ROOT / "serve.py"), "--server.port", str(p),
                                           "--server.address", "127.0.0.1", *rest], cwd=ROOT, env=env))
        deadline = time.monotonic() + STARTUP_SECONDS
        for p, proc in zip(ports, procs, strict=True):
            wait_healthy(p, proc, deadline)
        listen = port if address in ("0.0.0.0", "") else f"{address}:{port}"
        (prefix / "nginx.conf").write_text(nginx_conf(prefix, listen, ports), encoding="utf-8")
        procs.append(subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                       "-g", "daemon off;"]))
        if jobs_enabled():
            jobs = schedule.start(wh)
        print(f"KPI Cockpit: {workers} app processes behind nginx at http://{address}:{port}", flush=True)
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.2)
        return next((p.returncode for p in procs if p.returncode), 0)
    finally:
        if jobs is not None:
            jobs.shutdown()  # before the interpreter's exit closes the pool its jobs run in
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if proc is procs[-1] and len(procs) > workers else signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(prefix, ignore_errors=True)


def preload() -> None:
    """Import the modules the pages share before any session runs. The first visits to a new server
    run their scripts in threads side by side (a page straight from pages/ in Streamlit's legacy
    mode, app.py in another), and two threads importing one graph of modules in different orders
    can meet Python's import deadlock guard: "cannot import name 'login' from 'pages'"."""
    import logging

    caching = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = caching.level
    caching.setLevel(logging.ERROR)  # "No runtime found": each st.cache_data checks its options as it is
    try:                             # defined; its storage is made at the first call, in the runtime
        import pages.common  # noqa: F401
        import pages.login  # noqa: F401
        import pages.nav  # noqa: F401
    finally:
        caching.setLevel(level)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=True)
    ap.add_argument("--workers", type=int, default=1, help="app processes (more than 1: behind nginx)")
    args, st_args = ap.parse_known_args()
    if args.workers > 1:
        return serve_many(args.workers, st_args)
    from streamlit.web import cli as streamlit_cli

    from kpi_core.jobs import schedule
    from kpi_core.model.config import jobs_enabled, warehouse_path
    from kpi_core.store.warehouse import open_warehouse

    if jobs_enabled():
        schedule.start(open_warehouse(warehouse_path(), timeout=10))
    preload()
    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *st_args]
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main())
