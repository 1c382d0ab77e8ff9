"""Every key the page keeps in st.session_state, with its type and default: the `Session`.

No Streamlit here, so the rules in `decide` can be tested on plain values. `state` maps a
`Session` to and from st.session_state; the callbacks in `actions` are the only writers.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from explorer.component.protocol import Command, Drag


@dataclass(frozen=True)
class Explored:
    """A model a session can explore (duck-compatible with `library.LibraryEntry`)."""

    id: str | None  # its library id; None for a file outside the library
    path: str
    lam: float
    origin: str = ""  # where it comes from (`LibraryEntry.origin`); a file outside the library: its name
    dial: tuple[float, float] | None = None  # a dial's range of lambdas; None for a model of one lambda

    @classmethod
    def of(cls, entry: Any) -> Explored:
        """From anything with .id, .path, .lam and .origin (a library entry), and a dial's .config.lam_range."""
        config = getattr(entry, "config", None)
        dial = getattr(config, "lam_range", None)
        return cls(entry.id, str(entry.path), float(entry.lam), getattr(entry, "origin", ""),
                   None if dial is None else (float(dial[0]), float(dial[1])))

    @property
    def name(self) -> str:
        """How the page names the model: "λ = 0.3 · trained here, 5 epochs", "dial, λ 0.01–100 · shipped"."""
        kind = f"dial, λ {self.dial[0]:g}–{self.dial[1]:g}" if self.dial else f"λ = {self.lam:g}"
        return f"{kind} · {self.origin or self.path.rsplit('/', 1)[-1]}"


@dataclass(frozen=True)
class Notice:
    """One line for the user about what just happened."""

    kind: str  # "success" | "info" | "warning" | "error": the st.* call that shows it
    text: str


@dataclass(frozen=True)
class Session:
    """One browser session's page state. Field names are the st.session_state keys."""

    # The model explored and how the session got there.
    model: Explored | None = None  # None: the starting model ($EXPLORER_MODEL, else the shipped lambda 1)
    lam: float | None = None  # where the plane's lambda slider sits; set from the explored model once it is known
    notice: Notice | None = None  # the message under the slider
    job_id: str | None = None  # this session's training job, until it ends
    drag: Drag | None = None  # the plane's last finished drag, for the strip downloads
    painted: bool = False  # the browser has painted this session's plane: the rest of the page may load
    picks_seen: tuple[int, int] = (0, 0)  # the latest pick handled on each plane (protocol.Pick.seq): main, compare
    dial_lam: float | None = None  # where a dial on the plane is turned to (its plane reports it); None: its own lambda
    # The library panel.
    confirm_delete: str | None = None  # the model waiting for "Delete for good"
    rd_generation: int = 0  # part of the rate-distortion chart's key: bumping it clears its selection
    library_open: bool = False  # widget: the section under the plane holding the library's two tabs is open
    library_tab: str = "Model library"  # widget: the tab open there, "Model library" | "Rate–distortion"
    # Widgets: the plane's controls.
    grid_show: bool = False
    grid_n: int = 15
    neighbours_k: int = 8
    # Widgets: what the plane draws besides the points, and how its view follows a new model.
    layer_ellipses: bool = False  # 1 and 2 sigma of q(z|x) for every visible test digit
    layer_prior: bool = False  # N(0, I) contours
    layer_holes: bool = False  # the aggregate posterior q(z) against p(z)
    layer_decodability: bool = False  # what a digit classifier recognises in the decodes
    grid_spacing: str = "even"  # "even" | "quantile" (the prior's quantiles, Kingma & Welling 2014, fig. 4)
    samples_show: bool = False  # z ~ N(0, I) marked on the plane and decoded
    samples_bernoulli: bool = False  # one Bernoulli draw of every pixel instead of the decoder's mean
    samples_seed: int = 0  # "New samples" moves to the next seed
    keep_axes: bool = False  # a model switch keeps the view instead of fitting it to the new points
    # Widgets: presentation mode (also ?present in the URL, so a lecturer can bookmark it) and the
    # digits' colours, colour-blind-safe by default in presentation mode.
    present: bool = False
    palette: str = "tab10"  # a name of explorer.component.protocol.PALETTES
    # Widgets: the compare view, a second model's plane beside the first.
    compare: bool = False
    compare_id: str | None = None  # the second plane's model, picked on its slider; by default set from the library
    lock_axes: bool = True  # panning or zooming one plane moves both
    # Asked of the plane by the page (the guided tour); the plane applies each nonce once.
    command: Command | None = None
    tour_step: int | None = None  # the guided tour's step on screen, None outside the tour
    # Widgets: the training settings, drawn once asked for.
    train_show: bool = False
    train_warm: bool | None = None  # set from the machine's plan (explorer.plans.Plan) once jobs is imported
    train_epochs: int | None = None  # likewise
    train_recon: str = "bce"
    train_k: int = 1
    train_seed: int = 0


# Keys bound to widgets. A widget's key must never hold None (the widget would show nothing), so
# those whose defaults need torch-side knowledge (the explored lambda, the jobs module's plan for
# this machine, the library's models) are set by `state.init_model` just before their widgets.
WIDGETS = frozenset({"library_open", "library_tab", "grid_show", "grid_n", "neighbours_k", "train_show",
                     "train_warm", "train_epochs", "train_recon", "train_k", "train_seed", "layer_ellipses",
                     "layer_prior", "layer_holes", "layer_decodability", "grid_spacing",
                     "samples_show", "samples_bernoulli", "keep_axes", "compare", "lock_axes", "present", "palette"})
KEYS = tuple(f.name for f in dataclasses.fields(Session))
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Session)}
