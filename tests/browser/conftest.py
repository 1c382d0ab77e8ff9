"""Fixtures for the browser tests: one app server and one Chromium per session, a fresh page per test.

Without /usr/bin/chromium (or the model) these tests skip, saying how to get it; with
EXPLORER_REQUIRE_BROWSER=1 (CI) the skip becomes a failure.
"""
import os

import pytest

from tests.browser import harness

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
def app_url(model_file, chromium, tmp_path_factory):
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with harness.app_server(model_file, log_path=log) as url:
        yield url


@pytest.fixture(scope="session")
def other_model():
    """A second shipped model, its files published where the app serves them."""
    from explorer import assets
    from explorer import checkpoint as ckpt_io
    from explorer.data import load_split
    from explorer.library import SHIPPED_DIR
    path = SHIPPED_DIR / "lam-5.safetensors"
    if not path.is_file():
        _unavailable(f"needs {path}")
    plane = assets.publish_plane(harness.ROOT / "static", assets.read_plane_arrays(path), load_split("test").images,
                                 load_split("train").images)
    return ckpt_io.load(path), plane


@pytest.fixture
def page(chromium, app_url):
    with harness.opened_app(chromium, app_url, accept_downloads=True) as page:
        yield page
