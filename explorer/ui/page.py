"""The page's layout: one line naming the page, the plane with the full width, then the rest.

Above the plane there is only what the first paint already shows, so nothing there can move the
plane later; notices, the slider and the training job live in the sidebar, the model's figures
and the library below the plane. A new session gets the plane alone first, drawn with the
controls' values from the session state; the rest, the sidebar's widgets too, follows once the
browser reports the plane painted (`actions.on_view`), so neither the widgets' code (which the
browser loads one kind at a time) nor `import torch` (the panels after the plane import it when
first drawn) delays the plane.
"""
from __future__ import annotations

import streamlit as st

from . import actions, plane, resources, state, tour

# One line above the plane, the page's name in it: Streamlit's own top margin (room for its
# toolbar) is all the rest. It cannot be trimmed without moving the plane: CSS sent from the
# script (st.html, st.markdown) is applied a few frames after the elements below it have painted.
INTRO = "**VAE Latent Explorer** · each dot is one MNIST test digit, at μ of q(z|x) in a 2-D latent space (Kingma & Welling 2014)"


def main() -> None:
    state.init()
    actions.settle()
    st.markdown(INTRO)
    # Sidebar slots in display order; the model's are filled after the plane, once torch is in.
    tour_slot = st.sidebar.container()
    model_slot, job_slot, settings_slot = st.sidebar.container(), st.sidebar.container(), st.sidebar.container()
    s = state.get()
    if s.painted:
        with tour_slot:
            tour.start_button()
        with st.sidebar:
            settings = plane.controls()
    else:
        settings = plane.settings_of(s)
    compare_slot = st.sidebar.container()
    path, mtime = resources.stamp(s.model.path if s.model is not None else resources.starting_path())
    left, right = st.columns(2) if s.compare else (st.container(), None)
    with left:
        if not plane.panel(path, mtime, settings) or not s.painted:
            return  # the rest once the plane has painted (actions.on_view)
    from explorer.checkpoint import CheckpointError  # torch: the plane is on screen by now
    from . import compare, library_panel, metrics, models, training
    try:
        explored = actions.explored(s)
        models.init(explored)
        with tour_slot:
            tour.panel(explored)
        with model_slot:
            models.panel(explored)
        with job_slot:
            training.panel()
        with settings_slot:
            models.settings(explored)
        if right is not None:
            with compare_slot:
                other = compare.selector(explored)
            with left:
                compare.caption(explored, "caption_a")
            if other is not None:
                with right:
                    plane.compare_panel(*resources.stamp(other.path), settings)
                    compare.caption(other, "caption_b")
        metrics.panel(explored)
        library_panel.panel(explored)
        resources.model(path, mtime)  # loaded last, so that a download after the first drag is quick
    except (CheckpointError, ValueError, OSError) as e:
        st.error(f"Cannot read the models: {e}", icon=":material/error:")
