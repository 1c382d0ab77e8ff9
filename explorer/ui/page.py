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
INTRO = ("**VAE Latent Explorer** · each dot is one MNIST test digit, at μ of q(z|x) in a 2-D latent space "
         "(Kingma & Welling 2014)")


def main() -> None:
    state.init()
    actions.settle()
    if not state.get().present:  # a lecture hall needs the room more than the page's name
        st.markdown(INTRO)
    # Sidebar slots in display order, filled after the plane, so that nothing there delays it.
    tour_slot, model_slot, job_slot, controls_slot, settings_slot = (st.sidebar.container() for _ in range(5))
    s = state.get()
    path, mtime = resources.stamp(s.model.path if s.model is not None else resources.starting_path())
    if not s.painted:
        plane.panel(path, mtime, plane.settings_of(s), None)
        return  # the rest once the plane has painted (actions.on_view)
    from explorer.checkpoint import CheckpointError  # torch: the plane is on screen by now

    from . import compare, library_panel, metrics, models, training
    try:
        explored = actions.explored(s)
        models.init(explored)
        s = state.get()
        listing = resources.manager().library.listing()
        entries, dial = list(listing.entries), next(iter(listing.dials), None)
        settings = plane.settings_of(s)
        other = compare.second(explored, entries) if s.compare else None
        second = None if other is None else (*resources.stamp(other.path), plane.choice_of(s, other, entries))
        if not plane.panel(path, mtime, settings, plane.choice_of(s, explored, entries, s.lam, dial), second):
            return
        with tour_slot:
            st.toggle("Presentation mode", key="present", on_change=actions.on_present_change,
                      help="For a projector: larger text on and around the plane, colour-blind-safe digit colours. "
                           "Open the page as …/?present to start in it, the sidebar closed.")
            tour.start_button()
            tour.panel(explored)
        with model_slot:
            models.panel(explored)
        with job_slot:
            training.panel()
        with controls_slot:
            plane.controls()
        with settings_slot:
            models.settings(explored)
        metrics.panel(explored)
        library_panel.panel(explored)
    except (CheckpointError, ValueError, OSError) as e:
        st.error(f"Cannot read the models: {e}", icon=":material/error:")
