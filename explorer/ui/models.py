"""Sidebar: the lambda slider, what is explored, the one notice, and the training settings."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer import charts
from explorer.plans import EPOCHS_RANGE, K_RANGE, SEED_RANGE
from explorer.model import RECONSTRUCTIONS

from . import actions, decide, resources, state
from .session import Explored

LAM_HELP = ("λ weighs the KL term of the training loss, recon + λ·KL; λ = 1 is the evidence lower bound of "
            "Kingma & Welling (2014). Small λ lets each digit's code collapse to a point and leaves holes "
            "between them; large λ packs the codes toward N(0, I) until they carry no information.\n\n"
            "The slider shows the λ of the model you are exploring. Moving it onto a λ that has a trained model "
            "switches to that model at once. Onto a λ without one, it only offers a **Train** button: nothing "
            "trains until you press it, so stepping through λ with the arrow keys never starts a job.")


def panel(explored: Explored) -> None:
    s = state.get()
    options = charts.lam_choices([e.lam for e in resources.manager().library.entries()],
                                [explored.lam] + ([s.lam] if s.lam is not None else []))
    st.subheader("Model")
    st.select_slider("KL weight λ", options=options, key="lam", format_func=lambda v: f"{v:g}",
                     on_change=actions.on_lam_change, help=LAM_HELP)
    head = resources.header(*resources.stamp(explored.path))
    st.caption(f"Exploring `{explored.id or Path(explored.path).name}` · λ = {explored.lam:g} · "
               f"{len(head.history)} epochs · {head.config.reconstruction}, K = {head.config.k}")
    if decide.pending(s, explored):
        with st.container(key="offer"):
            st.info(f"No model has λ = {s.lam:g} yet; you are still exploring λ = {explored.lam:g}.",
                    icon=":material/info:")
            buttons = st.container(horizontal=True)
            train_button(buttons, f"Train λ = {s.lam:g}", primary=True)
            buttons.button(f"Back to λ = {explored.lam:g}", key="lam_back", on_click=actions.on_back)
    if s.notice is not None:
        getattr(st, s.notice.kind)(s.notice.text)


def train_button(where, label: str, primary: bool = False) -> None:
    where.button(label, key="train_now", on_click=actions.on_train, icon=":material/model_training:",
                 type="primary" if primary else "secondary",
                 help="Trains in the background with the training settings; you keep exploring meanwhile.")


def settings(explored: Explored) -> None:
    """The settings a Train press uses, and the button itself when no lambda is pending."""
    s = state.get()
    # In plain sight, not in an expander: widgets in a collapsed expander can report no value.
    st.subheader("Training settings")
    with st.container(key="training-settings"):
        st.toggle("Warm start from the nearest trained λ", key="train_warm", on_change=actions.on_warm_change,
                  help="Start from the library model closest in λ (same network and reconstruction cost "
                       "if there is one): a few epochs suffice. Off: start from random weights.")
        st.number_input("Epochs", *EPOCHS_RANGE, key="train_epochs", step=1)
        st.radio("Reconstruction cost", RECONSTRUCTIONS, key="train_recon", horizontal=True,
                 format_func={"bce": "BCE (Bernoulli)", "mse": "squared error"}.get)
        st.number_input("Samples K of z per image", *K_RANGE, key="train_k", step=1)
        st.number_input("Seed", *SEED_RANGE, key="train_seed", step=1)
        if not decide.pending(s, explored):
            train_button(st, f"Train λ = {s.lam:g} with these settings")


def init(explored: Explored) -> None:
    state.init_model(explored.lam, resources.manager().plan)
