"""The reference preprocessing of a drawn digit (explorer/drawing.py): MNIST's recipe (LeCun et al.
1998), checked on MNIST's own digits drawn large and on shapes whose answer is known."""
import numpy as np
import pytest
from scipy import ndimage

from explorer import drawing

PAD = 224  # the browser's pad, in ink pixels


def test_an_mnist_digit_drawn_eight_times_larger_comes_back_as_itself(mnist_test):
    """MNIST's digits were made by this recipe, so one blown up 8x (pixel replication) and sent
    through it again must come back as itself moved to put its centre of mass (MNIST's are within
    about 0.3 px of 14) on CENTRE: the box average undoes the 8x. It matches that to within the
    blur of a half-pixel placement of odd widths (worst correlation 0.98 on these 191 digits)."""
    checked = 0
    for image in mnist_test.images[:200]:
        rows, cols = np.nonzero(image.any(1))[0], np.nonzero(image.any(0))[0]
        if rows[-1] - rows[0] + 1 != 20 or cols[-1] - cols[0] + 1 > 20:
            continue  # the recipe's 20-px box is the digit's height; the rest were wider than tall
        original = image / 255
        out = drawing.to_mnist(np.kron(original, np.ones((8, 8))))  # drawn on a (224, 224) pad
        cy, cx = ndimage.center_of_mass(original)
        expected = ndimage.shift(original, (drawing.CENTRE - cy, drawing.CENTRE - cx), order=1, mode="grid-constant")
        assert out.shape == (28, 28)
        assert np.abs(out - expected).mean() < 0.03
        assert np.corrcoef(out.ravel(), expected.ravel())[0, 1] > 0.97
        checked += 1
    assert checked > 100


def test_the_longer_side_fits_twenty_pixels_keeping_the_aspect_ratio():
    tall = np.zeros((PAD, PAD))
    tall[30:190, 100:140] = 1  # 160 x 40
    out = drawing.to_mnist(tall)
    assert out.sum() == pytest.approx(20 * 5)  # the ink's area, scaled by (20 / 160)^2: area averaging keeps it
    rows, cols = np.nonzero(out.sum(1) > 1e-9)[0], np.nonzero(out.sum(0) > 1e-9)[0]
    assert 20 <= len(rows) <= 22 and 5 <= len(cols) <= 7  # placing and centring may each straddle a pixel more
    wide = tall.T
    np.testing.assert_allclose(drawing.to_mnist(wide), out.T, atol=1e-12)


def test_the_centre_of_mass_lands_on_mnists_own():
    """Exactly, unless the move pushed ink out of the field (a lopsided drawing, as in MNIST)."""
    rng, exact = np.random.default_rng(0), 0
    for _ in range(20):
        ink = np.zeros((PAD, PAD))
        for _ in range(3):  # three blobs of random size, place and darkness
            y, x, r = rng.integers(30, 190), rng.integers(30, 190), rng.integers(6, 20)
            yy, xx = np.ogrid[:PAD, :PAD]
            ink = np.maximum(ink, rng.uniform(0.3, 1) * ((yy - y) ** 2 + (xx - x) ** 2 <= r * r))
        out = drawing.to_mnist(ink)
        assert out.min() >= 0 and out.max() <= 1
        rows, cols = np.nonzero(ink.any(1))[0], np.nonzero(ink.any(0))[0]
        scale = drawing.BOX / max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
        if out.sum() < ink.sum() * scale ** 2 - 1e-9:
            continue
        np.testing.assert_allclose(ndimage.center_of_mass(out), (drawing.CENTRE, drawing.CENTRE), atol=1e-9)
        exact += 1
    assert exact >= 10


def test_where_on_the_pad_it_was_drawn_does_not_matter():
    ink = np.zeros((PAD, PAD))
    ink[40:120, 50:60] = 1
    ink[40:50, 50:110] = 0.5
    moved = np.roll(ink, (70, 37), axis=(0, 1))
    np.testing.assert_allclose(drawing.to_mnist(moved), drawing.to_mnist(ink), atol=1e-12)


def test_no_ink_is_no_digit():
    assert drawing.to_mnist(np.zeros((PAD, PAD))) is None


def test_coverage_is_the_exact_overlap():
    # Three input pixels of width 0.75 from 0.5: [0.5, 1.25), [1.25, 2), [2, 2.75).
    np.testing.assert_allclose(drawing.coverage(3, 3, 0.5, 0.75), [[0.5, 0, 0], [0.25, 0.75, 0], [0, 0, 0.75]])
