"""The VAE's story drawn on the plane, in Chromium, as a person sees it: posterior ellipses of q(z|x)
(a ring at lambda = 1, nothing at lambda = 0), the prior's 1/2/3 sigma contours, the holes of the
aggregate posterior (against explorer.density, the oracle), the density verdict, and the quantile
grid of Kingma & Welling 2014, figure 4 (against scipy and explorer.latent)."""
import numpy as np
import pytest
from playwright.sync_api import expect
from scipy import special

from explorer import density, latent
from tests.browser.harness import PLANE, after_frames, by_test_id
from tests.browser.page_helpers import canvas_pixels, client_xy, isolated_point

pytestmark = pytest.mark.browser

HOLE_RGBA = (88, 88, 150, 84)  # density.js's tint, drawn over white
HOLE_PIXEL = 255 + (np.array(HOLE_RGBA[:3]) - 255) * HOLE_RGBA[3] / 255
CANVAS = "[data-testid=plane-canvas]"


def _show(page, plane, **data):
    """This model's data with these settings, as a rerun would send them; wait for the model."""
    page.evaluate(f"(data) => {PLANE}.update(data)", {**plane.to_data(), **data})
    page.wait_for_function(f"(url) => {PLANE}.showsModel(url)", arg=plane.decoder_url)
    after_frames(page)


def _look_at(page, half: float, centre=(0.0, 0.0)):
    """Centre the view on `centre`, `half` latent units each way, as a zoom and pan would."""
    page.evaluate(f"(square) => {PLANE}.setSquare(square)",
                  {"cx": float(centre[0]), "cy": float(centre[1]), "span": 2 * float(half)})


def _holes(page, x0=None):
    """The browser's finished holes mask (for the view starting at x0, if given)."""
    page.wait_for_function(f"(x0) => {{ const h = {PLANE}.holes(); return h && (x0 === null || "
                           f"Math.abs(h.range.x[0] - x0) < 1e-9); }}", arg=x0, timeout=30_000)
    return page.evaluate(f"{PLANE}.holes()")


def _frame(page):
    """The plot as drawn once the frames asked for so far are."""
    after_frames(page)
    return canvas_pixels(page, CANVAS)


def _screen(page, z):
    """Canvas CSS px of latent z (the canvas is drawn at devicePixelRatio 1 here)."""
    x, y = client_xy(page, z)
    box = page.locator(CANVAS).bounding_box()
    return x - box["x"], y - box["y"]


def test_the_selected_digits_posterior_ellipses_ring_it_at_lambda_1_and_vanish_at_lambda_0(page, shipped):
    plane1, arrays1 = shipped["1"]
    _show(page, plane1)
    sigma = np.exp(0.5 * arrays1.test_logvar)
    i = int(np.argmax(sigma.min(1)))  # the widest q(z|x), zoomed in on as a person would
    mu = arrays1.test_mu
    _look_at(page, 5 * sigma[i].max(), mu[i])
    scale = page.evaluate(f"{PLANE}.scale()")
    rx, ry = sigma[i] * scale
    assert min(rx, ry) > 20
    page.mouse.move(5, 5)
    before = _frame(page)
    page.mouse.click(*client_xy(page, mu[i]))
    page.mouse.move(5, 5)
    assert page.evaluate(f"{PLANE}.lastClick")["index"] == i
    after = _frame(page)
    changed = np.abs(after - before).sum(-1) > 60
    ys, xs = np.nonzero(changed)
    sx, sy = _screen(page, mu[i])
    rho = np.hypot((xs + 0.5 - sx) / rx, (ys + 0.5 - sy) / ry)  # 1 on the 1 sigma ellipse, 2 on the 2 sigma one
    far = np.hypot(xs + 0.5 - sx, ys + 0.5 - sy) > 11  # beyond the selection cross
    on_ring = lambda k, tol: (np.abs(rho - k) < tol * k) & far  # noqa: E731
    assert on_ring(1, 0.15).sum() > 4 * (rx + ry), "a solid ring at 1 sigma"
    assert on_ring(2, 0.12).sum() > 2 * (rx + ry), "a dashed ring at 2 sigma"
    assert (far & ~on_ring(1, 0.2) & ~on_ring(2, 0.15)).sum() < 0.1 * changed.sum(), "nothing else changed"

    plane0, arrays0 = shipped["0"]
    _show(page, plane0)
    j = isolated_point(page, arrays0, label=7)
    page.mouse.click(*client_xy(page, arrays0.test_mu[j]))
    page.mouse.move(5, 5)
    assert page.evaluate(f"{PLANE}.lastClick")["index"] == j
    selected = _frame(page)
    far = arrays0.test_mu[j] + np.ptp(page.evaluate(f"{PLANE}.view()")["x"]) / 3 * np.array([1, 0])
    page.evaluate(f"(z) => {PLANE}.select(z, -1)", far.tolist())  # the selection moves away
    elsewhere = _frame(page)
    sx, sy = _screen(page, arrays0.test_mu[j])
    window = np.s_[int(sy) - 40: int(sy) + 40, int(sx) - 40: int(sx) + 40]
    ys, xs = np.nonzero(np.abs(selected[window] - elsewhere[window]).sum(-1) > 60)
    assert len(xs) and np.hypot(xs - 40, ys - 40).max() < 12, "only the cross: sigma is far below a pixel"
    # Every visible digit's ellipses: none big enough to draw at lambda = 0, thousands at lambda = 1.
    _show(page, plane0, layers={"ellipses": True})
    assert page.evaluate(f"{PLANE}.redrawBase()")["ellipses"] == 0
    _show(page, plane1, layers={"ellipses": True})
    runs = [page.evaluate(f"{PLANE}.redrawBase()") for _ in range(7)]
    assert min(r["ellipses"] for r in runs) > 5000
    print(f"\nbase redraw with every visible digit's ellipses ({runs[0]['ellipses']} digits): "
          f"median {np.median([r['ms'] for r in runs]):.1f} ms")
    expect(by_test_id(page, "layers-key")).to_contain_text("1 and 2 σ of each digit's q(z|x)")


