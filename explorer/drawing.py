"""A hand-drawn digit made into an MNIST image, as MNIST was made (LeCun et al. 1998): the ink's
bounding box scaled to fit a 20 x 20 box keeping its aspect ratio, anti-aliased, then placed in a
28 x 28 field with its centre of mass at the centre.

This is the reference for the drawing pad in the browser (explorer/component/drawpad.js), which
tests/browser/test_inputs.py compares against it on the pad's own ink bitmap. The two steps:
1. area averaging (each output pixel is the mean of the ink over its footprint; exact fractional
   coverage, so a 224-px pad scales down without aliasing), with the scaled box centred in the field;
2. a shift by the sub-pixel amount that puts the centre of mass at CENTRE, with bilinear
   interpolation (zero outside), so the result is a continuous function of the ink: a stroke
   moved by a pixel never jumps the digit by a whole pixel.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

FIELD = 28  # MNIST's image side
BOX = 20  # the side of the box the ink's bounding box is scaled to fit
# Where MNIST's own digits have their centre of mass, in pixel indices: (13.99, 14.01) on
# average over the first 3,000 test images.
CENTRE = 14.0


def coverage(n_out: int, n_in: int, offset: float, scale: float) -> np.ndarray:
    """(n_out, n_in): how much of output pixel [o, o + 1) input pixel i covers once placed at
    [offset + i * scale, offset + (i + 1) * scale); output = coverage @ input is the area average."""
    a = offset + np.arange(n_in) * scale  # (n_in,) left edges in output units
    o = np.arange(n_out)[:, None]  # (n_out, 1)
    return np.clip(np.minimum(o + 1, a + scale) - np.maximum(o, a), 0, None)


def to_mnist(ink: np.ndarray) -> np.ndarray | None:
    """(H, W) ink in [0, 1] (the pad's bitmap) -> (28, 28) float64 grey levels in [0, 1], ink bright
    as MNIST stores it; None if there is no ink."""
    ink = np.asarray(ink, np.float64)
    rows, cols = np.nonzero(ink > 0)
    if len(rows) == 0:
        return None
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    h, w = y1 - y0, x1 - x0
    scale = BOX / max(h, w)
    ay = coverage(FIELD, h, (FIELD - h * scale) / 2, scale)
    ax = coverage(FIELD, w, (FIELD - w * scale) / 2, scale)
    boxed = ay @ ink[y0:y1, x0:x1] @ ax.T  # (28, 28)
    cy, cx = ndimage.center_of_mass(boxed)
    centred = ndimage.shift(boxed, (CENTRE - cy, CENTRE - cx), order=1, mode="grid-constant", cval=0.0)
    return np.clip(centred, 0.0, 1.0)
