"""The latent plane in a real Chromium, as a person sees it: Figure 1's ten classes, clicks answered
in the browser (decode, q(z|x), KL, nearest training digits), drags, the in-browser decoder against
torch (the independent oracle), the laptop layout, and nothing stale after a model change."""
import numpy as np
import pytest
from playwright.sync_api import expect

from explorer import density, export, latent
from explorer.component.protocol import PALETTE
from tests.browser import harness
from tests.browser.harness import PLANE, after_frames, by_test_id, read_png, wait_idle, z_text
from tests.browser.page_helpers import (
    canvas_pixels,
    client_xy,
    grey_pixels,
    isolated_point,
    pointer_away,
    show_model,
    torch_decode,
    wait_loaded,
    wait_painted,
)

pytestmark = pytest.mark.browser

STRIP_SCALE = 3  # export.strip_png's default


def _empty_spot(checkpoint, page) -> np.ndarray:
    """The latent point in view farthest from any test point."""
    mu = checkpoint.embedding.test_mu
    view = page.evaluate(f"{PLANE}.view()")
    (x0, x1), (y0, y1) = view["x"], view["y"]
    candidates = np.stack(np.meshgrid(np.linspace(x0, x1, 24)[2:-2], np.linspace(y0, y1, 24)[2:-2]), -1).reshape(-1, 2)
    gaps = np.array([np.linalg.norm(mu - c, axis=1).min() for c in candidates])
    return candidates[gaps.argmax()]


def _check_neighbours(page, checkpoint, mnist_train, z, k=8):
    """The panel's neighbours are NeighbourIndex's, with their images, and its verdict is the density's."""
    page.wait_for_function(f"{PLANE}.trainReady")
    index = latent.NeighbourIndex(checkpoint.embedding.train_mu)
    expected, distances = index.query(np.asarray(z, np.float32), k)
    cells = by_test_id(page, "neighbour")
    expect(cells).to_have_count(k)
    shown = [int(cells.nth(j).get_attribute("data-index")) for j in range(k)]
    assert shown == expected.tolist()
    for j in (0, k - 1):
        label = mnist_train.labels[expected[j]]
        expect(cells.nth(j)).to_have_text(f"{label} · {distances[j]:.3f}")
    page.wait_for_function(f"{PLANE}.neighboursShown()")
    first = grey_pixels(page, "[data-testid=neighbour-image]")
    np.testing.assert_array_equal(first, mnist_train.images[expected[0]])
    verdict = by_test_id(page, "verdict")
    e = checkpoint.embedding
    level = page.evaluate(f"{PLANE}.settings().density_level")
    within = density.log_aggregate_posterior(np.asarray(z, np.float64), e.test_mu, e.test_logvar) >= level
    expect(verdict).to_have_attribute("data-within", str(within).lower())
    expect(verdict).to_contain_text("Within the data" if within else "Off the data")