def test_prior_contours_sit_at_one_two_and_three_sigma(page, shipped):
    plane1, _ = shipped["1"]
    _show(page, plane1)
    _look_at(page, 4.0)
    before = _frame(page)
    _show(page, plane1, layers={"prior": True})
    after = _frame(page)
    expect(by_test_id(page, "layers-key")).to_contain_text("the prior N(0, I) at 1, 2 and 3 σ")
    ys, xs = np.nonzero(np.abs(after - before).sum(-1) > 40)
    ox, oy = _screen(page, (0.0, 0.0))
    scale = page.evaluate(f"{PLANE}.scale()")
    r = np.hypot(xs + 0.5 - ox, ys + 0.5 - oy) / scale
    angle = np.degrees(np.arctan2(oy - ys, xs - ox))
    label = (angle > 25) & (angle < 65)  # the labels sit at 45 degrees, up and right
    for k in (1, 2, 3):
        ring = (np.abs(r - k) * scale < 1.5) & ~label
        assert ring.sum() > 0.5 * 2 * np.pi * k * scale * 0.6, f"the {k} sigma circle (dashed)"
    assert (~label & (np.abs(r[:, None] - [1, 2, 3]).min(1) * scale > 2)).sum() < 0.05 * len(r)


def test_holes_match_the_python_oracle_and_are_far_wider_at_lambda_0(page, shipped):
    shares = {}
    for lam in ("1", "0"):
        plane, arrays = shipped[lam]
        _show(page, plane, layers={"holes": True})
        holes = _holes(page)
        cells, (x, y) = holes["cells"], (holes["range"]["x"], holes["range"]["y"])
        mask = np.array(holes["mask"], bool).reshape(cells, cells)
        expected = density.hole_mask(arrays.test_mu, arrays.test_logvar, x, y, cells)
        agree = (mask == expected).mean()
        print(f"\nlambda = {lam}: holes layer {holes['ms']:.0f} ms, {agree:.4%} of {cells}x{cells} cells as Python, "
              f"{mask.mean():.1%} holes in the fitted view")
        assert agree >= 0.99
        expect(by_test_id(page, "layers-key")).to_contain_text("below 1% of the prior p(z) = N(0, I)")
        # What a person sees: the tint over the prior's 2 sigma disc, in the same view for both models.
        _look_at(page, 3.0)
        _holes(page, x0=-3.0)
        pixels = _frame(page)
        ox, oy = _screen(page, (0.0, 0.0))
        scale = page.evaluate(f"{PLANE}.scale()")
        yy, xx = np.mgrid[: pixels.shape[0], : pixels.shape[1]]
        disc = np.hypot(xx + 0.5 - ox, yy + 0.5 - oy) < 2 * scale
        tint = (np.abs(pixels - HOLE_PIXEL).max(-1) <= 3) & disc
        white = (pixels.min(-1) >= 252) & disc
        shares[lam] = tint.sum() / (tint.sum() + white.sum())
    print(f"hole share of the prior's 2 sigma disc: lambda 0 {shares['0']:.1%}, lambda 1 {shares['1']:.1%}")
    assert shares["0"] > 0.5 and shares["0"] > 5 * shares["1"]


