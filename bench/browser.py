"""Benchmark: the app in headless Chromium, from a click to a settled page, on the demo company.

    .venv/bin/python bench/browser.py [--runs 5] [--only period,board_nav] [--keep] [--warehouse PATH]

Builds the demo company in a temp dir (or copies --warehouse), gives `ceo` a password, starts
`streamlit run app.py` on a free port (KPI_WAREHOUSE, KPI_TODAY=2026-11-27) and drives Debian's
Chromium through Playwright. It times, median (min, max) of --runs:

  hq_first       the sign-in button → the cockpit of the company (HQ, latest month)
  period         the sidebar's "期间" selectbox → the cockpit at another month (a new month each run)
  drill_button   a child's "↓ name" button under the heat map → the child's cockpit
  breadcrumb     the company's breadcrumb button → back at the company
  drill_heatmap  a click on a child's cell in the heat map → the child's cockpit
  board_nav      the sidebar's "看板" link → the boards page on the 12-tile board (executive_bsc)
  board_switch   the boards radio: from another board to the 12-tile board
  after_import_click  an actuals file imported (by this process, while the app runs) while the
                 page shows a division, then a click on the company's breadcrumb → the company's
                 cockpit on the new data version (nothing cached for it yet)
  after_import   another import, then a reload of the page (a new document and session) → the
                 company's cockpit on the new data version

Before the runs, one sign-in warms the server (its figure is printed as `hq_first (cold server)`).
Each run signs in anew in a fresh browser context and goes through the cockpit actions at its
own month (2026-10, 2026-09, …), then the boards; after all runs come the imports.

"Settled": the last script run the action caused has finished (Streamlit's script_finished
message), Streamlit's status widget is gone, no element is stale (`[data-stale="true"]`), no
skeleton is left, every visible Vega chart holds its canvas or svg, the page shows what the action
asked for (title, URL), and the DOM has not changed for 0.4 s. The time is taken in the browser,
from the click's (or key's) event time to the last DOM change (or the script_finished message).

Per action it also reports, from the DevTools protocol's websocket events (network-level
timestamps, unaffected by a busy page):
  server  first rerun request sent → last script_finished received (the script run, callbacks
          included; the browser renders the deltas as they stream in meanwhile)
  KB      bytes of ForwardMsgs received, and which elements carry most of them
  browser total − server: the page's own work before and after (React, Vega, Arrow)
  long    the main thread's long tasks (> 50 ms) during the action, summed

Prints a Markdown table and a last SUMMARY line. Asserts nothing about time; exits 1 when an
action did not reach the page it should.

More options (see --help): --detail (every sample's timeline), --js-profile (the page's main
thread by script, from the DevTools JS profiler), --py-spy FILE (sample the server with py-spy,
if installed in the venv), --st OPTION=VALUE (a Streamlit server option, to try a config change)
and --app-dir DIR (serve a patched copy of the project, to time a proposed page change).
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TODAY = dt.date(2026, 11, 27)
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-browser-pw"
BOARD = "executive_bsc"   # the demo's 12-tile board
OTHER_BOARD = "sales"
PERIODS = [f"2026-{m:02d}" for m in range(10, 0, -1)] + [f"2025-{m:02d}" for m in range(12, 0, -1)]
QUIET_MS = 400
ACTIONS = ["hq_first", "period", "drill_button", "breadcrumb", "drill_heatmap", "board_nav", "board_switch",
           "after_import_click", "after_import"]
COCKPIT = {"period", "drill_button", "breadcrumb", "drill_heatmap"}
BOARDS = {"board_nav", "board_switch"}
IMPORTS = {"after_import_click", "after_import"}
TARGET = {"hq_first": 0.8, "period": 0.8, "drill_button": 0.8, "breadcrumb": 0.8, "drill_heatmap": 0.8,
          "board_nav": 1.2, "board_switch": 1.2, "after_import_click": 1.5, "after_import": 1.5}

# In every document: the click (or key) that starts an action, the websocket messages as the page
# sees them, DOM changes, long tasks, and a promise that resolves once the page has settled.
INIT_JS = r"""
(() => {
  const K = window.__kpi = {t0: 0, armed: false, mark: 0, msgs: [], lastMut: 0, longs: []};
  function fields(u8) {            // top-level protobuf fields: {number: varint value or length}
    const out = {}; let i = 0;
    const varint = () => { let r = 0, s = 0, b; do { b = u8[i++]; r += (b & 0x7f) * Math.pow(2, s); s += 7; }
                                                 while (b & 0x80 && i < u8.length); return r; };
    try {
      while (i < u8.length) {
        const tag = varint(), f = Math.floor(tag / 8), w = tag % 8;
        if (w === 0) out[f] = varint();
        else if (w === 2) { const n = varint(); out[f] = n; i += n; }
        else if (w === 1) i += 8; else if (w === 5) i += 4; else break;
      }
    } catch (e) {}
    return out;
  }
  const W = window.WebSocket;
  window.WebSocket = class extends W {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', ev => {
        const d = ev.data, u8 = d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array();
        K.msgs.push({t: performance.now(), dir: 'in', n: u8.length, f: fields(u8)});
      });
    }
    send(d) {
      const u8 = d instanceof ArrayBuffer ? new Uint8Array(d) : ArrayBuffer.isView(d)
        ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array();
      K.msgs.push({t: performance.now(), dir: 'out', n: u8.length, f: fields(u8)});
      return super.send(d);
    }
  };
  const start = e => { if (K.armed && K.t0 === null) { K.t0 = e.timeStamp; K.armed = false; } };
  for (const type of ['click', 'keydown']) window.addEventListener(type, start, true);
  K.arm = () => { K.t0 = null; K.armed = true; K.mark = K.msgs.length; K.longs = []; };
  const quiet = 'header, [data-testid="stStatusWidget"], [data-testid="stToast"]';  // not the page's content
  const ignored = n => { for (let e = n && n.nodeType === 1 ? n : n && n.parentElement; e; e = e.parentElement)
                           if (e.matches && e.matches(quiet)) return true;
                         return false; };
  new MutationObserver(rs => { if (rs.some(r => !ignored(r.target))) K.lastMut = performance.now(); })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  try { new PerformanceObserver(l => { for (const e of l.getEntries()) K.longs.push([e.startTime, e.duration]); })
          .observe({type: 'longtask', buffered: true}); } catch (e) {}
  K.problems = () => {
    const p = [];
    for (const w of document.querySelectorAll('[data-testid="stStatusWidget"]'))
      if (!w.className.includes('StatusWidget-exit')) p.push('running');
    if (document.querySelector('[data-stale="true"]')) p.push('stale');
    if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]')) p.push('skeleton');
    for (const c of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
      if (!c.offsetParent) continue;  // in a tab not shown
      const g = c.querySelector('canvas, svg.marks, .vega-embed svg');
      if (!g || !(g.clientWidth || g.getBoundingClientRect().width)) p.push('vega');
    }
    return p;
  };
  K.settle = (expect, timeout) => new Promise(resolve => {
    const begun = performance.now();
    const tick = () => {
      const now = performance.now(), mine = K.msgs.slice(K.mark);
      let fin = null, status = null;
      for (const m of mine) if (m.dir === 'in' && (m.f[6] !== undefined || m.f[4] !== undefined)) {
        status = m.f[6] !== undefined ? m.f[6] : 'running'; if (m.f[6] !== undefined) fin = m.t; }
      const ok = K.t0 !== null && (status === 0 || status === 3);
      let problems = ok ? K.problems() : ['not finished'];
      if (ok && expect && !new Function(expect)()) problems.push('expectation');
      if (!problems.length && now - Math.max(K.lastMut, fin) >= %QUIET%) {
        const end = Math.max(K.lastMut, fin), t0 = K.t0;
        const inn = mine.filter(m => m.dir === 'in' && m.t <= end + 1);
        const sent = mine.find(m => m.dir === 'out' && m.f[11] !== undefined);
        resolve({ok: true, total: end - t0, t0, end, fin, sent: sent ? sent.t : null,
                 bytes: inn.reduce((s, m) => s + m.n, 0), msgs: inn.length,
                 long: K.longs.filter(([s, d]) => s + d >= t0 && s <= end).reduce((s, [st, d]) => s + d, 0)});
      } else if (now - begun > timeout) {
        resolve({ok: false, problems, t0: K.t0, status, h1: (document.querySelector('h1') || {}).innerText});
      } else setTimeout(tick, 15);
    };
    tick();
  });
})();
""".replace("%QUIET%", str(QUIET_MS))


# --- the warehouse and the server ------------------------------------------------------------------

def build_warehouse(folder: Path, source: str | None) -> Path:
    from kpi_core.auth import users
    from kpi_core.store.warehouse import open_warehouse

    path = folder / "demo.duckdb"
    if source:
        shutil.copyfile(source, path)
    else:
        from kpi_core.demo.load import load_demo

        t0 = time.perf_counter()
        load_demo(open_warehouse(path), today=TODAY)
        print(f"demo built in {time.perf_counter() - t0:.1f} s")
    wh = open_warehouse(path)
    if not users.has_admin(wh):  # else the app shows its first-run form, not the sign-in
        users.add(wh, "root", "admin", password=PASSWORD)
    for name in ("ceo", "mgr_d1", "lead_t1", "emp_p0001"):
        users.set_password(wh, name, PASSWORD)
    return path


def demo_facts(path: Path) -> dict:
    """What the bench clicks on: the company's name, its children and the boards' titles."""
    from kpi_core.query.api import latest_month
    from kpi_core.store import boards, org
    from kpi_core.store.warehouse import Warehouse

    wh = Warehouse(path)
    tr = org.tree(wh)
    titles = {b.code: b.title for b in boards.all_boards(wh)}
    tiles = {b.code: len(b.tiles) for b in boards.all_boards(wh)}
    return {"root": tr.root, "root_name": tr.units[tr.root].name, "latest": latest_month(wh, TODAY),
            "children": [(c, tr.units[c].name) for c in tr.children[tr.root]], "titles": titles, "tiles": tiles,
            "people": [c for c in tr.subtree(tr.root) if tr.units[c].depth == max(u.depth for u in tr.units.values())]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(path: Path, folder: Path, options: list[str] = (),
                 app_dir: Path = ROOT) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "KPI_WAREHOUSE": str(path), "KPI_TODAY": TODAY.isoformat()}
    log = (folder / "server.log").open("wb")  # a pipe nobody reads would fill up and block the server
    proc = subprocess.Popen([sys.executable, "serve.py", "--server.port", str(port),  # as make run starts it
                             "--server.headless", "true", "--server.address", "127.0.0.1",
                             "--server.fileWatcherType", "none", *options], cwd=app_dir, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start:\n" + (folder / "server.log").read_text(errors="replace")[-3000:])


def import_actuals(path: Path, folder: Path, people: list[str], run: int, month: str) -> None:
    """A small actuals file (training hours of 50 people in the latest month), new values each run."""
    from kpi_core.ingest.facts.load import import_facts
    from kpi_core.store.warehouse import Warehouse

    csv = folder / f"actuals_{run}.csv"
    rows = [f"training_hours,{p},{month},{(i * 7 + run * 3) % 40 + 1}" for i, p in enumerate(people[:50])]
    csv.write_text("metric,org,period,actual\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = import_facts(Warehouse(path), "actuals", csv, user="admin")
    if result.batch is None:
        raise SystemExit(f"the bench's import was refused: {[str(p) for p in result.errors[:5]]}")


# --- the websocket as the network sees it --------------------------------------------------------

class Frames:
    """Websocket frames from the DevTools protocol: network timestamps and the decoded messages."""

    def __init__(self, page):
        self.items: list[tuple[str, float, bytes]] = []
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.webSocketFrameReceived", lambda e: self._add("in", e))
        cdp.on("Network.webSocketFrameSent", lambda e: self._add("out", e))
        cdp.send("Network.enable")
        self.cdp = cdp

    def _add(self, direction: str, e: dict) -> None:
        r = e["response"]
        data = base64.b64decode(r["payloadData"]) if r.get("opcode") == 2 else r["payloadData"].encode()
        self.items.append((direction, e["timestamp"], data))

    def take(self) -> list[tuple[str, float, bytes]]:
        out, self.items = self.items, []
        return out


def breakdown(frames) -> dict:
    """Server time (first rerun request sent → last script_finished received, network clock),
    bytes received, and bytes per kind of element."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    sent = fin = None
    kinds: collections.Counter = collections.Counter()
    total = 0
    for direction, ts, data in frames:
        if direction == "out":
            b = BackMsg()
            try:
                b.ParseFromString(data)
            except Exception:  # noqa: BLE001
                continue
            if b.WhichOneof("type") == "rerun_script" and sent is None:
                sent = ts
            continue
        total += len(data)
        m = ForwardMsg()
        try:
            m.ParseFromString(data)
        except Exception:  # noqa: BLE001
            kinds["?"] += len(data)
            continue
        kind = m.WhichOneof("type") or "?"
        if kind == "script_finished":
            fin = ts
        if kind == "delta":
            d = m.delta
            kind = d.WhichOneof("type") or "delta"
            if kind == "new_element":
                kind = d.new_element.WhichOneof("type") or "element"
        kinds[kind] += len(data)
    return {"server": (fin - sent) if sent is not None and fin is not None and fin >= sent else None,
            "bytes": total, "kinds": kinds}


