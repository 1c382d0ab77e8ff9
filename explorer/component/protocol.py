"""The protocol between Python and the in-browser plane, Python's half; protocol.js is the other.

No Streamlit here (`widget.py` is the Streamlit component), so the page's rules and the tests use
these types on their own. tests/test_protocol.py holds the two halves together: the keys
`plane_data` sends are the names protocol.js declares, and so are the events' fields.

In (Python -> browser), on every rerun: `plane_data`, JSON sent as UTF-8 bytes (PlaneData in
protocol.js): the model's files (`explorer.assets.PlaneAssets.to_data`), the page's
`PlaneSettings`, the protocol's constants, and the page's latest `Command`.

Static files, served at app/static/cache/ and named by the hash of their content (so a browser
never holds a stale one); all little-endian and headerless, their sizes in the data.
explorer/formats.py writes them, protocol.js and its importers read them:
    decoder       per Linear layer in order: weight float32 (out, in) row-major, then bias float32 (out,);
                  a dial's FiLM network (explorer.model.FiLM) follows, its Linear layers the same way
    encoder       the same for the encoder's Linear layers, then to_stats (mu and logvar side by side),
                  then a dial's FiLM network
    dial          a dial's test codes on its grid of G lambdas, delta-coded (explorer.dial.DeltaCoded):
                  float32 mu first (N, 2) | mu scales (G-1, 2) | logvar first (N, 2) | logvar scales (G-1, 2) |
                  int8 mu steps (G-1, N, 2) | int8 logvar steps (G-1, N, 2); row g is row g-1 + scale * step
    judge         the digit classifier (explorer.classifier.DigitCNN): conv1 weight (C1, 1, 3, 3), bias (C1,) |
                  conv2 weight (C2, C1, 3, 3), bias (C2,) | fc1 weight (hidden, C2 * H/4 * W/4), bias | fc2
                  weight (classes, hidden), bias; float32, each weight row-major
    points        test mu float32 (N, 2) | test logvar float32 (N, 2) | test labels uint8 (N,)
    train         train mu float32 (M, 2) | train labels uint8 (M,)
    test images   uint8 (N, H, W)   } read a few images at a time with HTTP Range requests
    train images  uint8 (M, H, W)   }

Out (browser -> Python), validated here into well-formed values or None, never an exception:
    trigger DRAG  the finished drag (Python makes the downloads from it)
    trigger PICK  a lambda picked on the plane's slider (Python explores its model, or offers to train
                  one), or the dial asked for or left
    state   VIEW  the visible latent range and a dial's lambda, debounced (Python makes the downloads from them)
Clicks are answered in the browser and are not sent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from explorer.assets import JudgeAssets, PlaneAssets

STRIP_FRAMES = 10  # interpolation frames in the strip, both ends included; the page's downloads match
GRID_SPACINGS = ("even", "quantile")  # tiles over the view, or at the prior's quantiles (explorer.latent)
# One colour per digit; the browser gets the palette in the data. matplotlib's tab10 (Tableau 10)
# is the usual one, but under protanopia or deuteranopia some of its pairs look alike
# (tests/test_palette.py simulates both, after Machado et al. 2009). The colour-blind-safe one is
# Okabe & Ito's (2008) seven colours with three darker ones added, each chosen to stand furthest
# from the rest in every simulated vision (CAM02-UCS distance).
PALETTES = {
    "tab10": ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"),
    "cvd": ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2",
            "#d55e00", "#cc79a7", "#762714", "#624e62", "#3b3b89"),
}
PALETTE = PALETTES["tab10"]  # the default
TRIGGER_DRAG = "drag"  # protocol.js TRIGGER_DRAG
TRIGGER_PICK = "pick"  # protocol.js TRIGGER_PICK
STATE_VIEW = "view"  # protocol.js STATE_VIEW
LAM_MAX = 1e4  # the largest lambda a pick may carry (explorer.config's range)
FLOAT32_MAX = 3.4028234663852886e38  # values past it would be inf once decoded in float32


@dataclass(frozen=True)
class Layers:
    """What the plane draws under and around the points (the hovered and selected digits'
    posterior ellipses are always drawn)."""

    ellipses: bool = False  # 1 and 2 sigma of q(z|x) for every visible test digit
    prior: bool = False  # N(0, I) contours at 1, 2, 3 sigma
    holes: bool = False  # aggregate posterior q(z) against p(z): shaded where q < 1% of p
    decodability: bool = False  # the digit a classifier recognises in the decode, cell by cell (needs a judge)

    def to_data(self) -> dict:
        """As sent to the browser; a field that is not a bool is off."""
        return {name: getattr(self, name) is True for name in ("ellipses", "prior", "holes", "decodability")}


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
class PlaneSettings:
    """How the page asks the plane to draw: everything in PlaneData besides the model's files and
    the command. A grid spacing or layers that are not valid are sent as the defaults."""

    grid_show: bool = False  # decodings tiled behind the points
    grid_n: int = 15  # grid_n x grid_n tiles
    grid_spacing: str = "even"  # one of GRID_SPACINGS
    neighbours_k: int = 8  # nearest training images shown for a selected point
    layers: Layers = field(default_factory=Layers)
    samples: Samples | None = None  # None: no samples from the prior
    link: str | None = None  # planes with the same link share the pointer (the compare view)
    lock_axes: bool = False  # ... and their view
    keep_axes: bool = False  # a new model keeps the view instead of fitting it to the new points
    compact: bool = False  # the panel under the plot, so that two planes fit side by side
    present: bool = False  # presentation mode: what a lecture hall reads from afar, larger
    palette: str = "tab10"  # one of PALETTES; another name is drawn as the default
    judge: JudgeAssets | None = None  # the digit classifier decodes are judged by; None: none is shipped

    def __post_init__(self):
        if self.samples is not None and not isinstance(self.samples, Samples):
            raise TypeError(f"samples must be a Samples or None, not {type(self.samples).__name__}")

    def to_data(self) -> dict:
        spacing = self.grid_spacing if isinstance(self.grid_spacing, str) and self.grid_spacing in GRID_SPACINGS \
            else "even"
        layers = self.layers if isinstance(self.layers, Layers) else Layers()
        return {"grid_show": bool(self.grid_show), "grid_n": int(self.grid_n), "grid_spacing": spacing,
                "layers": layers.to_data(), "neighbours_k": int(self.neighbours_k),
                "samples": None if self.samples is None else self.samples.to_data(), "link": self.link,
                "lock_axes": bool(self.lock_axes), "keep_axes": bool(self.keep_axes), "compact": bool(self.compact),
                "present": bool(self.present), "palette": list(PALETTES.get(self.palette, PALETTE)),
                "judge": None if self.judge is None else self.judge.to_data()}


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
class Figures:
    """A model's test figures, nats per test image (explorer.evaluate.Metrics)."""

    recon: float
    kl: float
    neg_elbo: float

    def to_data(self) -> dict:
        return {"recon": float(self.recon), "kl": float(self.kl), "neg_elbo": float(self.neg_elbo)}


