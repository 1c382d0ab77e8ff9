"""Drive the real app: `streamlit run app.py` on a free port, and Debian's Chromium via Playwright.

Shared by the browser tests (tests/browser) and the benchmark (bench/interaction.py).
"""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import weakref
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = "Debian Chromium is needed at /usr/bin/chromium: apt-get install -y chromium"
SHIPPED_MODEL = ROOT / "pretrained" / "lam-1.safetensors"
VIEWPORT = {"width": 1400, "height": 900}  # a laptop: the plane, its panel and strip must fit without scrolling
PLANE = "window.__latentPlane"  # the component's test hooks (explorer/component/hooks.js)


def model_path() -> Path:
    """The model the app will open: $EXPLORER_MODEL, else the shipped one."""
    return Path(os.environ.get("EXPLORER_MODEL") or SHIPPED_MODEL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@contextmanager
def app_server(model: Path, timeout_s: float = 60, log_path: Path | None = None, models_dir: Path | None = None,
               script: str | Path = "app.py", env: dict[str, str] | None = None):
    """Run `streamlit run app.py` (or another `script`, with the app's config) headless on a free
    port, with `env` added to its environment; yield its URL; stop it afterwards.

    Models trained in the app go to `models_dir` (a fresh temporary folder by default), never
    into the repository.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    scratch = None
    if models_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="explorer-models-")
        models_dir = Path(scratch.name)
    env = {**os.environ, "EXPLORER_MODEL": str(model), "EXPLORER_MODELS_DIR": str(models_dir), **(env or {})}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
                             "--server.port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode} before it was healthy")
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit not healthy at {url} after {timeout_s} s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log.close()
        if scratch is not None:
            scratch.cleanup()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@contextmanager
def opened_app(chromium, url: str, init_scripts: tuple[str, ...] = (), **context_options):
    """A page of the app in a fresh browser context (each of `init_scripts` run in it before the
    page's own scripts), opened with `open_app`; on leaving, the context is closed and any
    JavaScript error the page raised, or warning of Streamlit's that the page put it in an
    unexpected state (two fragments' events in one batch, say), fails the caller."""
    context = chromium.new_context(**{"viewport": VIEWPORT, **context_options})
    for script in init_scripts:
        context.add_init_script(script)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    def on_console(m):
        if m.type == "warning" and "Unexpected state" in m.text:
            errors.append(m.text)

    page.on("console", on_console)
    open_app(page, url)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


_RUNS_FINISHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # page -> [count]


def count_runs(page) -> None:
    """Count the script runs the server tells `page` have finished (ForwardMsg script_finished),
    read from its websocket's frames. A run so short that the page renders its start and its end
    in one frame never shows in the page's script-state attribute; the server's message still
    comes. Call before the page opens the app; `runs_finished` reads the count."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    count = _RUNS_FINISHED.setdefault(page, [0])

    def frame(payload) -> None:
        if isinstance(payload, bytes):
            message = ForwardMsg()
            message.ParseFromString(payload)
            if message.WhichOneof("type") == "script_finished":
                count[0] += 1

    page.on("websocket", lambda ws: ws.on("framereceived", frame))


def runs_finished(page) -> int | None:
    """How many runs have finished for `page` so far (None if `count_runs` was not called for it).
    Frames are counted as Playwright delivers its events, in order with the answers to calls: a
    frame the page had received before a call returned is counted by then."""
    count = _RUNS_FINISHED.get(page)
    return None if count is None else count[0]


def open_app(page, url: str, timeout_s: float = 60) -> None:
    """Load the app, counting its runs (`count_runs`), and wait until the plane has its points, its
    decoder and a first paint."""
    if runs_finished(page) is None:
        count_runs(page)
    page.goto(url)
    page.wait_for_function(f"{PLANE} && {PLANE}.ready", timeout=timeout_s * 1000)


def after_frames(page, n: int = 2) -> None:
    """Return once the page has run n more animation frames: a frame the plane was asked to draw
    before this call has been drawn (its callback was queued ahead of ours)."""
    page.evaluate("(n) => new Promise((resolve) => { const tick = () => (--n > 0 ? requestAnimationFrame(tick) : "
                  "resolve()); requestAnimationFrame(tick); })", n)


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until nothing any plane of the page shows is out of date or on its way (hooks.js
    `idle()`): every frame asked for drawn, the grid and holes (where shown) done for the view,
    the model, its files and the images its panel and strip show all in."""
    page.wait_for_function(f"() => {{ const planes = {PLANES_IN}(document); "
                           "return planes.length > 0 && planes.every((e) => e.latentPlane && e.latentPlane.idle()); }",
                           polling="raf", timeout=timeout)


def read_png(blob: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(blob)).convert("L"))


# Every plane element ([data-testid=latent-plane], its hooks as .latentPlane) under `node`, in
# shadow roots too: Streamlit renders the component in a shadow root, where querySelector from the
# document does not reach (Playwright's locators do).
PLANES_IN = """(function planesIn(node) {
  const found = [...node.querySelectorAll('[data-testid=latent-plane]')];
  for (const e of node.querySelectorAll('*')) if (e.shadowRoot) found.push(...planesIn(e.shadowRoot));
  return found;
})"""

# An init script: from the plane's first painted frame on, window.__shift.max is the largest move
# or resize of the plot (px), sampled every animation frame.
TRACK_SHIFT = """(() => {
  const shift = { first: null, max: 0 };
  window.__shift = shift;
  const tick = () => {
    const api = window.__latentPlane;
    if (api && api.ready) {
      const r = api.plotRect(), b = { x: r.left, y: r.top, width: r.width, height: r.height }, f = shift.first;
      if (!f) shift.first = { x: b.x, y: b.y, w: b.width, h: b.height };
      else shift.max = Math.max(shift.max, Math.abs(b.x - f.x), Math.abs(b.y - f.y), Math.abs(b.width - f.w),
                                Math.abs(b.height - f.h));
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();"""


def by_test_id(page, test_id: str):
    """An element of the plane by its data-testid (the component's own, not Streamlit's)."""
    return page.locator(f"[data-testid=latent-plane] [data-testid={test_id}]")


def z_text(z) -> str:
    """How the panel writes a latent point (minus signs as U+2212)."""
    return f"({z[0]:.3f}, {z[1]:.3f})".replace("-", "\u2212")


# Resolves with ms from the last click's pointerup to the first animation frame after the panel
# shows that click's z: the frame in which a person sees the answer.
WAIT_PANEL = """(since) => new Promise((resolve, reject) => {
  const api = window.__latentPlane, root = api && api.element;
  if (!root) { reject(new Error('no plane on the page')); return; }
  const minus = (v) => v.toFixed(3).replace('-', '\u2212');
  const check = () => {
    const c = api.lastClick;
    if (!c || c.t <= since) return false;
    const panel = root.querySelector('[data-testid=panel-z]');
    if (!panel || !panel.textContent.includes(`(${minus(c.z[0])}, ${minus(c.z[1])})`)) return false;
    requestAnimationFrame(() => resolve(performance.now() - c.t));
    return true;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  setTimeout(() => {
    observer.disconnect();
    const c = api.lastClick, replaced = window.__latentPlane !== api;
    const seen = !!c && c.t > since;
    reject(new Error(`panel did not show the click in 10 s (click seen: ${seen}, plane replaced: ${replaced})`));
  }, 10000);
})"""


def click_latencies(page, n: int, rng: np.random.Generator, pause_s: float = 0.25,
                    lost: list | None = None) -> list[float | None]:
    """Click n random spots of the plot; for each, ms from pointerup to the panel showing its z
    (None for a click never answered, with the reason appended to `lost`)."""
    rect = page.evaluate(f"{PLANE}.plotRect()")
    latencies = []
    for _ in range(n):
        x = rect["left"] + rect["width"] * rng.uniform(0.05, 0.95)
        y = rect["top"] + rect["height"] * rng.uniform(0.05, 0.95)
        since = page.evaluate("performance.now()")
        page.evaluate(f"(since) => {{ window.__panelWait = ({WAIT_PANEL})(since).catch((e) => e.message); }}", since)
        page.mouse.click(x, y)
        answer = page.evaluate("window.__panelWait")
        if isinstance(answer, str) and lost is not None:
            inside = page.evaluate("([x, y]) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight", [x, y])
            lost.append(answer if inside else f"{answer}; the plot was pushed out of the window")
        latencies.append(answer if not isinstance(answer, str) else None)
        time.sleep(pause_s)  # a person's pause between clicks, not a wait for the page
    return latencies