def test_figure_1_scatter_shows_ten_digit_classes_with_a_working_legend(page, checkpoint):
    items = page.locator("[data-testid=legend-item]")
    expect(items).to_have_count(10)
    assert [items.nth(i).get_attribute("data-label") for i in range(10)] == [str(d) for d in range(10)]
    drawn = page.evaluate(f"{PLANE}.drawnCounts()")
    assert all(n > 500 for n in drawn) and sum(drawn) > 0.99 * len(checkpoint.embedding.test_mu)
    tab10 = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in PALETTE])
    alpha = max(page.evaluate(f"{PLANE}.dots()")[0]["coverage"])  # a dot's opacity where it covers a whole pixel
    dots = alpha * tab10 + (1 - alpha) * 255

    def class_pixels():
        pixels = canvas_pixels(page, "[data-testid=plane-canvas]")
        return np.array([(np.linalg.norm(pixels - c, axis=-1) < 12).sum() for c in dots])

    seen = class_pixels()
    assert (seen > 200).all(), f"pixels of each digit's colour on the plot: {seen}"
    items.nth(3).click()  # hide the threes
    page.wait_for_function(f"{PLANE}.drawnCounts()[3] === 0")
    hidden = class_pixels()
    assert hidden[3] < 0.02 * seen[3] and (np.delete(hidden, 3) > 200).all()
    items.nth(3).click()
    page.wait_for_function(f"{PLANE}.drawnCounts()[3] > 500")

    i = isolated_point(page, checkpoint.embedding, label=5)
    page.mouse.move(*client_xy(page, checkpoint.embedding.test_mu[i]))
    tooltip = page.get_by_test_id("plane-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(f"digit 5 · test #{i}")


def test_a_click_on_empty_space_is_answered_in_the_browser(page, checkpoint, mnist_train):
    target = _empty_spot(checkpoint, page)
    page.mouse.click(*client_xy(page, target))
    click = page.evaluate(f"{PLANE}.lastClick")
    one_px = (page.evaluate(f"{PLANE}.view()")["x"][1] - page.evaluate(f"{PLANE}.view()")["x"][0]) / \
        page.evaluate(f"{PLANE}.plotRect()")["width"]
    assert click["index"] == -1 and np.allclose(click["z"], target, atol=2 * one_px)
    expect(by_test_id(page, "panel-z")).to_have_text(f"Selected z = {z_text(click['z'])}")
    expect(by_test_id(page, "panel-digit")).to_be_hidden()
    pointer_away(page)
    expect(by_test_id(page, "decode-title")).to_have_text("Decoder at the selected point")
    expected = torch_decode(checkpoint, [click["z"]])[0]
    assert np.abs(np.array(page.evaluate(f"{PLANE}.selection().pixels")) - expected).max() < 1e-4
    shown = grey_pixels(page, "[data-testid=decode]")
    assert np.abs(shown - export.to_uint8(expected.reshape(28, 28)).astype(int)).max() <= 1
    _check_neighbours(page, checkpoint, mnist_train, click["z"])


def test_a_click_on_a_test_digit_shows_its_posterior_and_kl(page, checkpoint, mnist_test, mnist_train):
    e = checkpoint.embedding
    i = isolated_point(page, checkpoint.embedding, label=7)
    page.mouse.click(*client_xy(page, e.test_mu[i]))
    assert page.evaluate(f"{PLANE}.lastClick")["index"] == i
    stats = latent.point_stats(e.test_mu[i], e.test_logvar[i])
    expect(by_test_id(page, "panel-z")).to_have_text(f"Selected z = {z_text(e.test_mu[i])}")
    digit = by_test_id(page, "panel-digit")
    expect(digit).to_contain_text(f"digit 7 · test #{i}")
    expect(digit).to_contain_text(f"μ = {z_text(stats.mu)}, σ = {z_text(stats.sigma)}")
    expect(by_test_id(page, "panel-kl")).to_have_text(f"{stats.kl:.2f} nats")
    wait_painted(page, "[data-testid=digit-image]")
    np.testing.assert_array_equal(grey_pixels(page, "[data-testid=digit-image]"), mnist_test.images[i])
    _check_neighbours(page, checkpoint, mnist_train, e.test_mu[i])


def test_drag_between_two_digits_decodes_live_and_ends_with_the_strip(page, checkpoint, mnist_test):
    mu = checkpoint.embedding.test_mu
    a, b = isolated_point(page, checkpoint.embedding, label=1), isolated_point(page, checkpoint.embedding, label=0)
    (ax, ay), (bx, by) = client_xy(page, mu[a]), client_xy(page, mu[b])
    page.mouse.move(ax, ay)
    page.mouse.down()
    start_decode = torch_decode(checkpoint, [mu[a]])[0]
    view = page.evaluate(f"{PLANE}.view()")
    one_px = (view["x"][1] - view["x"][0]) / page.evaluate(f"{PLANE}.plotRect()")["width"]
    seen_z = []
    for f in (0.35, 0.7):
        page.mouse.move(ax + f * (bx - ax), ay + f * (by - ay), steps=8)
        pointer_z = page.evaluate(f"{PLANE}.toLatent({ax + f * (bx - ax)}, {ay + f * (by - ay)})")
        page.wait_for_function(f"([z, tol]) => {{ const l = {PLANE}.live(); return l && Math.hypot(l.z[0] - z[0], "
                               f"l.z[1] - z[1]) < tol; }}", arg=[pointer_z, 1.5 * one_px], timeout=10_000)
        live = page.evaluate(f"{PLANE}.live()")
        decoded = torch_decode(checkpoint, [live["z"]])[0]
        assert np.abs(np.array(live["pixels"]) - decoded).max() < 1e-4
        assert np.abs(decoded - start_decode).max() > 0.05, "the live decode should move away from the start"
        expect(by_test_id(page, "decode-title")).to_have_text("Decoder at the pointer")
        seen_z.append(live["z"])
    assert seen_z[0] != seen_z[1]
    assert page.evaluate(f"{PLANE}.frameTimes('drag').length") > 0
    # Held still, every middle frame of the strip catches up with the line from the start to the pointer.
    page.wait_for_function(f"""() => {{
      const s = {PLANE}.strip(), end = {PLANE}.live().z, n = s.length, a = s[0].z;
      return s.every((f, k) => f.z && Math.hypot(f.z[0] - (a[0] + k / (n - 1) * (end[0] - a[0])),
                                                 f.z[1] - (a[1] + k / (n - 1) * (end[1] - a[1]))) < 1e-9);
    }}""", timeout=10_000)
    live_strip = page.evaluate(f"{PLANE}.strip()")
    np.testing.assert_allclose([f["pixels"] for f in live_strip],
                               torch_decode(checkpoint, [f["z"] for f in live_strip]), atol=1e-4)
    assert page.evaluate(f"{PLANE}.frameTimes('strip').length") > 0
    page.mouse.move(bx, by, steps=8)
    page.mouse.up()

    drag = page.evaluate(f"{PLANE}.lastDrag")
    assert (drag["start_index"], drag["end_index"]) == (a, b)
    np.testing.assert_array_equal(drag["start"], mu[a].astype(float))
    np.testing.assert_array_equal(drag["end"], mu[b].astype(float))
    ends = torch_decode(checkpoint, [mu[a], mu[b]])
    strip = page.evaluate(f"{PLANE}.strip()")
    assert len(strip) == 10
    assert np.abs(np.array(strip[0]["pixels"]) - ends[0]).max() < 1e-4
    assert np.abs(np.array(strip[-1]["pixels"]) - ends[1]).max() < 1e-4
    wait_painted(page, "[data-testid=strip-end]")
    np.testing.assert_array_equal(grey_pixels(page, "[data-testid=strip-start]"), mnist_test.images[a])
    np.testing.assert_array_equal(grey_pixels(page, "[data-testid=strip-end]"), mnist_test.images[b])
    expect(by_test_id(page, "panel-z")).to_have_text(f"Selected z = {z_text(mu[b])}")

    # The drag reached Python: its downloads are torch's decodes of the same line.
    button = page.get_by_role("button", name="Download PNG strip")
    expect(button).to_be_visible(timeout=20_000)
    with page.expect_download() as download:
        button.click()
    png = read_png(open(download.value.path(), "rb").read())
    frame = 28 * STRIP_SCALE
    assert png.shape == (frame, 10 * frame)
    for k, expected in ((0, ends[0]), (9, ends[1])):
        shown = png[::STRIP_SCALE, k * frame: (k + 1) * frame: STRIP_SCALE].astype(int)
        assert np.abs(shown - export.to_uint8(expected.reshape(28, 28)).astype(int)).max() <= 1


def test_in_browser_decoder_matches_torch_on_random_z(page, checkpoint):
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(scale=2.0, size=(300, 2)), rng.uniform(-8, 8, size=(50, 2))]).astype(np.float32)
    in_browser = np.array(page.evaluate(f"(zs) => {PLANE}.decode(zs)", z.astype(float).tolist()))
    worst = np.abs(in_browser - torch_decode(checkpoint, z)).max()
    assert worst < 1e-4, f"max abs pixel difference {worst:.2e}"