# --- the browser ----------------------------------------------------------------------------------

class Session:
    def __init__(self, browser, url: str, facts: dict):
        self.ctx = browser.new_context(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
        # The app makes no request outside its origin; make sure nothing waits on one.
        self.ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                       or route.request.url.startswith("data:") else route.abort())
        self.ctx.add_init_script(INIT_JS)
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(90_000)
        self.frames = Frames(self.page)
        self.url, self.facts = url, facts
        self.js_profile = False

    def close(self) -> None:
        self.ctx.close()

    def settle(self, expect: str | None = None, timeout: float = 90.0, profiled: bool = False) -> dict:
        r = self.page.evaluate("([e, t]) => window.__kpi.settle(e, t)", [expect, timeout * 1000])
        if not r["ok"]:
            raise RuntimeError(f"the page did not settle: {r}")
        self.page.evaluate("1")  # let the protocol's frame events arrive
        r.update(breakdown(self.frames.take()))
        if profiled:
            r["js"] = js_breakdown(self.frames.cdp.send("Profiler.stop")["profile"])
        return r

    def start_js_profile(self) -> bool:
        if self.js_profile:
            self.frames.cdp.send("Profiler.enable")
            self.frames.cdp.send("Profiler.setSamplingInterval", {"interval": 500})
            self.frames.cdp.send("Profiler.start")
        return self.js_profile

    def act(self, do, expect: str | None = None) -> dict:
        """Arm the click listener, do the action, wait for the page to settle: the timings."""
        self.frames.take()
        self.page.evaluate("window.__kpi.arm()")
        profiled = self.start_js_profile()
        do()
        return self.settle(expect, profiled=profiled)

    def sign_in(self, expect: str) -> dict:
        pg = self.page
        pg.goto(f"{self.url}/")
        name, pw = pg.locator('input[aria-label="用户名"]'), pg.locator('input[aria-label="密码"]')
        name.wait_for()
        self.settle("return document.querySelector('h1') && document.querySelector('h1').innerText.includes('登录')")
        name.fill("ceo")
        pw.fill(PASSWORD)
        return self.act(lambda: pg.get_by_role("button", name="登录", exact=True).click(), expect)


