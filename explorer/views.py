"""What the page draws about models and training, as plain data: Plotly figures and table rows.

No Streamlit and no torch here: each function takes library entries or job snapshots and returns
a figure or rows, so the page stays a page and these are testable on their own.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .jobs import LAM_RANGE, JobStatus
from .library import LibraryEntry

# Slider stops: the shipped sweep (0, 0.1, 0.5, 1, 2, 5) reachable exactly, with steps between.
LAM_STOPS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0)
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf")  # the plane's digit colours
CURVE_COLOURS = {"recon": "#1f77b4", "KL": "#d62728", "total": "#222222"}
_MARGIN = dict(l=8, r=8, t=28, b=8)


def lam_choices(library_lams=(), extra=()) -> list[float]:
    """Slider stops plus every lambda the library (or the current model) has, in range, sorted."""
    low, high = LAM_RANGE
    values = {round(float(v), 10) for v in (*LAM_STOPS, *library_lams, *extra) if low <= float(v) <= high}
    return sorted(values)


def library_rows(entries: list[LibraryEntry], current: str | None = None) -> list[dict]:
    """One row per model for the library table."""
    rows = []
    for e in entries:
        m = e.metrics
        rows.append({
            "": "▶" if e.id == current else "",
            "λ": e.lam,
            "source": "shipped" if e.shipped else "trained here",
            "epochs": e.epochs_trained,
            "recon": m and round(m.recon, 2),
            "KL": m and round(m.kl, 2),
            "−ELBO": m and round(m.neg_elbo, 2),
            "IWAE log p(x)": m and round(m.log_px_iwae, 2),
            "active units": m and m.active_units,
            "reconstruction": e.config.reconstruction,
            "K": e.config.k,
            "seed": e.config.seed,
            "id": e.id,
        })
    return rows


def rate_distortion(entries: list[LibraryEntry], current: str | None = None) -> go.Figure:
    """KL (rate) against reconstruction cost (distortion) of every model with test metrics.

    Each marker's customdata is its library id (the page loads the one clicked); the current
    model is a separate, ringed trace drawn on top.
    """
    scored = [e for e in entries if e.metrics is not None and math.isfinite(e.metrics.kl)]
    fig = go.Figure()
    for shipped, symbol, name in ((True, "circle", "shipped"), (False, "diamond", "trained here")):
        group = [e for e in scored if e.shipped == shipped]
        if not group:
            continue
        fig.add_trace(go.Scatter(
            x=[e.metrics.kl for e in group], y=[e.metrics.recon for e in group], mode="markers+text",
            name=name, text=[f"λ={e.lam:g}" for e in group], textposition="top right",
            customdata=[e.id for e in group], marker=dict(size=11, symbol=symbol, color="#1f77b4"),
            hovertemplate="λ=%{text}<br>KL %{x:.2f} nats<br>recon %{y:.2f} nats<br>%{customdata}<extra></extra>"))
    here = [e for e in scored if e.id == current]
    if here:
        e = here[0]
        fig.add_trace(go.Scatter(
            x=[e.metrics.kl], y=[e.metrics.recon], mode="markers", name="exploring", customdata=[e.id],
            marker=dict(size=20, color="rgba(255,127,14,0.35)", line=dict(color="#ff7f0e", width=3)),
            hovertemplate=f"exploring λ={e.lam:g}<extra></extra>"))
    fig.update_layout(
        height=380, margin=dict(l=8, r=8, t=8, b=8), clickmode="event+select", dragmode=False,
        xaxis_title="rate: KL(q(z|x) ‖ p(z)), nats", yaxis_title="distortion: recon, nats",
        legend=dict(orientation="h", y=1.02, yanchor="bottom"))
    return fig


def loss_rows(status: JobStatus) -> dict[str, list[float]]:
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


def loss_image(rows: dict[str, list[float]], epochs: int, width: int = 320, height: int = 220) -> np.ndarray:
    """The loss curves of `loss_rows` drawn into RGB pixels (height, width, 3) uint8: recon and
    total above, KL below (its scale is a hundred times smaller), epochs 0..`epochs` across.

    Pixels for the same reason as `embedding_image`: a chart library redrawing every second
    holds up the clicks the page is meant to keep answering.
    """
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right, gap = 44, width - 8, 18
    panels = ((("recon", "total"), 6, height // 2 + 10), (("KL",), height // 2 + 10 + gap, height - 16))
    x_of = lambda e: left + (right - left) * e / max(epochs, 1)  # noqa: E731
    for names, top, bottom in panels:
        values = [v for n in names for v in rows[n]]
        draw.rectangle([left, top, right, bottom], outline=(200, 200, 200))
        if not values:
            continue
        lo, hi = min(values), max(values)
        pad = max(hi - lo, 1e-6) * 0.1
        lo, hi = lo - pad, hi + pad
        y_of = lambda v: bottom - (bottom - top) * (v - lo) / (hi - lo)  # noqa: E731
        for name in names:
            colour = CURVE_COLOURS[name]
            points = [(x_of(e), y_of(v)) for e, v in zip(rows["epoch"], rows[name])]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        draw.text((2, top), f"{hi:.4g}", fill=(90, 90, 90))
        draw.text((2, bottom - 10), f"{lo:.4g}", fill=(90, 90, 90))
        label_x = left + 4
        for name in names:
            draw.text((label_x, top + 2), name, fill=CURVE_COLOURS[name])
            label_x += 8 * len(name) + 6
    draw.text((left, height - 12), "0", fill=(90, 90, 90))
    draw.text((right - 30, height - 12), f"epoch {epochs}", fill=(90, 90, 90))
    return np.asarray(image)


def embedding_image(mu: np.ndarray, labels: np.ndarray, size: int = 240, dot: int = 2) -> np.ndarray:
    """A scatter of mu (N, 2) coloured by digit, drawn straight into RGB pixels (size, size, 3) uint8.

    The live embedding changes every half second; pixels cost the page a few milliseconds where
    a Plotly scatter costs a hundred on each side, time a click on the plane would wait for.
    The square view covers the 0.5-99.5th percentiles of both axes, with a margin.
    """
    mu = np.asarray(mu, np.float64)
    lo, hi = np.percentile(mu, [0.5, 99.5], axis=0)  # (2,) each
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.1, 1e-6)
    pixels = ((mu - centre) / half * 0.5 + 0.5) * (size - dot)  # (N, 2) in [0, size - dot]
    col = np.clip(pixels[:, 0], 0, size - dot).astype(int)
    row = np.clip((size - dot) - pixels[:, 1], 0, size - dot).astype(int)  # y up
    image = np.full((size, size, 3), 255, np.uint8)
    palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in TAB10], np.uint8)
    for dy in range(dot):
        for dx in range(dot):
            image[row + dy, col + dx] = palette[np.asarray(labels, int) % 10]
    image[[0, -1], :] = image[:, [0, -1]] = 200  # a light frame
    return image
