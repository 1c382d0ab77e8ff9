"""The app in a real Chromium: Figure 1's ten classes, click-to-decode, drag-to-interpolate, and the
in-browser decoder against torch (the independent oracle)."""
import base64

import numpy as np
import pytest
from playwright.sync_api import expect

from explorer import export, latent
from tests.browser import harness
from tests.browser.harness import PLANE, read_png

pytestmark = pytest.mark.browser

TAB10 = np.array([[0x1f, 0x77, 0xb4], [0xff, 0x7f, 0x0e], [0x2c, 0xa0, 0x2c], [0xd6, 0x27, 0x28], [0x94, 0x67, 0xbd],
                  [0x8c, 0x56, 0x4b], [0xe3, 0x77, 0xc2], [0x7f, 0x7f, 0x7f], [0xbc, 0xbd, 0x22], [0x17, 0xbe, 0xcf]])
DOT_ALPHA = 0.75  # plane.js draws dots at this opacity over white
DECODE_SCALE = 8  # app.py enlarges the selected decode 8x
STRIP_SCALE = 3  # export.strip_png's default


def _plot_pixels(page) -> np.ndarray:
    """What the plot canvas shows, as (H, W, 3) uint8."""
    url = page.evaluate(f"{PLANE}.plane.canvas.toDataURL('image/png')")
    from PIL import Image
    import io
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(int)


def _class_pixels(pixels: np.ndarray) -> np.ndarray:
    """Pixels within a small colour distance of each digit's dot colour -> (10,) counts."""
    dots = DOT_ALPHA * TAB10 + (1 - DOT_ALPHA) * 255
    return np.array([(np.linalg.norm(pixels - c, axis=-1) < 12).sum() for c in dots])


def _torch_decode(checkpoint, z) -> np.ndarray:
    return latent.decode(checkpoint.model, np.asarray(z, np.float32).reshape(-1, 2)).reshape(len(z), -1)


def _isolated_point(checkpoint, page, label: int) -> int:
    """A test point of this digit with no other point within 4 screen px, well inside the view."""
    mu, labels = checkpoint.embedding.test_mu, checkpoint.embedding.test_labels
    view = page.evaluate(f"{PLANE}.view()")
    px_per_unit = page.evaluate(f"{PLANE}.plotRect()")["width"] / (view["x"][1] - view["x"][0])
    (x0, x1), (y0, y1) = view["x"], view["y"]
    for i in np.flatnonzero(labels == label):
        if not (x0 + 0.15 * (x1 - x0) < mu[i, 0] < x1 - 0.15 * (x1 - x0)
                and y0 + 0.15 * (y1 - y0) < mu[i, 1] < y1 - 0.15 * (y1 - y0)):
            continue
        gaps = np.linalg.norm(mu - mu[i], axis=1) * px_per_unit
        gaps[i] = np.inf
        if gaps.min() > 4:
            return int(i)
    raise AssertionError(f"no isolated test point of digit {label} in view")


def _client(page, z):
    p = page.evaluate(f"([x, y]) => {PLANE}.toClient(x, y)", [float(z[0]), float(z[1])])
    return p["x"], p["y"]