def h1_has(text: str) -> str:
    return f"const h = document.querySelector('h1'); return !!h && h.innerText.includes({text!r});"


def url_has(text: str) -> str:
    return f"return location.search.includes({text!r});"


def both(*checks: str) -> str:
    """JavaScript: every check (each a function body returning a boolean) holds."""
    return "return " + " && ".join(f"(() => {{ {c} }})()" for c in checks) + ";"


def select(page, label: str, option: str, s: Session) -> None:
    """Open a selectbox, type the option, arm the timer, press Enter (the rerun starts there)."""
    box = page.get_by_label(label).first
    box.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).wait_for()
    page.evaluate("window.__kpi.arm()")
    s.start_js_profile()
    page.keyboard.press("Enter")


def run_cockpit(s: Session, i: int, out: dict) -> None:
    pg, f = s.page, s.facts
    root = f["root_name"]
    month = PERIODS[i % len(PERIODS)]
    if month == f["latest"]:
        month = PERIODS[(i + 1) % len(PERIODS)]
    # the period: the selectbox opened and the month typed, then timed from the Enter key
    s.frames.take()
    select(pg, "期间", month, s)
    out["period"].append(s.settle(both(h1_has(root), url_has(f"period={month}")), profiled=s.js_profile))
    # a child's drill button, then back by the breadcrumb
    code, name = f["children"][i % len(f["children"])]
    out["drill_button"].append(s.act(lambda: pg.get_by_role("button", name=f"↓ {name}", exact=True).click(),
                                     both(h1_has(name), url_has(f"org={code}"))))
    out["breadcrumb"].append(s.act(lambda: pg.get_by_role("button", name=root, exact=True).click(),
                                   both(h1_has(root), url_has(f"org={f['root']}"))))
    # a click on another child's column of the heat map
    k = (i + len(f["children"]) // 2) % len(f["children"])
    code, name = f["children"][k]
    cells = pg.locator('[data-testid="stVegaLiteChart"]').first.locator(".mark-rect path")
    per_child = cells.count() // len(f["children"])
    # near the cell's corner: its status symbol (a text mark) sits in the middle
    out["drill_heatmap"].append(s.act(lambda: cells.nth(k * per_child).click(position={"x": 4, "y": 4}),
                                      both(h1_has(name), url_has(f"org={code}"))))
    s.act(lambda: pg.get_by_role("button", name=root, exact=True).click(), h1_has(root))


def run_boards(s: Session, out: dict) -> None:
    pg, f = s.page, s.facts
    board, other = f["titles"][BOARD], f["titles"][OTHER_BOARD]
    tiles = f["tiles"][BOARD]
    tiles_shown = f"return document.querySelectorAll('[class*=\"st-key-tile_\"]').length === {tiles};"
    out["board_nav"].append(s.act(lambda: pg.locator('[data-testid="stSidebarNav"] a').filter(has_text="看板").click(),
                                  both(h1_has(board), tiles_shown)))
    s.act(lambda: pg.locator('[data-testid="stSidebar"] label').filter(has_text=other).first.click(), h1_has(other))
    out["board_switch"].append(s.act(
        lambda: pg.locator('[data-testid="stSidebar"] label').filter(has_text=board).first.click(),
        both(h1_has(board), tiles_shown)))


# --- the server's own view: py-spy ---------------------------------------------------------------

SPY_PACKAGES = ("altair", "jsonschema", "referencing", "pandas", "pyarrow", "duckdb", "streamlit", "tornado",
                "google", "narwhals", "numpy", "sqlglot", "pydantic", "argon2", "yaml")


def spy_start(pid: int, out: Path) -> subprocess.Popen | None:
    """py-spy sampling the server (100 Hz, without pausing it), if it is installed in the venv."""
    exe = Path(sys.executable).parent / "py-spy"
    if not exe.exists():
        print("py-spy is not installed in the venv (.venv/bin/pip install py-spy): no server profile")
        return None
    return subprocess.Popen([str(exe), "record", "--pid", str(pid), "--format", "raw", "--output", str(out),
                             "--rate", "100", "--nonblocking", "--threads", "--function", "--full-filenames"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spy_stop(proc: subprocess.Popen | None) -> None:
    if proc is not None:
        proc.send_signal(2)  # SIGINT: py-spy writes its file and ends
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def _where(frame: str) -> tuple[str, str]:
    """(short name, package) of a py-spy frame 'func (path:line)'."""
    func, _, loc = frame.rpartition(" (")
    path = loc.rsplit(":", 1)[0]
    if "site-packages/" in path:
        rest = path.split("site-packages/", 1)[1]
        return f"{rest}:{func}", rest.split("/")[0]
    if path.startswith(str(ROOT)):
        rel = path[len(str(ROOT)) + 1:]
        return f"{rel}:{func}", "ours: " + rel.split("/")[0]
    return f"{Path(path).name}:{func}", "python"


def spy_summary(raw: Path, top: int = 25) -> None:
    """Samples by thread, the script threads' time by package (leaf frames) and our functions
    (inclusive), from py-spy's raw output."""
    threads: collections.Counter = collections.Counter()
    leaf: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    script = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        kind = frames[0].split(": ", 1)[-1]
        kind = "ScriptRunner" if kind.startswith("ScriptRunner") else kind.split(" (")[0].rstrip("0123456789-_")
        threads[kind] += int(n)
        if not any("script_runner.py" in f for f in frames):
            continue
        script += int(n)
        name, pkg = _where(frames[-1])
        leaf[pkg] += int(n)
        for f in dict.fromkeys(frames[1:]):
            name, pkg = _where(f)
            if pkg.startswith("ours") or name.endswith((":connect", ":_open", ":resume", ":data_version")):
                incl[name] += int(n)
    print(f"\n### Server profile (py-spy, {sum(threads.values())} samples at 100 Hz of busy threads)\n")
    print("| thread | samples |\n|---|---:|")
    for k, v in threads.most_common(6):
        print(f"| {k} | {v} |")
    if not script:
        return
    print(f"\nScript runs: {script} samples. Where they are (the innermost frame's package):\n")
    print("| package | share |\n|---|---:|")
    for k, v in leaf.most_common(14):
        print(f"| {k} | {v / script:.0%} |")
    print("\nOur functions (time inside them, callees included):\n")
    print("| function | share |\n|---|---:|")
    for k, v in incl.most_common(top):
        print(f"| {k} | {v / script:.0%} |")


def js_breakdown(profile: dict) -> dict[str, float]:
    """Milliseconds of the page's main thread by script (Streamlit's chunks: embed = vega and
    vega-embed, ArrowVegaLiteChart, DataFrame / ReadOnlyGrid = the data grid, index = Streamlit's
    core with React, react-dom, protobuf) and by (program), (garbage collector) and (idle)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    per: collections.Counter = collections.Counter()
    for sample, delta in zip(profile.get("samples", []), profile.get("timeDeltas", []), strict=False):
        frame = nodes[sample]["callFrame"]
        url = frame.get("url") or ""
        name = url.rsplit("/", 1)[-1].split(".")[0] if url else frame.get("functionName") or "(native)"
        per[name] += delta / 1000
    return dict(per)


def median_row(name: str, rs: list[dict]) -> str:
    if not rs:
        return f"| {name} | – | – | – | – | – | – | – | 0 |"
    tot = [r["total"] / 1000 for r in rs]
    srv = [r["server"] for r in rs if r.get("server") is not None]
    kb = [r["bytes"] / 1024 for r in rs]
    brw = [r["total"] / 1000 - r["server"] for r in rs if r.get("server") is not None]
    lng = [r["long"] / 1000 for r in rs]
    kinds: collections.Counter = collections.Counter()
    for r in rs:
        kinds.update(r["kinds"])
    top = ", ".join(f"{k} {v / len(rs) / 1024:.0f}" for k, v in kinds.most_common(3))
    med = statistics.median
    return (f"| {name} | **{med(tot):.2f}** | {min(tot):.2f} | {max(tot):.2f} | "
            f"{med(srv):.2f} | {med(brw):.2f} | {med(lng):.2f} | {med(kb):.0f} ({top}) | {len(rs)} |"
            if srv else f"| {name} | **{med(tot):.2f}** | {min(tot):.2f} | {max(tot):.2f} | – | – | "
            f"{med(lng):.2f} | {med(kb):.0f} | {len(rs)} |")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="", help=f"comma-separated actions: {', '.join(ACTIONS)}")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (warehouse, server log)")
    ap.add_argument("--warehouse", help="copy this demo warehouse instead of building one")
    ap.add_argument("--st", action="append", default=[], metavar="OPTION=VALUE",
                    help="a Streamlit option for the server, e.g. runner.postScriptGC=false (to try a config change "
                         "without editing .streamlit/config.toml); repeatable")
    ap.add_argument("--app-dir", metavar="DIR",
                    help="serve app.py from this copy of the project (to time a proposed change to pages/ "
                         "before making it); default: this checkout")
    ap.add_argument("--detail", action="store_true",
                    help="also print every sample's timeline (page clock, ms from the click): rerun request sent, "
                         "last script_finished seen by the page, settled; and the server time on the network clock")
    ap.add_argument("--js-profile", action="store_true",
                    help="profile the page's JavaScript during each action (DevTools protocol) and print where the "
                         "browser's time goes, by script; the profiler slows the page")
    ap.add_argument("--py-spy", dest="spy", metavar="FILE",
                    help="sample the server with py-spy during the runs (raw stacks to FILE) and summarise; "
                         "the sampling slows the server a little")
    args = ap.parse_args()
    want = set(filter(None, args.only.split(","))) or set(ACTIONS)
    unknown = want - set(ACTIONS)
    if unknown:
        ap.error(f"unknown action(s): {', '.join(sorted(unknown))}")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (make browser installs it as root with apt)")
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="kpi-bench-browser-"))
    proc = None
    out: dict[str, list[dict]] = {a: [] for a in ACTIONS}
    cold = None
    spy = None
    loads = [load()]
    try:
        path = build_warehouse(folder, args.warehouse)
        facts = demo_facts(path)
        proc, url = start_server(path, folder, [f"--{o}" for o in args.st], Path(args.app_dir or ROOT))
        print(f"server {url}, warehouse {path}, load average {load()}")
        root = facts["root_name"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
            s = Session(browser, url, facts)  # warm-up: the new server's first visit and first cockpit
            cold = s.sign_in(h1_has(root))
            s.close()
            if args.spy:
                spy = spy_start(proc.pid, Path(args.spy))
                time.sleep(1)  # py-spy attaches
            for i in range(args.runs):
                s = Session(browser, url, facts)
                s.js_profile = args.js_profile
                r = s.sign_in(h1_has(root))
                if "hq_first" in want:
                    out["hq_first"].append(r)
                if want & COCKPIT:
                    run_cockpit(s, i, out)
                if want & BOARDS:
                    run_boards(s, out)
                s.close()
                loads.append(load())
                print(f"run {i + 1}/{args.runs} done, load average {load()}", flush=True)
            if want & IMPORTS:
                s = Session(browser, url, facts)
                s.sign_in(h1_has(root))
                s.js_profile = args.js_profile
                s.page.goto(f"{url}/?org={facts['root']}&period={facts['latest']}")
                s.settle(h1_has(root))
                code, name = facts["children"][0]
                for i in range(args.runs):
                    if "after_import_click" in want:  # in the open page: from a division back to the company
                        s.act(lambda: s.page.get_by_role("button", name=f"↓ {name}", exact=True).click(), h1_has(name))
                        import_actuals(path, folder, facts["people"], 2 * i, facts["latest"])
                        out["after_import_click"].append(s.act(
                            lambda: s.page.get_by_role("button", name=root, exact=True).click(),
                            both(h1_has(root), url_has(f"org={facts['root']}"))))
                    if "after_import" in want:
                        import_actuals(path, folder, facts["people"], 2 * i + 1, facts["latest"])
                        s.frames.take()
                        profiled = s.start_js_profile()
                        s.page.reload()  # a new document: its clock starts at the navigation
                        r = s.settle(both(h1_has(root),
                                          "return !!document.querySelector('[data-testid=\"stMetric\"]');"),
                                     profiled=profiled)
                        r["total"] = r["end"]
                        out["after_import"].append(r)
                s.close()
                loads.append(load())
            spy_stop(spy)
            browser.close()
    finally:
        spy_stop(spy)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    import duckdb
    import streamlit

    print()
    options = (f", server options {' '.join(args.st)}" if args.st else "") + (
        f", app from {args.app_dir}" if args.app_dir else "")
    print(f"{dt.date.today().isoformat()}, commit {commit()}{options}, streamlit {streamlit.__version__}, duckdb "
          f"{duckdb.__version__}, Chromium headless, {os.cpu_count()} CPUs; load average before/after runs: "
          + " | ".join(loads))
    print()
    print("| action | median s | min | max | server s | browser s | long tasks s | KB received (top kinds, KB) | n |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    if cold:
        print(median_row("hq_first (cold server)", [cold]))
    for a in ACTIONS:
        if a in want:
            print(median_row(a, out[a]))
    if args.detail:
        print("\n| action | sent ms | script_finished ms (page) | settled ms | server ms (network) | messages |")
        print("|---|---:|---:|---:|---:|---:|")
        for a in ACTIONS:
            for r in out[a]:
                sent, fin, end = (f"{r[k] - r['t0']:.0f}" if r[k] is not None else "–" for k in ("sent", "fin", "end"))
                srv = f"{r['server'] * 1000:.0f}" if r.get("server") is not None else "–"
                print(f"| {a} | {sent} | {fin} | {end} | {srv} | {r['msgs']} |")
    if args.js_profile:
        print("\n### The page's main thread per action (median ms by script, JS profiler)\n")
        totals = {a: collections.Counter() for a in ACTIONS}
        for a in ACTIONS:
            for r in out[a]:
                totals[a].update(r.get("js", {}))
        names = collections.Counter()
        for a in ACTIONS:
            names.update(totals[a])
        top = [n for n, _ in names.most_common(12)]
        print("| action | " + " | ".join(top) + " |\n|---|" + "---:|" * len(top))
        for a in ACTIONS:
            if out[a]:
                print(f"| {a} | " + " | ".join(
                    f"{statistics.median(r.get('js', {}).get(n, 0) for r in out[a]):.0f}" for n in top) + " |")
    summary = []
    for a in ACTIONS:
        if a in want and out[a]:
            m = statistics.median(r["total"] / 1000 for r in out[a])
            summary.append(f"{a}={m:.2f}s{'' if m <= TARGET[a] else '!'}")
    if spy is not None and Path(args.spy).exists():
        spy_summary(Path(args.spy))
    print()
    print(f"SUMMARY commit {commit()} load {load()}: " + " ".join(summary)
          + " (! = over the target: cockpit clicks 0.8 s, 12-tile board 1.2 s, after an import 1.5 s)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:  # an action did not reach its page
        print(f"FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
