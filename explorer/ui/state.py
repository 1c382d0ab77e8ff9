"""The page's view of st.session_state: a `Session` read in one piece, changes written in one piece.

`init` runs at the top of every run and fills in the defaults the `Session` declares; `get`
reads and never writes; `apply` writes the fields that differ and is called only from the
callbacks in `actions` (and from `init_model`, the defaults that need the explored model).
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from .session import DEFAULTS, KEYS, WIDGETS, Session

PRESENT_PARAM = "present"  # ?present in the URL opens the page in presentation mode


def init() -> None:
    """Set every declared key a session does not have yet (widget keys with no default yet excepted),
    and write every widget's value again.

    Streamlit sends a widget's value to the browser only in a run that wrote its key; in the other
    runs the browser gets the widget's own default (a number input's minimum, a slider's first
    stop). A browser that first draws a widget from such a later run (the first two runs arrive
    together when the user acts while the page is loading) shows that default and sends it back
    on its next event: a job of 1 epoch, from scratch, where the page said 5 epochs warm-started.
    Writing the value in every run sends it in every run."""
    if "present" not in st.session_state and PRESENT_PARAM in st.query_params:
        st.session_state.present, st.session_state.palette = True, "cvd"
    for key in KEYS:
        default = DEFAULTS[key]
        if key in st.session_state:
            if key in WIDGETS:
                st.session_state[key] = st.session_state[key]
        elif not (key in WIDGETS and default is None):
            st.session_state[key] = default


def init_model(explored_lam: float, plan) -> None:
    """The defaults known only once the explored model (and the jobs module) are loaded: the slider
    starts at the explored lambda, and training follows the machine's plan (`explorer.plans.Plan`:
    a short warm start on a CPU, from scratch to convergence on a GPU). Call before the widgets."""
    from .decide import stop
    if st.session_state.get("lam") is None:
        st.session_state.lam = stop(explored_lam)
    if "train_warm" not in st.session_state:
        st.session_state.train_warm = plan.warm_start
    if "train_epochs" not in st.session_state:
        st.session_state.train_epochs = plan.epochs


def init_compare(ids: list[str], default: str) -> None:
    """The compare view's second model, before its widget: `default` the first time, or when the
    model chosen is no longer in the library (`ids`)."""
    if st.session_state.get("compare_id") not in ids:
        st.session_state.compare_id = default


def get() -> Session:
    """This session's state (declared defaults where a key is missing)."""
    values = st.session_state.to_dict()  # one copy: a page run reads the state a dozen times
    return Session(**{key: values.get(key, DEFAULTS[key]) for key in KEYS})


def apply(new: Session) -> None:
    """Write the fields of `new` that differ from the session's state."""
    old = get()
    for field in dataclasses.fields(Session):
        value = getattr(new, field.name)
        if value != getattr(old, field.name) or field.name not in st.session_state:
            if value is None and field.name in WIDGETS:
                continue  # a widget's value is never None; see session.WIDGETS
            st.session_state[field.name] = value
