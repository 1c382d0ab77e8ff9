"""The page's layout: a title and one caption, the plane with the full width, then the rest.

Above the plane there is only what the first paint already shows, so nothing there can move the
plane later; notices, the slider and the training job live in the sidebar, the model's figures
and the library below the plane. The plane paints before torch is imported: the panels that need
torch (everything after it) import it when they are first drawn.
"""
from __future__ import annotations

import streamlit as st

from . import actions, plane, resources, state

CAPTION = ("Each dot is μ of q(z|x) for one of the 10,000 MNIST test digits under a VAE with a 2-D latent "
           "space (Kingma & Welling 2014).")
# Streamlit leaves ~6rem above the title for its opaque toolbar. With the toolbar see-through (its
# buttons sit right, the title left) 1.5rem is enough, and the plane fits a 900 px high laptop screen.
CSS = ("<style>[data-testid='stHeader'] { background: transparent; }"
       "[data-testid='stMainBlockContainer'] { padding-top: 1.5rem; }"
       "[data-testid='stMainBlockContainer'] h1 { padding-top: 0; }</style>")


def main() -> None:
    state.init()
    actions.settle()
    st.html(CSS)  # only a style tag: Streamlit puts it outside the layout
    st.title("VAE Latent Explorer")
    st.caption(CAPTION)
    # Sidebar slots in display order; the model's are filled after the plane, once torch is in.
    model_slot, job_slot, settings_slot = st.sidebar.container(), st.sidebar.container(), st.sidebar.container()
    with st.sidebar:
        controls = plane.controls()
    s = state.get()
    path, mtime = resources.stamp(s.model.path if s.model is not None else resources.starting_path())
    if not plane.panel(path, mtime, controls):
        return
    from explorer.checkpoint import CheckpointError  # torch: the plane is on screen by now
    from . import library_panel, metrics, models, training
    try:
        explored = actions.explored(s)
        models.init(explored)
        with model_slot:
            models.panel(explored)
        with job_slot:
            training.panel()
        with settings_slot:
            models.settings(explored)
        metrics.panel(explored)
        library_panel.panel(explored)
        resources.model(path, mtime)  # loaded last, so that a download after the first drag is quick
    except (CheckpointError, ValueError, OSError) as e:
        st.error(f"Cannot read the models: {e}", icon=":material/error:")
