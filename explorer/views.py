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


def loss_curves(status: JobStatus) -> go.Figure:
    """Per-epoch training means (recon, KL, total) plus the running means of the current epoch."""
    epochs = [h.epoch for h in status.history]
    series = {"recon": [h.recon for h in status.history], "KL": [h.kl for h in status.history],
              "total": [h.loss for h in status.history]}
    now = status.fraction * status.epochs
    if status.recon is not None and status.state.value == "running" and (not epochs or now > epochs[-1] + 1e-6):
        epochs.append(now)  # the epoch in progress, so the curves move before the first epoch ends
        series["recon"].append(status.recon)
        series["KL"].append(status.kl)
        series["total"].append(status.loss)
    fig = go.Figure()
    for name, values in series.items():
        fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=name,
                                 line=dict(color=CURVE_COLOURS[name]), marker=dict(size=5),
                                 yaxis="y2" if name == "KL" else "y"))
    fig.update_layout(
        height=250, margin=_MARGIN, title=dict(text="training loss, nats per image", font=dict(size=12)),
        xaxis=dict(title="epoch", range=[0, max(status.epochs, 1)]),
        yaxis=dict(title="recon, total"), yaxis2=dict(title="KL", overlaying="y", side="right", showgrid=False),
        legend=dict(orientation="h", y=-0.35), uirevision="loss")
    return fig


def live_embedding(status: JobStatus) -> go.Figure | None:
    """mu of the fixed test images at the latest report, coloured by digit; None before the first."""
    if status.embedding is None:
        return None
    mu, labels = np.asarray(status.embedding), np.asarray(status.embedding_labels)
    fig = go.Figure()
    for digit in range(10):
        pick = labels == digit
        fig.add_trace(go.Scattergl(x=mu[pick, 0], y=mu[pick, 1], mode="markers", name=str(digit),
                                   marker=dict(size=3, color=TAB10[digit]), hoverinfo="skip"))
    fig.update_layout(height=250, margin=_MARGIN, showlegend=False,
                      title=dict(text=f"live embedding: μ of {len(mu)} test digits", font=dict(size=12)),
                      yaxis=dict(scaleanchor="x"))
    return fig
