"""Load benchmark: many simultaneous viewers of the app, measured at the server, not in a browser.

    .venv/bin/python bench/load.py --users 50 --seconds 60 [--page cockpit|board] [--processes P]
                                  [--url http://127.0.0.1:8501] [--signins 10]

Each simulated user is a real Streamlit session over the app's own websocket protocol (its
protobuf messages, as the browser sends them), signed in as a demo user of a mix of roles (the
session cookie a sign-in sets): it asks for its page again and again at changing places (units
it may read, the last months) and times each rerun from the request to the script's finished
message. With --processes P the bench starts the app on a copy of the demo warehouse as `make serve
WORKERS=P` does (P app processes behind nginx, sticky sessions, one scheduler); with --url it uses a
running app or a proxy in front of several. --signins N first times N sign-ins through the form
(the username and password fields and the submit button, as widget states).

Prints a table by role and a last line:
    users=N p50=… p95=… errors=… views_per_s=… rss_mb=…
(rss_mb: the largest resident size among the app processes at the end). Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

from kpi_core.auth import users as user_store  # noqa: E402
from kpi_core.model.config import warehouse_path  # noqa: E402
from kpi_core.store import org  # noqa: E402
from kpi_core.store.warehouse import open_warehouse  # noqa: E402

TODAY = "2026-11-27"
PASSWORD = "Load-bench-2026!"
ROLES = [("ceo", "executive"), ("mgr_d1", "manager"), ("lead_t1", "team lead"), ("emp_p0001", "employee"),
         ("root", "admin")]
COOKIE = "kpi_session"  # pages/login.py
PAGE = {"cockpit": "", "board": "boards"}


@dataclass
class Tally:
    times: list[float] = field(default_factory=list)
    errors: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(folder: Path | None) -> Path:
    """A copy of the demo warehouse (or, for a running app, the warehouse itself) with passwords
    for the demo users and an admin."""
    source = warehouse_path()
    if not source.exists():
        raise SystemExit(f"no warehouse at {source}: run `make warehouse` (or set KPI_WAREHOUSE)")
    path = source if folder is None else folder / "load.duckdb"
    if folder is not None:
        shutil.copyfile(source, path)
    wh = open_warehouse(path)
    if not any(u.name == "root" for u in user_store.list_users(wh)):
        user_store.add(wh, "root", "admin", password=PASSWORD)
    for name, _ in ROLES:
        user_store.set_password(wh, name, PASSWORD)
    wh.let_go()
    return path


def start(path: Path, folder: Path, n: int) -> tuple[subprocess.Popen, str]:
    """The app on the warehouse as `make run` (n = 1) or `make serve WORKERS=n` (n app processes
    behind nginx, the jobs in the supervisor) starts it: (the process, its URL)."""
    port = free_port()
    env = {**os.environ, "KPI_WAREHOUSE": str(path), "KPI_TODAY": TODAY}
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "serve.py", "--workers", str(n), "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1",
                             "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"the app at {url} did not start; see {folder}") from None
            time.sleep(0.3)


def app_pids(proc: subprocess.Popen) -> list[int]:
    """The app processes: the one started, or the supervisor's children."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True).stdout
    return [proc.pid, *map(int, out.split())]


def rss_mb(pids: list[int]) -> float:
    best = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    best = max(best, int(line.split()[1]) / 1024)
        except OSError:
            pass
    return best


class Session:
    """One browser tab's conversation with the server, without the browser."""

    def __init__(self, url: str, token: str | None):
        self.url, self.token = url, token
        self.ws = None

    async def open(self) -> None:
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        headers = {"Origin": self.url}
        if self.token:
            headers["Cookie"] = f"{COOKIE}={self.token}"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], additional_headers=headers,
                                           max_size=None, open_timeout=60)

    async def rerun(self, query: str, page: str, widgets: list | None = None,
                    timeout: float = 120) -> tuple[float, list[ForwardMsg]]:
        """Ask for the page at `query`; (seconds until the script finished, the messages)."""
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        for w in widgets or []:
            msg.rerun_script.widget_states.widgets.append(w)
        got: list[ForwardMsg] = []
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            got.append(fm)
            # A run that ends early for a rerun (the app's own st.rerun) is followed by the next.
            if fm.WhichOneof("type") == "script_finished" and fm.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                if fm.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise RuntimeError("the app's script did not compile")
                return time.perf_counter() - t0, got

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


