"""Every key the page keeps in st.session_state, with its type and default: the `Session`.

No Streamlit here, so the rules in `decide` can be tested on plain values. `state` maps a
`Session` to and from st.session_state; the callbacks in `actions` are the only writers.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from explorer.component import Drag


@dataclass(frozen=True)
class Explored:
    """A model a session can explore (duck-compatible with `library.LibraryEntry`)."""

    id: str | None  # its library id; None for a file outside the library
    path: str
    lam: float

    @classmethod
    def of(cls, entry: Any) -> Explored:
        """From anything with .id, .path and .lam (a library entry)."""
        return cls(entry.id, str(entry.path), float(entry.lam))


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
    lam: float | None = None  # widget: the lambda slider; set from the explored model once it is known
    notice: Notice | None = None  # the message under the slider
    job_id: str | None = None  # this session's training job, until it ends
    drag: Drag | None = None  # the plane's last finished drag, for the strip downloads
    painted: bool = False  # the browser has painted this session's plane: the rest of the page may load
    # The library panel.
    confirm_delete: str | None = None  # the model waiting for "Delete for good"
    rd_generation: int = 0  # part of the rate-distortion chart's key: bumping it clears its selection
    # Widgets: the plane's controls.
    grid_show: bool = False
    grid_n: int = 15
    neighbours_k: int = 8
    # Widgets: the training settings.
    train_warm: bool | None = None  # set from the machine's plan (explorer.jobs.Plan) once jobs is imported
    train_epochs: int | None = None  # likewise
    train_recon: str = "bce"
    train_k: int = 1
    train_seed: int = 0


# Keys bound to widgets. A widget's key must never hold None (the widget would show nothing), so
# the three whose defaults need torch-side knowledge (the explored lambda, the jobs module's plan
# for this machine) are set by `state.init_model` just before their widgets are drawn.
WIDGETS = frozenset({"lam", "grid_show", "grid_n", "neighbours_k", "train_warm", "train_epochs", "train_recon",
                     "train_k", "train_seed"})
KEYS = tuple(f.name for f in dataclasses.fields(Session))
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Session)}
