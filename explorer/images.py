"""A training job's live pictures as pixels: the loss curves and the embedding, drawn with PIL and
numpy rather than a chart library, because they are redrawn every second while the page must
keep answering clicks, and a chart library's figure costs far more on each side than pixels.

No Streamlit and no torch here: each function takes plain values (a job's status snapshot is
read by its fields) and returns RGB pixels.
"""
from __future__ import annotations

import numpy as np

from .component.protocol import PALETTE

CURVE_COLOURS = {"recon": "#1f77b4", "KL": "#d62728", "total": "#222222"}


def loss_rows(status) -> dict[str, list[float]]:
    """Per-epoch training means (recon, KL, total) as chart columns, plus the running means of the
    epoch in progress at its fractional epoch, so the curves move before the first epoch ends."""
    rows = {"epoch": [float(h.epoch) for h in status.history], "recon": [h.recon for h in status.history],
            "KL": [h.kl for h in status.history], "total": [h.loss for h in status.history]}
    now = status.fraction * status.epochs
    running = status.state.value == "running" and status.recon is not None
    if running and (not rows["epoch"] or now > rows["epoch"][-1] + 1e-6):
        for name, value in (("epoch", now), ("recon", status.recon), ("KL", status.kl), ("total", status.loss)):
            rows[name].append(value)
    return rows


FONT_PX = 13  # labels and ticks, readable in the sidebar and on a projector
GREY = (90, 90, 90)


def loss_image(rows: dict[str, list[float]], epochs: int, width: int = 320, height: int = 240) -> np.ndarray:
    """The loss curves of `loss_rows` drawn into RGB pixels (height, width, 3) uint8: a key on top,
    recon and total in the upper panel, KL in the lower one (its scale is a hundred times smaller),
    epochs 0..`epochs` across. Every label sits in the margins, clear of the curves."""
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.load_default(size=FONT_PX)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right, key_h, axis_h, gap = 48, width - 6, FONT_PX + 8, FONT_PX + 6, 12
    middle = key_h + (height - key_h - axis_h - gap) // 2
    panels = ((("recon", "total"), key_h, middle), (("KL",), middle + gap, height - axis_h))
    x = left
    for name in ("recon", "total", "KL"):  # the key: a short line in the curve's colour, then its name
        colour = CURVE_COLOURS[name]
        draw.line([(x, key_h // 2), (x + 14, key_h // 2)], fill=colour, width=3)
        draw.text((x + 18, key_h // 2), name, fill=colour, font=font, anchor="lm")
        x += 18 + draw.textlength(name, font=font) + 14
    x_of = lambda e: left + (right - left) * e / max(epochs, 1)  # noqa: E731
    for names, top, bottom in panels:
        values = [v for n in names for v in rows[n]]
        draw.rectangle([left, top, right, bottom], outline=(200, 200, 200))
        if not values:
            continue
        lo, hi = min(values), max(values)
        pad = max(hi - lo, 1e-6) * 0.1
        lo, hi = lo - pad, hi + pad
        scale = (bottom - top) / (hi - lo)
        for name in names:
            colour = CURVE_COLOURS[name]
            points = [(x_of(e), bottom - scale * (v - lo)) for e, v in zip(rows["epoch"], rows[name])]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for px, py in points:
                draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
        draw.text((left - 4, top), f"{hi:.4g}", fill=GREY, font=font, anchor="ra")
        draw.text((left - 4, bottom), f"{lo:.4g}", fill=GREY, font=font, anchor="rd")
    draw.text((left, height - 2), "0", fill=GREY, font=font, anchor="ld")
    draw.text((right, height - 2), f"epoch {epochs}", fill=GREY, font=font, anchor="rd")
    return np.asarray(image)


def embedding_image(mu: np.ndarray, labels: np.ndarray, size: int = 240, dot: int = 2) -> np.ndarray:
    """A scatter of mu (N, 2) coloured by digit, drawn into RGB pixels (size, size, 3) uint8. The
    square view covers the 0.5-99.5th percentiles of both axes, with a margin."""
    mu = np.asarray(mu, np.float64)
    lo, hi = np.percentile(mu, [0.5, 99.5], axis=0)  # (2,) each
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.1, 1e-6)
    pixels = ((mu - centre) / half * 0.5 + 0.5) * (size - dot)  # (N, 2) in [0, size - dot]
    col = np.clip(pixels[:, 0], 0, size - dot).astype(int)
    row = np.clip((size - dot) - pixels[:, 1], 0, size - dot).astype(int)  # y up
    image = np.full((size, size, 3), 255, np.uint8)
    palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in PALETTE], np.uint8)
    for dy in range(dot):
        for dx in range(dot):
            image[row + dy, col + dx] = palette[np.asarray(labels, int) % 10]
    image[[0, -1], :] = image[:, [0, -1]] = 200  # a light frame
    return image