def test_a_click_right_after_the_first_paint_is_answered(painted_page):
    page = painted_page
    rect = page.evaluate(f"{PLANE}.plotRect()")
    page.mouse.click(rect["left"] + 0.43 * rect["width"], rect["top"] + 0.57 * rect["height"])
    click, painted = page.evaluate(f"[{PLANE}.lastClick, {PLANE}.paintedAt]")
    assert click is not None and click["t"] - painted < 500, f"clicked {click and click['t'] - painted} ms after paint"
    expect(by_test_id(page, "panel-z")).to_have_text(f"Selected z = {z_text(click['z'])}", timeout=1_000)


def test_the_plane_its_panel_and_strip_fit_a_laptop_screen_and_stay_put(tracked_page):
    page, width, height = tracked_page, harness.VIEWPORT["width"], harness.VIEWPORT["height"]
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "false")
    # Meanwhile the page loads torch, the model and its panels, and the plane its training encodings.
    wait_loaded(page)
    wait_idle(page)
    after_frames(page)  # the layout they leave is sampled
    plot = page.evaluate(f"{PLANE}.plotRect()")
    assert plot["width"] == plot["height"] >= 560
    for box in (page.get_by_test_id("plane-canvas").bounding_box(), by_test_id(page, "decode-panel").bounding_box(),
                by_test_id(page, "live-strip").bounding_box()):
        assert box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, box
    panel, strip = by_test_id(page, "decode-panel").bounding_box(), by_test_id(page, "live-strip").bounding_box()
    assert panel["x"] >= plot["left"] + plot["width"] and strip["y"] >= plot["top"] + plot["height"]
    assert page.evaluate("window.__shift.max") == 0, "the plane moved after its first paint"


