"""The page's view of st.session_state: a `Session` read in one piece, changes written in one piece.

`init` runs at the top of every run and fills in the defaults the `Session` declares; `get`
reads and never writes; `apply` writes the fields that differ and is called only from the
callbacks in `actions` (and from `init_model`, the defaults that need the explored model).
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from .session import DEFAULTS, KEYS, WIDGETS, Session


def init() -> None:
    """Set every declared key a session does not have yet (widget keys with no default yet excepted)."""
    for key in KEYS:
        default = DEFAULTS[key]
        if key not in st.session_state and not (key in WIDGETS and default is None):
            st.session_state[key] = default


def init_model(explored_lam: float, plan) -> None:
    """The defaults known only once the explored model (and the jobs module) are loaded: the slider
    starts at the explored lambda, and training follows the machine's plan (`explorer.jobs.Plan`:
    a short warm start on a CPU, from scratch to convergence on a GPU). Call before the widgets."""
    from .decide import stop
    if "lam" not in st.session_state:
        st.session_state.lam = stop(explored_lam)
    if "train_warm" not in st.session_state:
        st.session_state.train_warm = plan.warm_start
    if "train_epochs" not in st.session_state:
        st.session_state.train_epochs = plan.epochs


def get() -> Session:
    """This session's state (declared defaults where a key is missing)."""
    return Session(**{key: st.session_state.get(key, DEFAULTS[key]) for key in KEYS})


def apply(new: Session) -> None:
    """Write the fields of `new` that differ from the session's state."""
    old = get()
    for field in dataclasses.fields(Session):
        value = getattr(new, field.name)
        if value != getattr(old, field.name) or field.name not in st.session_state:
            if value is None and field.name in WIDGETS:
                continue  # a widget's value is never None; see session.WIDGETS
            st.session_state[field.name] = value
