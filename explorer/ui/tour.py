"""The guided tour on screen: its start button, and the step's panel at the top of the sidebar (so
it never moves the plane). The steps themselves are data, in `tour_steps`."""
from __future__ import annotations

import streamlit as st

from . import actions, decide, resources, state
from .session import Explored
from .tour_steps import STEPS

NAN = float("nan")


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
    figures = {"lam": explored.lam, "recon": m.recon if m else NAN, "kl": m.kl if m else NAN,
               "neg_elbo": m.neg_elbo if m else NAN, "units": m.active_units if m else "?"}
    with st.spinner("Measuring this model's story (a few seconds, once)…"):
        figures |= _measures(explored.path)
        if step.compare:
            other = decide.tour_model(resources.manager().library.entries(), step.compare)
            b = _measures(other.path) if other else {}
            figures |= {"holes_b": b.get("holes", NAN), "recognised_b": b.get("recognised", NAN)}
    with st.container(key="tour", border=True):
        st.markdown(f"**Tour {i + 1} of {len(STEPS)} · {step.title}**")
        st.markdown(step.caption.format(**figures))
        st.latex(step.equation)  # in aligned lines: the sidebar is narrow
        row = st.container(horizontal=True)
        row.button("Previous", key="tour_prev", on_click=actions.on_tour, args=(i - 1,), disabled=i == 0)
        row.button("Next", key="tour_next", on_click=actions.on_tour, args=(i + 1,), type="primary",
                   disabled=i == len(STEPS) - 1)
        row.button("Exit", key="tour_exit", on_click=actions.on_tour, args=(None,))


def _measures(path) -> dict:
    """A model's measures for the captions (explorer.story); NaN where they cannot be had."""
    f = resources.story(path)
    if f is None:
        return {"holes": NAN, "recognised": NAN, "covered": "?", "path": NAN}
    return {"holes": f.prior_hole_mass.value, "recognised": f.prior_recognised.value, "covered": f.digits_covered,
            "path": f.path_recognised}