def test_figure_1_scatter_shows_ten_digit_classes_with_a_working_legend(page, checkpoint):
    items = page.locator("[data-testid=legend-item]")
    expect(items).to_have_count(10)
    assert [items.nth(i).get_attribute("data-label") for i in range(10)] == [str(d) for d in range(10)]
    drawn = page.evaluate(f"{PLANE}.drawnCounts()")
    assert all(n > 500 for n in drawn) and sum(drawn) > 0.99 * len(checkpoint.embedding.test_mu)
    seen = _class_pixels(_plot_pixels(page))
    assert (seen > 200).all(), f"pixels of each digit's colour on the plot: {seen}"

    items.nth(3).click()  # hide the threes
    page.wait_for_function(f"{PLANE}.drawnCounts()[3] === 0")
    hidden = _class_pixels(_plot_pixels(page))
    assert hidden[3] < 0.02 * seen[3] and (np.delete(hidden, 3) > 200).all()
    items.nth(3).click()
    page.wait_for_function(f"{PLANE}.drawnCounts()[3] > 500")

    i = _isolated_point(checkpoint, page, label=5)
    page.mouse.move(*_client(page, checkpoint.embedding.test_mu[i]))
    tooltip = page.get_by_test_id("plane-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(f"digit 5 · test #{i}")


def test_click_on_empty_space_decodes_that_z_in_the_browser_and_in_python(page, checkpoint):
    mu = checkpoint.embedding.test_mu
    view = page.evaluate(f"{PLANE}.view()")
    px_per_unit = page.evaluate(f"{PLANE}.plotRect()")["width"] / (view["x"][1] - view["x"][0])
    (x0, x1), (y0, y1) = view["x"], view["y"]
    candidates = np.stack(np.meshgrid(np.linspace(x0, x1, 24)[2:-2], np.linspace(y0, y1, 24)[2:-2]), -1).reshape(-1, 2)
    gaps = np.array([np.linalg.norm(mu - c, axis=1).min() for c in candidates]) * px_per_unit
    target = candidates[gaps.argmax()]
    assert gaps.max() > 20, "no empty region in view"

    page.mouse.click(*_client(page, target))
    click = page.evaluate(f"{PLANE}.lastClick")
    assert click["index"] == -1 and np.allclose(click["z"], target, atol=2 / px_per_unit)
    live = page.evaluate(f"{PLANE}.live()")
    assert live["z"] == click["z"]
    expected = _torch_decode(checkpoint, [click["z"]])[0]
    assert np.abs(np.array(live["pixels"]) - expected).max() < 1e-4

    z0, z1 = click["z"]
    panel = page.locator(".st-key-selected")
    expect(panel).to_contain_text(f"z = ({z0:.3f}, {z1:.3f})", timeout=20_000)
    src = panel.locator("img").first.get_attribute("src")
    shown = read_png(page.request.get(src).body())[::DECODE_SCALE, ::DECODE_SCALE]
    assert np.abs(shown.astype(int) - export.to_uint8(expected.reshape(28, 28)).astype(int)).max() <= 1
    expect(page.locator(".st-key-neighbours img")).to_have_count(8)


def test_drag_between_two_digits_decodes_live_and_ends_with_the_strip(page, checkpoint):
    mu = checkpoint.embedding.test_mu
    a, b = _isolated_point(checkpoint, page, label=1), _isolated_point(checkpoint, page, label=0)
    (ax, ay), (bx, by) = _client(page, mu[a]), _client(page, mu[b])
    page.mouse.move(ax, ay)
    page.mouse.down()
    start_decode = _torch_decode(checkpoint, [mu[a]])[0]
    view = page.evaluate(f"{PLANE}.view()")
    one_px = (view["x"][1] - view["x"][0]) / page.evaluate(f"{PLANE}.plotRect()")["width"]
    seen_z = []
    for f in (0.35, 0.7):
        page.mouse.move(ax + f * (bx - ax), ay + f * (by - ay), steps=8)
        pointer_z = page.evaluate(f"{PLANE}.toLatent({ax + f * (bx - ax)}, {ay + f * (by - ay)})")
        page.wait_for_function(f"([z, tol]) => {{ const l = {PLANE}.live(); return l && Math.hypot(l.z[0] - z[0], "
                               f"l.z[1] - z[1]) < tol; }}", arg=[pointer_z, 1.5 * one_px], timeout=10_000)
        live = page.evaluate(f"{PLANE}.live()")
        decoded = _torch_decode(checkpoint, [live["z"]])[0]
        assert np.abs(np.array(live["pixels"]) - decoded).max() < 1e-4
        assert np.abs(decoded - start_decode).max() > 0.05, "the live decode should move away from the start"
        seen_z.append(live["z"])
    assert seen_z[0] != seen_z[1]
    assert page.evaluate(f"{PLANE}.frameTimes('drag').length") > 0
    page.mouse.move(bx, by, steps=8)
    page.mouse.up()

    drag = page.evaluate(f"{PLANE}.lastDrag")
    assert (drag["start_index"], drag["end_index"]) == (a, b)
    np.testing.assert_array_equal(drag["start"], mu[a].astype(float))
    np.testing.assert_array_equal(drag["end"], mu[b].astype(float))
    ends = _torch_decode(checkpoint, [mu[a], mu[b]])
    strip = page.evaluate(f"{PLANE}.strip()")
    assert len(strip) == 10
    assert np.abs(np.array(strip[0]["pixels"]) - ends[0]).max() < 1e-4
    assert np.abs(np.array(strip[-1]["pixels"]) - ends[1]).max() < 1e-4

    expect(page.locator(".st-key-strip img")).to_have_count(1, timeout=20_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PNG strip").click()
    png = read_png(open(download.value.path(), "rb").read())
    frame = 28 * STRIP_SCALE
    assert png.shape == (frame, 10 * frame)
    for k, expected in ((0, ends[0]), (9, ends[1])):
        shown = png[::STRIP_SCALE, k * frame: (k + 1) * frame: STRIP_SCALE].astype(int)
        assert np.abs(shown - export.to_uint8(expected.reshape(28, 28)).astype(int)).max() <= 1
    with page.expect_download() as download:
        page.get_by_role("button", name="Download GIF").click()
    assert open(download.value.path(), "rb").read(6) in (b"GIF89a", b"GIF87a")


def test_in_browser_decoder_matches_torch_on_random_z(page, checkpoint):
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(scale=2.0, size=(300, 2)), rng.uniform(-8, 8, size=(50, 2))]).astype(np.float32)
    in_browser = np.array(page.evaluate(f"(zs) => {PLANE}.decode(zs)", z.astype(float).tolist()))
    worst = np.abs(in_browser - _torch_decode(checkpoint, z)).max()
    assert worst < 1e-4, f"max abs pixel difference {worst:.2e}"