@dataclass(frozen=True)
class ModelChoice:
    """The lambda slider on the plane: its stops, the library's models along it, the model shown
    and where the slider sits (the model's lambda, or one the user picked that has no model yet)."""

    lam: float  # where the slider sits
    stops: tuple[float, ...]  # the lambdas it offers, ascending; every model's among them
    # (id, lambda, origin, urls) of every model in the library; urls: its decoder's and points' files
    # if they are published, for the browser to fetch ahead of a pick
    models: tuple[tuple[str, float, str, tuple[str, ...]], ...]
    model_id: str | None  # the model the plane's files are of (None: a file outside the library)
    title: str  # where it comes from ("shipped", "trained here, 5 epochs"), beside the slider's lambda
    figures: Figures | None  # its test figures, if recorded
    # (id, origin, urls) of the library's lambda dial, if it has one: one network for a range of
    # lambdas, which the slider then turns in the browser; it is shown when model_id is its id
    dial: tuple[str, str, tuple[str, ...]] | None = None

    def to_data(self) -> dict:
        return {"lam": float(self.lam), "stops": [float(v) for v in self.stops],
                "models": [{"id": i, "lam": float(lam), "title": t, "urls": list(urls)}
                           for i, lam, t, urls in self.models],
                "model_id": self.model_id, "title": self.title,
                "figures": None if self.figures is None else self.figures.to_data(),
                "dial": None if self.dial is None else {"id": self.dial[0], "title": self.dial[1],
                                                        "urls": list(self.dial[2])}}


