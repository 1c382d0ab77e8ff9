"""The latent plane as a Streamlit component: the plot, the decode panel and the interpolation strip.

The browser side is ES modules in this folder (protocol.js holds the protocol: the data sent,
the static files' byte layouts, the events sent back). Data in: `explorer.assets.PlaneAssets`
plus the page's settings, as small JSON on each rerun. Clicks are answered in the browser; out
come only the trigger `drag` (for the page's downloads) and the state `view` (for the grid
download), validated here into `PlaneEvents`: whatever a browser sends, the app gets
well-formed values or None, never an exception.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ..assets import PlaneAssets

_HERE = Path(__file__).parent
STRIP_FRAMES = 10  # interpolation frames in the strip, both ends included; the page's downloads match
FLOAT32_MAX = 3.4028234663852886e38  # values past it would be inf once decoded in float32

# Streamlit's components v2 take one inline JS module (a package-based component would need the
# project installed with a pyproject manifest, which neither the app nor CI does). So the modules
# are joined in this fixed order, each after those it imports: their `import ... from "./x.js"`
# lines are dropped (every name is then in the one module's scope) and `export` is kept only on
# index.js's default. `join_modules` refuses an import of a module not joined before it.
MODULES = ("protocol.js", "dom.js", "slices.js", "decoder.js", "encoder.js", "density.js", "latent.js", "model.js", "geometry.js",
           "grid.js", "layers.js", "samples.js", "dots.js", "render.js", "strip.js", "panel.js", "tooltip.js", "toolbar.js",
           "pointer.js", "link.js", "command.js", "layout.js", "drawpad.js", "inputs.js", "plane.js", "hooks.js",
           "index.js")
_IMPORT = re.compile(r'^import \{[^}]*\} from "\./([\w.]+)";\n', re.M)
_EXPORT = re.compile(r"^export (?=(?:async )?(?:class|function|const|let) )", re.M)


def join_modules(folder: Path = _HERE, order: tuple[str, ...] = MODULES) -> str:
    """The modules as one ES module, in `order`; ValueError if one imports a module not before it."""
    parts = []
    for i, name in enumerate(order):
        text = (folder / name).read_text(encoding="utf-8")
        for imported in _IMPORT.findall(text):
            if imported not in order[:i]:
                raise ValueError(f"{name} imports {imported}, which is not joined before it")
        parts.append(f"// ---- {name}\n" + _EXPORT.sub("", _IMPORT.sub("", text)))
    return "\n".join(parts)


_plane = st.components.v2.component(
    "vae_latent_explorer.latent_plane",
    js=join_modules(),
    css=(_HERE / "plane.css").read_text(encoding="utf-8"),
)


@dataclass(frozen=True)
class Command:
    """Something the page asks of the plane as the user's own click or drag would do it. The plane
    applies each nonce once, however many reruns send it; a new request needs a new nonce."""

    nonce: int
    select_index: int | None = None  # select test digit i as a click on it would
    select_z: tuple[float, float] | None = None  # or select a free z
    drag: tuple[tuple[float, float], tuple[float, float]] | None = None  # the strip from start to end

    def to_data(self) -> dict:
        drag = None if self.drag is None else {"start": list(self.drag[0]), "end": list(self.drag[1])}
        return {"nonce": int(self.nonce), "select_index": self.select_index,
                "select_z": None if self.select_z is None else list(self.select_z), "drag": drag}


@dataclass(frozen=True)
class Drag:
    start: tuple[float, float]
    end: tuple[float, float]
    start_index: int | None  # test digits under the press and the release, if any
    end_index: int | None


@dataclass(frozen=True)
class View:
    x: tuple[float, float]  # visible latent range, (low, high)
    y: tuple[float, float]


GRID_SPACINGS = ("even", "quantile")  # explorer.latent.GRID_SPACINGS, kept here so the page need not import torch


@dataclass(frozen=True)
class Layers:
    """What the plane draws under and around the points (the hovered and selected digits'
    posterior ellipses are always drawn)."""

    ellipses: bool = False  # 1 and 2 sigma of q(z|x) for every visible test digit
    prior: bool = False  # N(0, I) contours at 1, 2, 3 sigma
    holes: bool = False  # aggregate posterior q(z) against p(z): shaded where q < 1% of p

    def to_data(self) -> dict:
        """As sent to the browser; a field that is not a bool is off."""
        return {name: getattr(self, name) is True for name in ("ellipses", "prior", "holes")}


@dataclass(frozen=True)
class Samples:
    """z ~ N(0, I) drawn in the browser from a seeded generator, marked on the plane and decoded."""

    n: int = 16  # how many
    seed: int = 0  # the same seed gives the same z's (and the same pixel draws)
    bernoulli: bool = False  # show one Bernoulli draw of every pixel instead of the decoder's mean image

    MAX_N = 64  # what the panel's gallery has room for

    def __post_init__(self):
        if not (isinstance(self.n, int) and not isinstance(self.n, bool) and 1 <= self.n <= self.MAX_N):
            raise ValueError(f"samples: n must be a whole number from 1 to {self.MAX_N}, not {self.n!r}")
        if not (isinstance(self.seed, int) and not isinstance(self.seed, bool) and 0 <= self.seed < 2**32):
            raise ValueError(f"samples: seed must be a whole number from 0 to 2**32 - 1, not {self.seed!r}")
        if not isinstance(self.bernoulli, bool):
            raise ValueError(f"samples: bernoulli must be True or False, not {self.bernoulli!r}")

    def to_data(self) -> dict:
        return {"n": self.n, "seed": self.seed, "bernoulli": self.bernoulli}


@dataclass(frozen=True)
class PlaneEvents:
    drag: Drag | None  # this rerun's finished drag, if it was caused by one
    view: View | None  # the latest visible range the browser reported


def latent_plane(plane: PlaneAssets, *, grid_show: bool = False, grid_n: int = 15, grid_spacing: str = "even",
                 neighbours_k: int = 8, layers: Layers = Layers(), samples: Samples | None = None,
                 command: Command | None = None, link: str | None = None, lock_axes: bool = False,
                 keep_axes: bool = False, compact: bool = False, key: str = "plane") -> PlaneEvents:
    """Draw the plane, its decode panel and strip; return what Python needs of what the user did.
    A grid spacing or layers that are not valid are drawn as the defaults; samples must be valid.

    Planes given the same `link` share the pointer (hovering one decodes the same z in all and
    marks it on the others) and, with `lock_axes`, the view. `keep_axes` keeps the view when the
    model changes instead of fitting it to the new points; `compact` lays the panel out under the
    plot, so two planes fit side by side."""
    if samples is not None and not isinstance(samples, Samples):
        raise TypeError(f"samples must be a Samples or None, not {type(samples).__name__}")
    data = {**plane.to_data(), "grid_show": bool(grid_show), "grid_n": int(grid_n),
            **layer_settings(grid_spacing, layers), "neighbours_k": int(neighbours_k), "strip_frames": STRIP_FRAMES,
            "samples": None if samples is None else samples.to_data(),
            "command": None if command is None else command.to_data(), "link": link,
            "lock_axes": bool(lock_axes), "keep_axes": bool(keep_axes), "compact": bool(compact)}
    # As JSON bytes, not a dict: Streamlit scans a dict for dataframes, which imports pandas on the
    # first run (0.5-0.8 s before the plane can paint).
    result = _plane(key=key, data=json.dumps(data).encode(), on_drag_change=_ignore, on_view_change=_ignore)
    return PlaneEvents(drag=read_drag(result.get("drag"), plane.n_points), view=read_view(result.get("view")))


def layer_settings(grid_spacing, layers) -> dict:
    """The data's `grid_spacing` and `layers`; a value that is not valid becomes the default."""
    spacing = grid_spacing if isinstance(grid_spacing, str) and grid_spacing in GRID_SPACINGS else "even"
    return {"grid_spacing": spacing, "layers": (layers if isinstance(layers, Layers) else Layers()).to_data()}