def test_a_corrupt_model_file_shows_an_error_not_a_traceback(chromium, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json, not a checkpoint")
    with harness.app_server(bad) as url:
        page = chromium.new_page(viewport=harness.VIEWPORT)
        page.goto(url)
        expect(page.get_by_test_id("stAlert")).to_contain_text("Cannot show the latent plane", timeout=30_000)
        expect(page.get_by_test_id("stAlert")).to_contain_text("bad.safetensors")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert "Traceback" not in page.content()
        page.close()


def test_grid_download_tiles_the_visible_range_top_row_highest(page, checkpoint):
    button = page.get_by_role("button", name="latent grid of this view")
    expect(button).to_be_visible(timeout=20_000)
    view = page.evaluate(f"{PLANE}.view()")
    with page.expect_download() as download:
        button.click()
    png = read_png(open(download.value.path(), "rb").read())
    n = png.shape[0] // 28
    assert png.shape == (28 * n, 28 * n) and n == 15
    # The Python side rounds the view it was sent to 1e-4; the tiles must still be its corners' decodes.
    (x0, x1), (y0, y1) = view["x"], view["y"]
    for (row, col), z in {(0, 0): (x0 + 0.5 * (x1 - x0) / n, y1 - 0.5 * (y1 - y0) / n),
                          (n - 1, n - 1): (x1 - 0.5 * (x1 - x0) / n, y0 + 0.5 * (y1 - y0) / n)}.items():
        expected = export.to_uint8(_torch_decode(checkpoint, [z])[0].reshape(28, 28)).astype(int)
        tile = png[28 * row: 28 * (row + 1), 28 * col: 28 * (col + 1)].astype(int)
        assert np.abs(tile - expected).max() <= 2
