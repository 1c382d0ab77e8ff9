"""What does one visitor cost the server? CPU seconds and memory, read from the server process itself.

A class opens the page at the start of a lecture: every visitor's first runs share the server's
cores. Sessions are opened one after another in Chromium (each a fresh browser context, its cache
empty), against `streamlit run app.py` and, as the baseline, a one-line Streamlit app served the
same way; the server's CPU time (user + system, /proc/PID/stat, its threads included) is read
before and after each step:
  open:     from `goto` until the page has settled: the plane painted and answering (the app) or the
            element shown (the baseline), the sidebar drawn, and no run in progress;
  interact: five clicks on the plane and one drag, until the page has settled again;
  rss:      the server's resident memory after the last session, less after the first, per session.
The first session of each server is left out of the medians (it imports the app's modules).
With --split, each is measured again with Streamlit's own frontend files (its scripts, styles and
fonts under /static/) answered by the harness from a copy, not by the server: what is left is the
app's own cost (its script runs, messages and files) beside the bare app's.

    python bench/server_cost.py [--sessions 8] [--split] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tests.browser import harness

BARE_APP = 'import streamlit as st\nst.markdown("bare-streamlit-first-element")\n'
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
TICKS = os.sysconf("SC_CLK_TCK")


def server_pid(url: str) -> int:
    """The streamlit process listening on url's port (the harness starts it as `python -m streamlit`)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(cmd) and port.encode() in cmd:
                return int(entry.name)
    raise RuntimeError(f"no streamlit process serves {url}")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def settled(page, ready: str) -> None:
    """Until `ready` holds and no run has been in progress for a quarter of a second (a run that a
    finished one starts, such as the page drawn in full after the plane's first paint, is waited for)."""
    page.wait_for_function(ready, timeout=120_000)
    page.wait_for_function(f"""() => {{
        const idle = !!document.querySelector('{IDLE}'), now = performance.now();
        if (!idle) window.__busySince = now;
        return idle && now - (window.__busySince || 0) > 250;
    }}""", polling="raf", timeout=120_000)


APP_READY = ("() => window.__latentPlane && window.__latentPlane.ready && "
             "document.querySelector('[data-testid=stSidebar]')?.innerText.includes('Exploring')")
BARE_READY = "() => document.body.innerText.includes('bare-streamlit-first-element')"


def interact(page, rng) -> None:
    rect = page.evaluate(f"{harness.PLANE}.plotRect()")
    for _ in range(5):
        page.mouse.click(rect["left"] + rect["width"] * rng.uniform(0.1, 0.9),
                         rect["top"] + rect["height"] * rng.uniform(0.1, 0.9))
    page.mouse.move(rect["left"] + 0.3 * rect["width"], rect["top"] + 0.3 * rect["height"])
    page.mouse.down()
    page.mouse.move(rect["left"] + 0.7 * rect["width"], rect["top"] + 0.6 * rect["height"], steps=20)
    page.mouse.up()


class FrontendCopy:
    """Answers the browser's requests for Streamlit's own frontend files from a copy, fetched from
    the server the first time each is asked for."""

    def __init__(self):
        self.files = {}

    @staticmethod
    def wanted(url: str) -> bool:
        return "/static/" in url and "/app/static/" not in url

    def __call__(self, route) -> None:
        from playwright.sync_api import Error

        url = route.request.url
        try:
            if url not in self.files:
                response = route.fetch()
                self.files[url] = (response.body(), response.headers, response.status)
            body, headers, status = self.files[url]
            route.fulfill(body=body, headers=headers, status=status)
        except Error:
            pass  # the context closed while this request was on its way


def measure(browser, script: Path | str, sessions: int, ready: str, rng, clicks: bool,
            frontend: FrontendCopy | None = None) -> dict:
    with harness.app_server(harness.model_path(), script=script) as url:
        pid = server_pid(url)
        opens, interacts, rss = [], [], []
        for _ in range(sessions):
            context = browser.new_context(viewport=harness.VIEWPORT)
            if frontend is not None:
                context.route(frontend.wanted, frontend)
            page = context.new_page()
            before = cpu_s(pid)
            page.goto(url)
            settled(page, ready)
            opens.append(cpu_s(pid) - before)
            if clicks:
                before = cpu_s(pid)
                interact(page, rng)
                settled(page, ready)
                interacts.append(cpu_s(pid) - before)
            rss.append(rss_mb(pid))
            context.close()
            time.sleep(0.5)  # the server closes the session's websocket
    return {"open": opens, "interact": interacts, "rss": rss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="sessions opened one after another, per server")
    parser.add_argument("--split", action="store_true",
                        help="measure again with Streamlit's own frontend files served by the harness")
    parser.add_argument("--json", action="store_true", help="end with one JSON object on the last line")
    args = parser.parse_args()
    if not harness.CHROMIUM.exists():
        print(harness.INSTALL_HINT, file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(0)
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="bare-streamlit-") as folder:
        browser = harness.launch_chromium(p)
        bare_script = Path(folder) / "bare.py"
        bare_script.write_text(BARE_APP)
        bare = measure(browser, bare_script, args.sessions, BARE_READY, rng, clicks=False)
        app = measure(browser, "app.py", args.sessions, APP_READY, rng, clicks=True)
        if args.split:
            frontend = FrontendCopy()
            bare_own = measure(browser, bare_script, args.sessions, BARE_READY, rng, clicks=False, frontend=frontend)
            app_own = measure(browser, "app.py", args.sessions, APP_READY, rng, clicks=False, frontend=frontend)
        browser.close()
    median = lambda values: round(statistics.median(values[1:]), 3)  # noqa: E731  (the first session left out)
    result = {
        "open_cpu_s_median": median(app["open"]), "bare_open_cpu_s_median": median(bare["open"]),
        "interact_cpu_s_median": median(app["interact"]),
        "first_open_cpu_s": round(app["open"][0], 3), "bare_first_open_cpu_s": round(bare["open"][0], 3),
        "rss_mb_per_session": round((app["rss"][-1] - app["rss"][0]) / (args.sessions - 1), 2),
        "bare_rss_mb_per_session": round((bare["rss"][-1] - bare["rss"][0]) / (args.sessions - 1), 2),
        "sessions": args.sessions, "clock_ticks_per_s": TICKS,
    }
    if args.split:
        result |= {"own_open_cpu_s_median": median(app_own["open"]),
                   "bare_own_open_cpu_s_median": median(bare_own["open"])}
    print(f"{'server CPU s and MB per visitor':34}{'app':>10}{'bare':>10}")
    def line(label, key, digits=3):
        print(f"{label:34}{result[key]:>10.{digits}f}{result['bare_' + key]:>10.{digits}f}")

    line("open (median, first left out)", "open_cpu_s_median")
    line("first open of a new server", "first_open_cpu_s")
    print(f"{'five clicks and a drag':34}{result['interact_cpu_s_median']:>10.3f}{'':>10}")
    line("resident memory per session, MB", "rss_mb_per_session", 2)
    if args.split:
        line("open, frontend files not served", "own_open_cpu_s_median")
    print(f"(target: open <= 0.2 CPU s; /proc counts in 1/{TICKS} s)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
