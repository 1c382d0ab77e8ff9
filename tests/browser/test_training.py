"""Slide lambda and retrain, in a real Chromium: a background job with live progress, a page that
keeps answering while it trains, and a model that lands in the library and survives a server restart."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import harness
from tests.browser.page_helpers import (
    expect_exploring,
    expect_lam,
    keyed,
    no_traceback,
    open_library,
    open_page,
    set_training,
    sidebar,
    step_lam,
)

pytestmark = pytest.mark.browser

EPOCHS = 2  # the smallest budget that still shows the embedding move between epochs
NEW_LAM = "0.7"  # one stop left of the starting lambda 1; no shipped model has it


def test_slide_to_a_new_lambda_trains_live_and_the_model_survives_a_restart(chromium, own_server, tmp_path):
    models_dir = tmp_path / "models"
    with own_server() as url:
        page = open_page(chromium, url)
        set_training(page, "Epochs", EPOCHS)
        again = sidebar(page).get_by_role("button", name=re.compile("Train λ = 1 again with"))
        expect(again).to_be_visible(timeout=20_000)

        step_lam(page, "ArrowLeft")  # onto a lambda without a model: an offer, no job
        # The offer's button, not the settings' "again" one that a rerun in progress still shows (stale).
        offer = page.locator(".st-key-train_now[data-stale=false]")
        expect(offer).to_contain_text(f"Train λ = {NEW_LAM}", timeout=20_000)
        offer.get_by_role("button").click()
        panel = keyed(page, "job-panel")
        expect(panel).to_contain_text(f"Training λ = {NEW_LAM}", timeout=20_000)
        expect(panel).to_contain_text(f"{EPOCHS} epochs")
        expect(panel.get_by_role("progressbar")).to_be_visible(timeout=30_000)
        expect(panel.get_by_role("button", name="Cancel")).to_be_visible()
        expect_lam(page, "1")  # the slider shows the model being explored until the new one takes over

        # The live embedding is redrawn as the job reports (every ~0.5 s, the page every ~1 s).
        image = page.locator(".st-key-live-embedding img")
        expect(image).to_have_count(1, timeout=30_000)
        expect(keyed(page, "live-embedding")).to_contain_text("update")
        first = image.get_attribute("src")
        page.wait_for_function("(src) => { const i = document.querySelector('.st-key-live-embedding img'); "
                               "return i && i.getAttribute('src') !== src; }", arg=first, timeout=20_000)
        pixels = harness.read_png(page.request.get(image.get_attribute("src")).body())
        assert (pixels < 250).mean() > 0.01, "the live embedding shows no points"
        expect(page.locator(".st-key-loss-curves img")).to_have_count(1)  # recon, total and KL per epoch

        # The page still answers while the job runs: the grid toggle reruns it and shows the download.
        assert panel.is_visible(), "the job finished too soon; the test cannot check responsiveness"
        sidebar(page).get_by_text("Show decodings behind the points").click()
        expect(keyed(page, "grid_n").get_by_role("slider")).to_be_enabled(timeout=20_000)

        # Done: the new model takes over, and it is in the library and on the rate-distortion chart.
        expect(panel).to_have_count(0, timeout=90_000)
        expect(sidebar(page)).to_contain_text(f"Trained λ = {NEW_LAM}")
        expect_exploring(page, f"lam-{NEW_LAM}_e{EPOCHS}_bce_k1_s0_")
        expect_lam(page, NEW_LAM)
        rd = open_library(page, "Rate–distortion")
        expect(rd.locator(".annotation-text", has_text=f"λ={NEW_LAM}")).to_have_count(1, timeout=30_000)
        expect(open_library(page, "Model library")).to_contain_text("1 trained here")
        no_traceback(page)
        page.screenshot(path=str(tmp_path / "trained.png"), full_page=True)
        page.close()

    saved = sorted(p.name for p in models_dir.iterdir())
    assert len(saved) == 1 and re.fullmatch(rf"lam-{NEW_LAM}_e{EPOCHS}_bce_k1_s0_[0-9a-f]{{8}}\.safetensors", saved[0])
    (models_dir / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header")

    with own_server() as url:
        page = open_page(chromium, url)
        rd = open_library(page, "Rate–distortion")
        expect(rd.locator(".annotation-text", has_text=f"λ={NEW_LAM}")).to_have_count(1, timeout=30_000)
        library = open_library(page, "Model library")
        expect(library).to_contain_text("1 trained here")
        expect(library.get_by_test_id("stAlert")).to_contain_text("broken.safetensors")
        # Sliding back onto the trained lambda switches at once, with no job.
        step_lam(page, "ArrowLeft")
        expect_exploring(page, f"lam-{NEW_LAM}_", timeout=20_000)
        assert keyed(page, "job-panel").count() == 0

        # Another seed is another configuration: it trains, and Cancel leaves nothing on disk.
        set_training(page, "Seed", 7)
        sidebar(page).get_by_role("button", name=f"Train λ = {NEW_LAM} again with these settings").click()
        panel = keyed(page, "job-panel")
        expect(panel).to_contain_text("seed 7", timeout=20_000)
        panel.get_by_role("button", name="Cancel").click()
        expect(page.get_by_text(f"Training λ = {NEW_LAM} was cancelled; no model was saved.")).to_be_visible(
            timeout=30_000)
        expect(panel).to_have_count(0)
        expect_lam(page, NEW_LAM)
        no_traceback(page)
        page.close()
    assert sorted(p.name for p in models_dir.iterdir()) == sorted([saved[0], "broken.safetensors"])
