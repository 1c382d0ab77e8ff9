"""Fixtures for the browser tests: one app server and one Chromium per session, a fresh page per
test (or one page a module shares), a test's own server where it trains, and the models and
splits the tests compare the page against.

Without /usr/bin/chromium (or the model) these tests skip, saying how to get it; with
EXPLORER_REQUIRE_BROWSER=1 (CI) the skip becomes a failure.
"""
import itertools
import os

import pytest

from tests.browser import harness
from tests.browser.page_helpers import WATCH_LAYOUT, wait_loaded

REQUIRED = os.environ.get("EXPLORER_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (EXPLORER_REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def model_file():
    path = harness.model_path()
    if not path.is_file():
        _unavailable(f"no model at {path}: set EXPLORER_MODEL to a checkpoint or ship {harness.SHIPPED_MODEL}")
    return path


@pytest.fixture(scope="session")
def checkpoint(model_file):
    from explorer import checkpoint as ckpt_io
    return ckpt_io.load(model_file)


@pytest.fixture(scope="session")
def mnist_train():
    from explorer.data import load_split
    return load_split("train")


@pytest.fixture(scope="session")
def chromium():
    if not harness.CHROMIUM.exists():
        _unavailable(harness.INSTALL_HINT)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is needed: pip install playwright")
    with sync_playwright() as p:
        browser = harness.launch_chromium(p)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def server_log(tmp_path_factory):
    """Where the session's app server writes its log."""
    return tmp_path_factory.mktemp("streamlit") / "server.log"


@pytest.fixture(scope="session")
def app_url(model_file, chromium, server_log):
    with harness.app_server(model_file, log_path=server_log) as url:
        yield url


def _publish(path, mnist_test, mnist_train):
    """A model's plane files, published where the app serves them (explorer.assets.PlaneAssets)."""
    from explorer import assets
    return assets.publish_plane(harness.ROOT / "static", assets.read_plane_arrays(path), mnist_test.images,
                                mnist_train.images)


@pytest.fixture(scope="session")
def other_model(mnist_test, mnist_train):
    """A second shipped model (lambda = 5) and its plane files, published where the app serves them."""
    from explorer import checkpoint as ckpt_io
    from explorer.library import SHIPPED_DIR
    path = SHIPPED_DIR / "lam-5.safetensors"
    if not path.is_file():
        _unavailable(f"needs {path}")
    return ckpt_io.load(path), _publish(path, mnist_test, mnist_train)


@pytest.fixture(scope="session")
def collapsed_plane(mnist_test, mnist_train):
    """The shipped lambda = 100 model's plane files (posterior collapse), published where the app serves them."""
    from explorer.library import SHIPPED_DIR
    path = SHIPPED_DIR / "lam-100.safetensors"
    if not path.is_file():
        _unavailable(f"needs {path}")
    return _publish(path, mnist_test, mnist_train)


@pytest.fixture(scope="session")
def starting_plane(model_file, mnist_test, mnist_train):
    """The plane files of the model the app opens, for switching back to it without Python."""
    return _publish(model_file, mnist_test, mnist_train)


@pytest.fixture(scope="session")
def shipped(shipped_arrays, mnist_test, mnist_train):
    """lambda = 0 and lambda = 1: their plane files published where the app serves them, and arrays."""
    from explorer import assets
    return {lam: (assets.publish_plane(harness.ROOT / "static", arrays, mnist_test.images, mnist_train.images), arrays)
            for lam, arrays in shipped_arrays.items()}


@pytest.fixture
def painted_page(chromium, app_url):
    """The app in a fresh browser context, as soon as its plane has painted (the rest of the page
    still on its way)."""
    with harness.opened_app(chromium, app_url, accept_downloads=True) as page:
        yield page


@pytest.fixture
def page(chromium, app_url):
    """The app in a fresh browser context, loaded: the plane painted, then the rest of the page
    drawn, so that no run of the page's is still on its way to overwrite what a test gives the plane."""
    with harness.opened_app(chromium, app_url, accept_downloads=True) as page:
        wait_loaded(page)
        yield page


@pytest.fixture
def tracked_page(chromium, app_url):
    """As `page`, watched from before it loads: window.__shift.max, the largest move or resize of
    the plot after its first paint (harness.TRACK_SHIFT), and window.__planeTops, the plane's top
    every frame (page_helpers.WATCH_LAYOUT)."""
    with harness.opened_app(chromium, app_url, init_scripts=(harness.TRACK_SHIFT, WATCH_LAYOUT)) as page:
        yield page


@pytest.fixture(scope="module")
def shared_page(chromium, app_url):
    """One page for the tests of a module that each start from no samples, an empty pad and the
    Point tab (`reset_page`): opening the app costs more than these tests' own work on a shared
    2-core machine."""
    with harness.opened_app(chromium, app_url) as page:
        wait_loaded(page)
        yield page


@pytest.fixture
def reset_page(shared_page):
    """The module's shared page with no samples, an empty pad, the Point tab shown and the pointer
    off the plot."""
    plane = harness.PLANE
    shared_page.evaluate(f"{plane}.update({{samples: null}}); {plane}.clearPad(); {plane}.showTab('point')")
    shared_page.mouse.move(5, 5)
    return shared_page


@pytest.fixture
def own_server(model_file, tmp_path):
    """A test's own app server, for a test that trains: `with own_server() as url`, models saved
    to tmp_path / "models" (kept across the test's servers), each server's log beside it."""
    runs = itertools.count(1)
    return lambda: harness.app_server(model_file, models_dir=tmp_path / "models",
                                      log_path=tmp_path / f"server-{next(runs)}.log")