def _ignore() -> None:
    """Events are read from the return value; a callback only declares that the event exists."""


def _number(value) -> float | None:
    """A finite float32-range number as float; None for anything else (bools, strings, NaN, 1e308, 10**400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and abs(value) > FLOAT32_MAX:  # before float(): 10**400 would overflow
        return None
    value = float(value)
    return value if math.isfinite(value) and abs(value) <= FLOAT32_MAX else None


def _pair(value) -> tuple[float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    x, y = _number(value[0]), _number(value[1])
    return None if x is None or y is None else (x, y)


def _index_ok(value, n: int) -> bool:
    """None (no test digit) or the index of one of n."""
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n)


def read_drag(payload, n: int) -> Drag | None:
    """A `drag` trigger as sent by the browser (n test digits), or None if any part is not well formed."""
    if not isinstance(payload, dict):
        return None
    start, end = _pair(payload.get("start")), _pair(payload.get("end"))
    start_index, end_index = payload.get("start_index"), payload.get("end_index")
    if start is None or end is None or not (_index_ok(start_index, n) and _index_ok(end_index, n)):
        return None
    return Drag(start, end, start_index, end_index)


def read_view(payload) -> View | None:
    """A `view` state as sent by the browser, or None if it is not a well-formed, non-empty range."""
    if not isinstance(payload, dict):
        return None
    x, y = _pair(payload.get("x")), _pair(payload.get("y"))
    if x is None or y is None or not (x[0] < x[1] and y[0] < y[1]):
        return None
    return View(x, y)