def test_the_verdict_follows_the_aggregate_posterior(page, shipped):
    plane0, arrays0 = shipped["0"]
    _show(page, plane0)
    mu, logvar, labels = arrays0.test_mu, arrays0.test_logvar, arrays0.test_labels
    assert page.evaluate(f"{PLANE}.settings().density_level") == density.density_level(mu, logvar)
    # Between the 1 and 7 clusters (Python says it is off the data), clicked as a person would.
    c1, c7 = np.median(mu[labels == 1], 0), np.median(mu[labels == 7], 0)
    line = c1 + np.linspace(0.2, 0.8, 61)[:, None] * (c7 - c1)
    gap = line[np.argmax([np.linalg.norm(mu - z, axis=1).min() for z in line])]  # clear of every dot
    assert density.log_aggregate_posterior(gap, mu, logvar) < plane0.density_level
    _look_at(page, 2.0, gap)  # zoomed in: in the fitted view every pixel there is within reach of a dot
    page.mouse.click(*client_xy(page, gap))
    click = page.evaluate(f"{PLANE}.lastClick")
    assert click["index"] == -1
    verdict = by_test_id(page, "verdict")
    expect(verdict).to_have_attribute("data-within", "false")
    expect(verdict).to_contain_text("Off the data")
    expect(verdict).to_contain_text("a hole")
    log_q = float(verdict.get_attribute("data-log-q"))
    assert log_q == pytest.approx(density.log_aggregate_posterior(click["z"], mu, logvar), rel=1e-6)
    # A test digit's own code is within the data.
    i = int(np.flatnonzero(labels == 7)[0])
    page.evaluate(f"(i) => {PLANE}.select({PLANE}.point(i).z, i)", i)
    expect(verdict).to_have_attribute("data-within", "true")
    expect(verdict).to_contain_text("Within the data")
    # log q in the browser against Python, both models, near and far from the data.
    rng = np.random.default_rng(0)
    for lam in ("0", "1"):
        plane, arrays = shipped[lam]
        _show(page, plane)
        z = np.concatenate([arrays.test_mu[:5] + rng.normal(scale=0.05, size=(5, 2)), rng.normal(scale=3, size=(5, 2))])
        browser = np.array(page.evaluate(f"(zs) => {PLANE}.logDensity(zs)", z.tolist()))
        np.testing.assert_allclose(browser, density.log_aggregate_posterior(z, arrays.test_mu, arrays.test_logvar),
                                   rtol=1e-6)


def test_the_quantile_grid_tiles_the_priors_quantiles(page, shipped):
    plane1, _ = shipped["1"]
    p = np.concatenate([[1e-300, 1e-20, 1e-8, 1e-3, 0.02425], np.linspace(0.01, 0.99, 99), [1 - 1e-9]])
    np.testing.assert_allclose(page.evaluate(f"(ps) => {PLANE}.ndtri(ps)", p.tolist()), special.ndtri(p),
                               rtol=1e-9, atol=1e-12)
    n = 7
    _show(page, plane1, grid_show=True, grid_n=n, grid_spacing="even")
    page.wait_for_function(f"{PLANE}.gridReady()")
    even = _frame(page)
    _show(page, plane1, grid_show=True, grid_n=n, grid_spacing="quantile")
    page.wait_for_function(f"{PLANE}.gridReady() && {PLANE}.gridCells() !== null")
    cells = page.evaluate(f"{PLANE}.gridCells()")
    np.testing.assert_allclose(cells["centres"], latent.quantile_centres(n), rtol=0, atol=1e-9)
    np.testing.assert_allclose(cells["edges"], latent.quantile_edges(n), rtol=0, atol=1e-9)
    quantile = _frame(page)
    assert np.abs(quantile - even).sum(-1).astype(bool).mean() > 0.2, "the tiles moved"
    # The top-right tile is the decode at the prior's highest quantile on both axes, drawn in its cell.
    tiles = page.evaluate(f"{PLANE}.gridImage()")
    assert (tiles["width"], tiles["height"]) == (n * 28, n * 28)
    tiles = np.array(tiles["data"]).reshape(n * 28, n * 28, 4)[..., 0]
    z = latent.grid_points(None, None, n, spacing="quantile")
    decoded = np.array(page.evaluate(f"(zs) => {PLANE}.decode(zs)", [z[0, n - 1].tolist()]))[0]
    assert np.abs(tiles[:28, -28:] - (255 - decoded * 255).reshape(28, 28)).max() <= 1
    edges = latent.quantile_edges(n)
    (x0, y0), (x1, y1) = _screen(page, (edges[-2], edges[-1])), _screen(page, (edges[-1], edges[-2]))
    assert x1 - x0 > 0 and y1 - y0 > 0
