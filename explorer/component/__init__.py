"""The latent plane as a Streamlit component: a thin wrapper around plane.js and plane.css.

Data in (small JSON, sent as bytes on each rerun): the URLs and sizes of the published binary files
(`explorer.assets.PlaneAssets`) and the grid setting. Out: the one-shot triggers `click` and
`drag` and the persistent state `view`, validated here into `PlaneEvents` so that whatever a
browser sends, the app gets either well-formed values or None.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ..assets import PlaneAssets

_HERE = Path(__file__).parent
STRIP_FRAMES = 10  # interpolation frames drawn live during a drag

_plane = st.components.v2.component(
    "vae_latent_explorer.latent_plane",
    js=(_HERE / "plane.js").read_text(encoding="utf-8"),
    css=(_HERE / "plane.css").read_text(encoding="utf-8"),
)


@dataclass(frozen=True)
class Click:
    z: tuple[float, float]
    index: int | None  # test image the click landed on, if it landed on one


@dataclass(frozen=True)
class Drag:
    start: tuple[float, float]
    end: tuple[float, float]
    start_index: int | None  # test images under the press and the release, if any
    end_index: int | None


@dataclass(frozen=True)
class View:
    x: tuple[float, float]  # visible latent range, (low, high)
    y: tuple[float, float]


@dataclass(frozen=True)
class PlaneEvents:
    click: Click | None  # this rerun's click, if it was caused by one
    drag: Drag | None  # this rerun's finished drag, if any
    view: View | None  # the latest visible range the browser reported


def latent_plane(assets: PlaneAssets, *, grid_show: bool = False, grid_n: int = 15,
                 strip_frames: int = STRIP_FRAMES, key: str = "latent_plane") -> PlaneEvents:
    """Draw the plane and return what the user did with it since the last rerun."""
    data = {**assets.to_data(), "grid_show": bool(grid_show), "grid_n": int(grid_n),
            "strip_frames": int(strip_frames)}
    # As JSON bytes, not a dict: Streamlit scans a dict for dataframes, which imports pandas on the
    # first run (0.5-0.8 s before the plane can paint).
    result = _plane(key=key, data=json.dumps(data).encode(), on_click_change=_ignore, on_drag_change=_ignore,
                    on_view_change=_ignore)
    n = assets.n_points
    return PlaneEvents(click=_click(result.get("click"), n), drag=_drag(result.get("drag"), n),
                       view=_view(result.get("view")))


def _ignore() -> None:
    """Events are read from the return value; a callback only declares that the event exists."""


def _pair(value) -> tuple[float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return float(value[0]), float(value[1])


def _index(value, n: int) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n else None


def _click(payload, n: int) -> Click | None:
    if not isinstance(payload, dict) or (z := _pair(payload.get("z"))) is None:
        return None
    return Click(z, _index(payload.get("index"), n))


def _drag(payload, n: int) -> Drag | None:
    if not isinstance(payload, dict):
        return None
    start, end = _pair(payload.get("start")), _pair(payload.get("end"))
    if start is None or end is None:
        return None
    return Drag(start, end, _index(payload.get("start_index"), n), _index(payload.get("end_index"), n))


def _view(payload) -> View | None:
    if not isinstance(payload, dict):
        return None
    x, y = _pair(payload.get("x")), _pair(payload.get("y"))
    if x is None or y is None or not (x[0] < x[1] and y[0] < y[1]):
        return None
    return View(x, y)