def element_ids(messages: list[ForwardMsg]) -> dict[str, str]:
    """Widget ids by their key (a widget's id ends with its key)."""
    out = {}
    for fm in messages:
        if fm.WhichOneof("type") != "delta" or fm.delta.WhichOneof("type") != "new_element":
            continue
        el = fm.delta.new_element
        kind = el.WhichOneof("type")
        widget = getattr(el, kind, None)
        wid = getattr(widget, "id", "") if widget is not None else ""
        if wid:
            out[wid.rsplit("-", 1)[-1]] = wid
    return out


async def sign_in_once(url: str, name: str) -> float:
    """Open the app signed out, fill the form, submit: seconds from the submit to the page drawn."""
    s = Session(url, None)
    await s.open()
    try:
        _, first = await s.rerun("", "")
        ids = element_ids(first)
        states = []
        for key, value in (("login_name", name), ("login_pw", PASSWORD)):
            w = WidgetState(id=ids[key])
            w.string_value = value
            states.append(w)
        submit = [wid for key, wid in ids.items() if "FormSubmitter" in wid or key.startswith("sign_in")]
        if not submit:
            raise RuntimeError(f"no submit button among {sorted(ids)}")
        b = WidgetState(id=submit[0])
        b.trigger_value = True
        states.append(b)
        seconds, _ = await s.rerun("", "", states)
        return seconds
    finally:
        await s.close()


async def viewer(url: str, token: str, page: str, places: list[str], months: list[str], until: float,
                 tally: Tally, rnd: random.Random) -> None:
    s = Session(url, token)
    try:
        await s.open()
        while time.perf_counter() < until:
            query = f"org={rnd.choice(places)}&period={rnd.choice(months)}"
            try:
                seconds, messages = await s.rerun(query, PAGE[page])
                if "login_name" in element_ids(messages):  # the sign-in form: the session was not resumed
                    raise RuntimeError("not signed in")
                tally.times.append(seconds)
            except (TimeoutError, RuntimeError, websockets.ConnectionClosed):
                tally.errors += 1
                await s.close()
                await s.open()
    except OSError:
        tally.errors += 1
    finally:
        await s.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run(args, urls: list[str], path: Path) -> dict[str, Tally]:
    wh = open_warehouse(path)
    tree = org.tree(wh)
    tokens, places = {}, {}
    for name, _ in ROLES:
        actor = user_store.actor(wh, name)
        tokens[name] = [user_store.start_session(wh, actor) for _ in range(args.users)]
        reach = [u for u in tree.units if actor.is_admin or actor.role == "executive" or any(
            o in tree.unit(u).path for o in actor.orgs)]
        places[name] = [u for u in reach if tree.unit(u).depth <= 2][:40] or reach[:40]
    wh.let_go()
    months = ["2026-11", "2026-10", "2026-09", "2026-Q3", "2026-08"]
    if args.signins:
        signins = [await sign_in_once(urls[i % len(urls)], ROLES[i % len(ROLES)][0]) for i in range(args.signins)]
        print(f"sign-in through the form: median {statistics.median(signins):.2f} s, "
              f"max {max(signins):.2f} s ({len(signins)} sign-ins, one at a time)")
    tallies = {role: Tally() for _, role in ROLES}
    until = time.perf_counter() + args.seconds
    rnd = random.Random(7)
    tasks = []
    for i in range(args.users):
        name, role = ROLES[i % len(ROLES)]
        tasks.append(viewer(urls[i % len(urls)], tokens[name][i], args.page, places[name], months, until,
                            tallies[role], random.Random(rnd.random())))
    await asyncio.gather(*tasks)
    return tallies


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--page", choices=sorted(PAGE), default="cockpit")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--url", help="a running app (or a proxy in front of several) on the warehouse at $KPI_WAREHOUSE")
    ap.add_argument("--signins", type=int, default=0)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    path = prepare(None if args.url else folder)
    proc, url = (None, args.url) if args.url else start(path, folder, args.processes)
    try:
        tallies = asyncio.run(run(args, [url], path))
        rss = rss_mb(app_pids(proc)) if proc else 0.0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"| role | views | p50 s | p95 s | errors |  ({args.page}, {args.users} users, {args.processes} "
          f"process(es), {args.seconds:.0f} s)")
    print("|---|---:|---:|---:|---:|")
    every = []
    for role, t in tallies.items():
        every += t.times
        print(f"| {role} | {len(t.times)} | {pct(t.times, 50):.2f} | {pct(t.times, 95):.2f} | {t.errors} |")
    errors = sum(t.errors for t in tallies.values())
    print(f"users={args.users} p50={pct(every, 50):.2f} p95={pct(every, 95):.2f} errors={errors} "
          f"views_per_s={len(every) / max(args.seconds, 1e-9):.1f} rss_mb={rss:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