def test_after_a_model_change_nothing_shown_is_stale(page, checkpoint, other_model, starting_plane, mnist_train):
    new, new_plane = other_model
    old_mu, new_mu = checkpoint.embedding.test_mu, new.embedding.test_mu
    a, b = isolated_point(page, checkpoint.embedding, label=1), isolated_point(page, checkpoint.embedding, label=0)
    page.mouse.move(*client_xy(page, old_mu[a]))
    page.mouse.down()
    page.mouse.move(*client_xy(page, old_mu[b]), steps=10)
    page.mouse.up()  # a strip from a to b, and b selected
    expect(by_test_id(page, "panel-z")).to_have_text(f"Selected z = {z_text(old_mu[b])}")
    view_before = page.evaluate(f"{PLANE}.view()")
    pointer_away(page)

    show_model(page, new_plane)
    # The selected test digit moved to its mu under the new model, with the new model's figures.
    assert page.evaluate(f"{PLANE}.selection()")["index"] == b
    np.testing.assert_array_equal(page.evaluate(f"{PLANE}.selection()")["z"], new_mu[b].astype(float))
    expect(by_test_id(page, "panel-z")).to_have_text(f"Selected z = {z_text(new_mu[b])}")
    stats = latent.point_stats(new_mu[b], new.embedding.test_logvar[b])
    expect(by_test_id(page, "panel-kl")).to_have_text(f"{stats.kl:.2f} nats")
    expected = torch_decode(new, [new_mu[b]])[0]
    shown = grey_pixels(page, "[data-testid=decode]")
    assert np.abs(shown - export.to_uint8(expected.reshape(28, 28)).astype(int)).max() <= 1
    _check_neighbours(page, new, mnist_train, new_mu[b])
    # The strip runs between the same two digits where the new model puts them, decoded by it,
    # and Python hears the moved drag (its downloads follow).
    drag = page.evaluate(f"{PLANE}.lastDrag")
    np.testing.assert_array_equal([drag["start"], drag["end"]], new_mu[[a, b]].astype(float))
    strip = np.array([f["pixels"] for f in page.evaluate(f"{PLANE}.strip()")])
    torch_strip = torch_decode(new, latent.interpolate(new_mu[a], new_mu[b], 10))
    assert np.abs(strip - torch_strip).max() < 1e-4
    # The view fits the new model's codes.
    assert page.evaluate(f"{PLANE}.view()") != view_before

    # A free z stays where it is and is decoded by the model now shown; so is the pointer's decode.
    free = _empty_spot(new, page)
    page.mouse.click(*client_xy(page, free))
    z = page.evaluate(f"{PLANE}.lastClick")["z"]
    page.mouse.move(*client_xy(page, [z[0] + 0.05, z[1]]))
    page.wait_for_function(f"{PLANE}.live() !== null")
    show_model(page, starting_plane)
    assert page.evaluate(f"{PLANE}.selection()")["z"] == z
    selected = np.array(page.evaluate(f"{PLANE}.selection()")["pixels"])
    assert np.abs(selected - torch_decode(checkpoint, [z])[0]).max() < 1e-4
    page.wait_for_function(f"{PLANE}.live() !== null")
    live = page.evaluate(f"{PLANE}.live()")
    assert np.abs(np.array(live["pixels"]) - torch_decode(checkpoint, [live["z"]])[0]).max() < 1e-4
    pointer_away(page)
    expect(by_test_id(page, "panel-z")).to_have_text(f"Selected z = {z_text(z)}")
    shown = grey_pixels(page, "[data-testid=decode]")
    assert np.abs(shown - export.to_uint8(torch_decode(checkpoint, [z])[0].reshape(28, 28)).astype(int)).max() <= 1
