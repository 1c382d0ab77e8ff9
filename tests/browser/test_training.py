"""Slide lambda and retrain, in a real Chromium: a background job with live progress, a page that
keeps answering clicks, and a model that lands in the library and survives a server restart."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import harness
from tests.browser.harness import PLANE

pytestmark = pytest.mark.browser

EPOCHS = 2  # the smallest budget that still shows the embedding move between epochs
NEW_LAM = "0.7"  # one stop left of the starting lambda 1; no shipped model has it


def _open(page, url):
    harness.open_app(page, url)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Exploring", timeout=60_000)


def _no_traceback(page):
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "Traceback" not in page.content()


def test_slide_to_a_new_lambda_trains_live_and_the_model_survives_a_restart(chromium, model_file, tmp_path):
    models_dir = tmp_path / "models"
    with harness.app_server(model_file, models_dir=models_dir, log_path=tmp_path / "server-1.log") as url:
        page = chromium.new_page(viewport=harness.VIEWPORT)
        _open(page, url)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("Training settings").click()
        epochs = sidebar.get_by_label("Epochs")
        epochs.fill(str(EPOCHS))
        epochs.press("Enter")
        expect(sidebar.get_by_role("button", name=re.compile("Train λ = 1 with"))).to_be_visible()
        page.wait_for_timeout(1000)  # let the rerun that stores the epochs finish

        slider = sidebar.get_by_role("slider").first
        slider.focus()
        page.keyboard.press("ArrowLeft")
        panel = page.locator(".st-key-job-panel")
        expect(panel).to_contain_text(f"Training λ = {NEW_LAM}", timeout=20_000)
        expect(panel).to_contain_text(f"{EPOCHS} epochs")
        expect(panel.get_by_role("progressbar")).to_be_visible(timeout=30_000)
        expect(panel.get_by_role("button", name="Cancel")).to_be_visible()

        # The live embedding is redrawn as the job reports (every ~0.5 s, the page every ~1 s).
        image = page.locator(".st-key-live-embedding img")
        expect(image).to_have_count(1, timeout=30_000)
        expect(page.locator(".st-key-live-embedding")).to_contain_text("update")
        first = image.get_attribute("src")
        page.wait_for_function("(src) => { const i = document.querySelector('.st-key-live-embedding img'); "
                               "return i && i.getAttribute('src') !== src; }", arg=first, timeout=20_000)
        pixels = harness.read_png(page.request.get(image.get_attribute("src")).body())
        assert (pixels < 250).mean() > 0.01, "the live embedding shows no points"
        expect(page.locator(".st-key-loss-curves img")).to_have_count(1)  # recon, total and KL per epoch

        # The current model still answers a click while the job runs.
        assert panel.is_visible(), "the job finished before the click; the test cannot check responsiveness"
        rect = page.evaluate(f"{PLANE}.plotRect()")
        page.mouse.click(rect["left"] + 0.37 * rect["width"], rect["top"] + 0.41 * rect["height"])
        z = page.evaluate(f"{PLANE}.lastClick")["z"]
        expect(page.locator(".st-key-selected")).to_contain_text(f"z = ({z[0]:.3f}, {z[1]:.3f})", timeout=20_000)

        # Done: the new model takes over, and it is in the library and on the rate-distortion chart.
        expect(panel).to_have_count(0, timeout=90_000)
        expect(sidebar).to_contain_text(f"Trained λ = {NEW_LAM}")
        expect(sidebar).to_contain_text(f"Exploring lam-{NEW_LAM}_e{EPOCHS}_bce_k1_s0_")
        expect(page.locator(".st-key-rd .textpoint", has_text=f"λ={NEW_LAM}")).to_have_count(1)
        page.get_by_role("tab", name=re.compile("Model library")).click()
        expect(page.locator(".st-key-library")).to_contain_text("1 trained here")
        _no_traceback(page)
        page.screenshot(path=str(tmp_path / "trained.png"), full_page=True)
        page.close()

    saved = sorted(p.name for p in models_dir.iterdir())
    assert len(saved) == 1 and re.fullmatch(rf"lam-{NEW_LAM}_e{EPOCHS}_bce_k1_s0_[0-9a-f]{{8}}\.safetensors", saved[0])
    (models_dir / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header")

    with harness.app_server(model_file, models_dir=models_dir, log_path=tmp_path / "server-2.log") as url:
        page = chromium.new_page(viewport=harness.VIEWPORT)
        _open(page, url)
        expect(page.locator(".st-key-rd .textpoint", has_text=f"λ={NEW_LAM}")).to_have_count(1, timeout=30_000)
        page.get_by_role("tab", name=re.compile("Model library")).click()
        library = page.locator(".st-key-library")
        expect(library).to_contain_text("1 trained here")
        expect(library.get_by_test_id("stAlert")).to_contain_text("broken.safetensors")
        # Sliding back onto the trained lambda switches at once, with no job.
        slider = page.get_by_test_id("stSidebar").get_by_role("slider").first
        slider.focus()
        page.keyboard.press("ArrowLeft")
        expect(page.get_by_test_id("stSidebar")).to_contain_text(f"Exploring lam-{NEW_LAM}_", timeout=20_000)
        assert page.locator(".st-key-job-panel").count() == 0

        # Another seed is another configuration: it trains, and Cancel leaves nothing on disk.
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("Training settings").click()
        seed = sidebar.get_by_label("Seed")
        seed.fill("7")
        seed.press("Enter")
        page.wait_for_timeout(1000)
        sidebar.get_by_role("button", name=f"Train λ = {NEW_LAM} with these settings").click()
        panel = page.locator(".st-key-job-panel")
        expect(panel).to_contain_text("seed 7", timeout=20_000)
        panel.get_by_role("button", name="Cancel").click()
        expect(page.get_by_text(f"Training λ = {NEW_LAM} was cancelled; no model was saved.")).to_be_visible(
            timeout=30_000)
        expect(panel).to_have_count(0)
        _no_traceback(page)
        page.close()
    assert sorted(p.name for p in models_dir.iterdir()) == sorted([saved[0], "broken.safetensors"])