def plane_data(plane: PlaneAssets, settings: PlaneSettings, command: Command | None = None,
               choice: ModelChoice | None = None) -> dict:
    """Everything the plane reads on a rerun (PlaneData in protocol.js); `choice` None: the slider
    waits (a new visitor's first run draws the plane before the library is read)."""
    return {**plane.to_data(), **settings.to_data(), "strip_frames": STRIP_FRAMES,
            "command": None if command is None else command.to_data(),
            "choice": None if choice is None else choice.to_data()}


# ---- events from the browser

@dataclass(frozen=True)
class Drag:
    """A finished drag (DragEvent in protocol.js)."""

    start: tuple[float, float]
    end: tuple[float, float]
    start_index: int | None  # test digits under the press and the release, if any
    end_index: int | None


@dataclass(frozen=True)
class View:
    """The visible latent range (ViewState in protocol.js)."""

    x: tuple[float, float]  # (low, high)
    y: tuple[float, float]
    lam: float | None = None  # a dial's: the lambda it is turned to; None for a model of one lambda


@dataclass(frozen=True)
class PlaneEvents:
    drag: Drag | None  # this rerun's finished drag, if it was caused by one
    pick: Pick | None  # the latest lambda picked on the slider, if a rerun was caused by one
    view: View | None  # the latest visible range the browser reported


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
    """A DRAG trigger as sent by the browser (n test digits), or None if any part is not well formed."""
    if not isinstance(payload, dict):
        return None
    start, end = _pair(payload.get("start")), _pair(payload.get("end"))
    start_index, end_index = payload.get("start_index"), payload.get("end_index")
    if start is None or end is None or not (_index_ok(start_index, n) and _index_ok(end_index, n)):
        return None
    return Drag(start, end, start_index, end_index)


@dataclass(frozen=True)
class Pick:
    """A lambda picked on a plane's slider (PickEvent in protocol.js). A run that Python cuts short
    (st.rerun) leaves its trigger to the next run too: `seq`, when it was picked, tells picks apart."""

    lam: float
    seq: int  # ms since the epoch
    dial: bool = False  # the dial was asked for (turned to `lam`), not the model of `lam`


def read_pick(payload) -> Pick | None:
    """A PICK trigger as sent by the browser, or None if it is not a lambda in range with its count."""
    if not isinstance(payload, dict):
        return None
    lam, seq, dial = _number(payload.get("lam")), payload.get("seq"), payload.get("dial", False)
    if lam is None or not 0 <= lam <= LAM_MAX or not (type(seq) is int and 0 < seq < 2**53) or type(dial) is not bool:
        return None
    return Pick(lam, seq, dial)


def read_view(payload) -> View | None:
    """A VIEW state as sent by the browser, or None if it is not a well-formed, non-empty range."""
    if not isinstance(payload, dict):
        return None
    x, y = _pair(payload.get("x")), _pair(payload.get("y"))
    if x is None or y is None or not (x[0] < x[1] and y[0] < y[1]):
        return None
    lam = payload.get("lam")
    if lam is not None:
        lam = _number(lam)
        if lam is None or not 0 < lam <= LAM_MAX:
            return None
    return View(x, y, lam)
