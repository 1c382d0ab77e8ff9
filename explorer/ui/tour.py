"""The guided tour on screen: its start button, and the step's panel at the top of the sidebar (so
it never moves the plane). The steps themselves are data, in `tour_steps`."""
from __future__ import annotations

import streamlit as st

from . import actions, resources, state
from .session import Explored
from .tour_steps import STEPS


def start_button() -> None:
    if state.get().tour_step is None:
        st.button("Guided tour", key="tour_start", on_click=actions.on_tour, args=(0,), icon=":material/school:",
                  help="Six steps through the model's story, each setting the page for you.", width="stretch")


def panel(explored: Explored) -> None:
    """The step on screen: its title, caption and equation, and Previous / Next / Exit."""
    i = state.get().tour_step
    if i is None:
        return
    step = STEPS[i]
    head = resources.header(*resources.stamp(explored.path))
    m = head.metrics
    figures = {"lam": explored.lam, "recon": m.recon if m else float("nan"), "kl": m.kl if m else float("nan"),
               "neg_elbo": m.neg_elbo if m else float("nan"), "units": m.active_units if m else "?"}
    with st.container(key="tour", border=True):
        st.markdown(f"**Tour {i + 1} of {len(STEPS)} · {step.title}**")
        st.markdown(step.caption.format(**figures))
        st.latex(step.equation)  # in aligned lines: the sidebar is narrow
        row = st.container(horizontal=True)
        row.button("Previous", key="tour_prev", on_click=actions.on_tour, args=(i - 1,), disabled=i == 0)
        row.button("Next", key="tour_next", on_click=actions.on_tour, args=(i + 1,), type="primary",
                   disabled=i == len(STEPS) - 1)
        row.button("Exit", key="tour_exit", on_click=actions.on_tour, args=(None,))
