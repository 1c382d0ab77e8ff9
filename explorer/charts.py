"""The model library as the page draws it: the rate-distortion chart (Plotly), the table's rows and
the lambda slider's stops.

No Streamlit here: each function takes library entries and returns a figure, rows or stops, so
the page stays a page and these are testable on their own.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from .plans import LAM_RANGE

if TYPE_CHECKING:
    from .library import LibraryEntry

# Slider stops, evenly spaced on the slider, so it is a log scale above 0: the shipped models
# (0, 0.1, 0.5, 1, 2, 5, 100) reachable exactly, with steps between.
LAM_STOPS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 50.0, 100.0)


def lam_choices(library_lams=(), extra=()) -> list[float]:
    """Slider stops plus every lambda the library (or the current model) has, in range, sorted."""
    low, high = LAM_RANGE
    values = {round(float(v), 10) for v in (*LAM_STOPS, *library_lams, *extra) if low <= float(v) <= high}
    return sorted(values)


def library_rows(entries: list[LibraryEntry], current: str | None = None, story: dict | None = None) -> list[dict]:
    """One row per model for the library table; `story` maps ids to their measures (explorer.story's
    StoryFigures), shown where given."""
    rows = []
    for e in entries:
        m, s = e.metrics, (story or {}).get(e.id)
        rows.append({
            "": "▶" if e.id == current else "",
            "id": e.id,  # first, where a narrow table still shows it
            "λ": e.lam,
            "source": "shipped" if e.shipped else "trained here",
            "epochs": e.epochs_trained,
            "recon": m and round(m.recon, 2),
            "KL": m and round(m.kl, 2),
            "−ELBO": m and round(m.neg_elbo, 2),
            "IWAE log p(x)": m and round(m.log_px_iwae, 2),
            "active units": m and m.active_units,
            "prior in holes": s and round(s.prior_hole_mass.value, 3),
            "prior samples recognised": s and round(s.prior_recognised.value, 3),
            "digits covered": s and s.digits_covered,
            "path recognised": s and round(s.path_recognised, 3),
            "reconstruction": e.config.reconstruction,
            "K": e.config.k,
            "seed": e.config.seed,
        })
    return rows


RD_HEIGHT = 440  # px: fixed, so that label placement (in px) matches what is drawn
RD_MIN_WIDTH = 560  # px the labels are placed for: wider charts only spread them further apart
RD_MARGIN = dict(l=56, r=16, t=8, b=44)
RD_GAP = 0.07  # share of the height between the two panels of a broken distortion axis
RATE_FLOOR = 0.01  # nats: a KL below this (a collapsed model's, ~0) is drawn at ZERO, not at its value
ZERO = 10 ** -2.6  # where on the log rate axis: a tick of its own, "≈ 0", set apart from 0.01 by a break
_LABEL = (7.0, 15.0)  # px per character and line height of a label, 12 px font
_ELBO_LABEL = (6.0, 13.0)  # the same for the lines' labels, 10 px font


def rate_distortion(entries: list[LibraryEntry], current: str | None = None,
                    dial: dict[str, np.ndarray] | None = None, story: dict | None = None) -> go.Figure:
    """KL (rate, log axis) against reconstruction cost (distortion) of every model with test metrics,
    and a lambda dial's test curve (`formats.read_dial_curve`) as one continuous line through them.

    A log rate axis keeps lambda = 0 (about 100 nats) and a collapsed model (about 0) on one chart
    without squeezing the sweep between them; where the distortions fall in two groups far apart
    (a collapsed model's recon is some 80 nats above the rest), the distortion axis is broken into
    two panels so neither group is squeezed either. Dotted curves are lines of equal negative ELBO,
    recon + KL = c (Kingma & Welling 2014): models on one curve have the same bound. Labels are
    placed by `_place_labels` so that none overlaps another or a marker. Each marker's customdata
    is its library id (the page explores the one clicked); the current model is a separate, ringed
    trace drawn on top. The dial's curve carries no customdata: a click on it explores nothing. A
    model's hover adds its story's measures where `story` (ids to explorer.story's StoryFigures) has them.
    """
    from plotly.subplots import make_subplots
    scored = [e for e in entries if e.metrics is not None and math.isfinite(e.metrics.kl)
              and math.isfinite(e.metrics.recon)]
    rate = {e.id: e.metrics.kl if e.metrics.kl >= RATE_FLOOR else ZERO for e in scored}
    panels = _distortion_panels(sorted(e.metrics.recon for e in scored))  # top panel first
    shares = [(hi - lo) for lo, hi in panels]
    heights = [max(0.25, h / sum(shares)) for h in shares] if len(panels) > 1 else [1.0]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=RD_GAP,
                        row_heights=[h / sum(heights) for h in heights])
    x_range = (math.log10(ZERO) - 0.15, math.log10(max(rate.values(), default=100.0)) + 0.25)
    fig.update_layout(height=RD_HEIGHT, margin=RD_MARGIN, clickmode="event+select", dragmode=False,
                      legend=dict(orientation="h", y=1.02, yanchor="bottom"), hovermode="closest")
    decades = range(round(math.log10(RATE_FLOOR)), math.floor(x_range[1]) + 1)
    fig.update_xaxes(type="log", range=x_range, tickvals=[ZERO, *(10.0**k for k in decades)],
                     ticktext=["≈ 0", *(f"{10.0**k:g}" for k in decades)])
    fig.add_annotation(x=(math.log10(ZERO) + math.log10(RATE_FLOOR)) / 2, y=0, xref="x", yref="paper", text="//",
                       showarrow=False, yanchor="middle", font=dict(size=12, color="#666"), name="axis-break")
    fig.update_xaxes(title="rate: KL(q(z|x) ‖ p(z)), nats (log scale)", row=len(panels), col=1)
    plot_h = RD_HEIGHT - RD_MARGIN["t"] - RD_MARGIN["b"]
    for row, ((lo, hi), share) in enumerate(zip(panels, _domains(fig, len(panels))), 1):
        fig.update_yaxes(range=(lo, hi), row=row, col=1,
                         title="distortion: recon, nats" if row == len(panels) else None)
        elbo_labels = _equal_elbo_lines(fig, x_range, (lo, hi), max(e.metrics.neg_elbo for e in scored), row)
        here = [e for e in scored if lo <= e.metrics.recon <= hi]
        if dial is not None:
            kl = np.maximum(dial["kl"], ZERO)  # below the floor, drawn at "≈ 0" as a model would be
            fig.add_trace(go.Scatter(
                x=kl, y=dial["recon"], mode="lines", name="dial: one network for every λ", legendgroup="dial",
                showlegend=row == 1, line=dict(color="#ff7f0e", width=2),
                hovertext=[f"dial at λ = {lam:.3g}<br>KL {k:.2f} nats · recon {r:.2f} nats"
                           for lam, k, r in zip(dial["lams"], dial["kl"], dial["recon"])],
                hovertemplate="%{hovertext}<extra></extra>"), row=row, col=1)
        for shipped, symbol, name in ((True, "circle", "shipped"), (False, "diamond", "trained here")):
            group = [e for e in here if e.shipped == shipped]
            if group:
                fig.add_trace(go.Scatter(
                    x=[rate[e.id] for e in group], y=[e.metrics.recon for e in group], mode="markers", name=name,
                    legendgroup=name, showlegend=not any(t.name == name for t in fig.data),
                    customdata=[e.id for e in group], hovertext=[_hover(e, story) for e in group],
                    hovertemplate="%{hovertext}<extra></extra>",
                    marker=dict(size=10, symbol=symbol, color="#1f77b4")), row=row, col=1)
        for e in here:
            if e.id == current:
                fig.add_trace(go.Scatter(
                    x=[rate[e.id]], y=[e.metrics.recon], mode="markers", name="exploring", customdata=[e.id],
                    hovertext=[_hover(e, story)], hovertemplate="exploring %{hovertext}<extra></extra>",
                    marker=dict(size=20, color="rgba(255,127,14,0.35)", line=dict(color="#ff7f0e", width=3))),
                    row=row, col=1)
        points = [(math.log10(rate[e.id]), e.metrics.recon, f"λ={e.lam:g}") for e in here]
        offsets = _place_labels(points, x_range, (lo, hi), share * plot_h, elbo_labels)[0]
        for (x, y, text), (ax, ay) in zip(points, offsets):
            fig.add_annotation(x=x, y=y, text=text, ax=ax, ay=ay, showarrow=True, arrowhead=0, arrowwidth=1,
                               arrowcolor="#888", standoff=6, font=dict(size=12), name="lam-label", row=row, col=1)
    return fig


def _domains(fig: go.Figure, rows: int) -> list[float]:
    """Each panel's share of the plot's height, top panel first."""
    axes = [fig.layout[f"yaxis{'' if r == 1 else r}"] for r in range(1, rows + 1)]
    return [a.domain[1] - a.domain[0] for a in axes]


def _distortion_panels(recon: list[float]) -> list[tuple[float, float]]:
    """The distortion axis's panels, top first: one, or two where the largest gap between sorted
    values is over 30 nats and over half their span. Each has room above its points for labels."""
    if not recon:
        return [(0.0, 1.0)]
    groups = [recon]
    if len(recon) > 1:
        gaps = np.diff(recon)
        k = int(np.argmax(gaps))
        if gaps[k] > 30 and gaps[k] > 0.5 * (recon[-1] - recon[0]):
            groups = [recon[k + 1:], recon[: k + 1]]
    panels = []
    for g in groups:
        pad = max(g[-1] - g[0], 6.0) * 0.15
        panels.append((g[0] - pad, g[-1] + 3 * pad))
    return panels


def _hover(e: LibraryEntry, story: dict | None = None) -> str:
    m, s = e.metrics, (story or {}).get(e.id)
    kl = f"{m.kl:.2f}" if m.kl >= RATE_FLOOR else f"{m.kl:.2g} (drawn at ≈ 0)"
    text = (f"λ = {e.lam:g} · {e.id}<br>KL {kl} nats · recon {m.recon:.2f} nats<br>"
            f"−ELBO {m.neg_elbo:.2f} nats · {m.active_units} active units")
    if s is not None:
        text += (f"<br>prior's mass in holes {s.prior_hole_mass.value:.1%}<br>prior samples recognised as digits "
                 f"{s.prior_recognised.value:.0%} ({s.digits_covered} of 10 digits)")
    return text


def _equal_elbo_lines(fig: go.Figure, x_range, y_range, top_elbo: float, row: int) -> list:
    """Dotted curves recon + KL = c through one panel: round values of c across its height, then
    coarser ones up to the largest negative ELBO (steep: they cross the panel where KL is large).
    Each is labelled: a flat one at its left end, a steep one along itself where it enters the
    panel at the top. Returns the labels, (x, y, text, vertical), for `_place_labels` to avoid."""
    span = y_range[1] - y_range[0]
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200) if span / s <= 3.5)
    steep = max(25, 5 * step)
    values = list(np.arange(step * math.ceil(y_range[0] / step), y_range[1], step))
    values += list(np.arange(steep * math.floor(y_range[1] / steep) + steep, top_elbo + steep, steep))
    xs = np.logspace(x_range[0], x_range[1], 300)
    labels = []
    for c in values:
        ys = c - xs
        shown = (ys >= y_range[0]) & (ys <= y_range[1])
        if not shown.any():
            continue
        fig.add_trace(go.Scatter(x=xs[shown], y=ys[shown], mode="lines", showlegend=False, name=f"−ELBO = {c:g}",
                                 hovertemplate=f"recon + KL = {c:g} nats<extra></extra>",
                                 line=dict(color="#bbb", width=1, dash="dot")), row=row, col=1)
        text = f"−ELBO {c:g}"
        if c <= y_range[1]:  # flat across the panel: labelled at its left end
            labels.append((x_range[0], float(c), text, False))
            fig.add_annotation(x=x_range[0], y=c, text=text, showarrow=False, xanchor="left",
                               yanchor="bottom", font=dict(size=10, color="#999"), name="elbo-label", row=row, col=1)
        else:  # enters through the top at KL = c - top: labelled down its left side
            x = math.log10(c - y_range[1])
            labels.append((x, y_range[1], text, True))
            fig.add_annotation(x=x, y=y_range[1], text=text, showarrow=False, textangle=-90, xanchor="right",
                               yanchor="top", font=dict(size=10, color="#999"), name="elbo-label", row=row, col=1)
    return labels


def _place_labels(points, x_range, y_range, plot_h: float, reserved=(),
                  width: int = RD_MIN_WIDTH) -> tuple[list[tuple[float, float]], list[tuple]]:
    """Arrow offsets (ax, ay) in px for labels at points (x in log10 units, y, text) in a panel
    plot_h px tall: each label takes the nearest free slot above, below or beside its point,
    stepping further out until its box overlaps no other label, no marker and none of the
    `reserved` labels (x, y, text, vertical: the lines' labels of `_equal_elbo_lines`), and its
    leader line crosses none of them. Placed for the narrowest chart the page draws, so a wider
    one only spreads them further apart. Also returns every box, px, for tests."""
    plot_w = width - RD_MARGIN["l"] - RD_MARGIN["r"]
    to_px = lambda x, y: ((x - x_range[0]) / (x_range[1] - x_range[0]) * plot_w,  # noqa: E731
                          (y_range[1] - y) / (y_range[1] - y_range[0]) * plot_h)
    char_w, line_h = _LABEL
    marker = 7.0
    markers = [(px - marker, py - marker, px + marker, py + marker) for px, py in (to_px(x, y) for x, y, _ in points)]
    labels = [_reserved_box(*to_px(x, y), text, vertical) for x, y, text, vertical in reserved]
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    offsets: list[tuple[float, float]] = [(0.0, -24.0)] * len(points)
    slots = [(dx, dy) for r in range(1, 12) for dx, dy in ((0, -r), (r, -r), (-r, -r), (0, r), (r, 0), (-r, 0))]
    for i in order:
        x, y, text = points[i]
        px, py = to_px(x, y)
        w = char_w * len(text) + 4
        others = markers[:i] + markers[i + 1:] + labels
        for dx, dy in slots:
            ax, ay = dx * (w / 2 + 10), dy * (line_h + 4) + (-4 if dy < 0 else 4 if dy > 0 else 0)
            cx, cy = px + ax, py + ay
            box = (cx - w / 2, cy - line_h / 2, cx + w / 2, cy + line_h / 2)
            inside = box[0] >= 0 and box[2] <= plot_w and box[1] >= 0 and box[3] <= plot_h
            if inside and not any(_overlap(box, t) for t in markers + labels) and \
                    not any(_crosses((px, py), (cx, cy), t, box) for t in others):
                labels.append(box)
                offsets[i] = (ax, ay)
                break
    return offsets, labels


def _reserved_box(px: float, py: float, text: str, vertical: bool) -> tuple[float, float, float, float]:
    """The px box of a line's label anchored at (px, py): left-bottom, or rotated to read upwards
    and hanging down from the top edge, left of the point."""
    char_w, line_h = _ELBO_LABEL
    if vertical:
        return (px - line_h, py, px, py + char_w * len(text))
    return (px, py - line_h, px + char_w * len(text), py)


def _crosses(point, centre, box, own) -> bool:
    """Whether the leader line from `point` to a label centred at `centre` passes through `box`,
    counting only its part outside the label's own box `own` (sampled every 2 px)."""
    n = max(2, int(math.dist(point, centre) / 2))
    for k in range(n + 1):
        x, y = point[0] + (centre[0] - point[0]) * k / n, point[1] + (centre[1] - point[1]) * k / n
        if _overlap((x, y, x, y), own):
            return False  # the rest of the segment lies in the label's own box
        if box[0] < x < box[2] and box[1] < y < box[3]:
            return True
    return False


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
