"""Sidebar: what is explored, the one notice, the offer to train a picked lambda that has no model,
and the training settings, drawn when asked for. The lambda slider itself is on the plane."""
from __future__ import annotations

import streamlit as st

from explorer.model import RECONSTRUCTIONS
from explorer.plans import EPOCHS_RANGE, K_RANGE, SEED_RANGE, training_config

from . import actions, decide, resources, state
from .session import Explored

LAM_HELP = ("λ weighs the KL term of the training loss, recon + λ·KL; λ = 1 is the evidence lower bound of "
            "Kingma & Welling (2014). Small λ lets each digit's code collapse to a point and leaves holes "
            "between them; large λ packs the codes toward N(0, I) until they carry no information.\n\n"
            "The slider above the plane picks λ. Onto a λ that has a trained model, it switches to that model "
            "at once; onto one without, the sidebar offers a **Train** button: nothing trains until you press "
            "it, so stepping through λ with the arrow keys never starts a job.\n\n"
            "The **Dial** button beside the slider swaps the separately trained models for one network "
            "conditioned on λ (You Only Train Once: Dosovitskiy & Djolonga, ICLR 2020): the slider then turns it "
            "and the plane morphs, with no wait; **Play** sweeps λ across its range.")


def panel(explored: Explored) -> None:
    s = state.get()
    head = resources.header(*resources.stamp(explored.path))
    st.subheader("Model", help=LAM_HELP)
    st.caption(f"Exploring **{explored.name}** · {len(head.history)} epochs · {head.config.reconstruction}, "
               f"K = {head.config.k}")
    if explored.dial:
        st.caption("One network for every λ of its range: the slider turns it. The **Dial** button goes back to "
                   "the separately trained model nearest the dial's λ.")
    if decide.pending(s, explored):
        with st.container(key="offer"):
            st.info(f"No model has λ = {s.lam:g} yet; you are still exploring λ = {explored.lam:g}.",
                    icon=":material/info:")
            buttons = st.container(horizontal=True)
            train_button(buttons, f"Train λ = {s.lam:g}", primary=True)
            buttons.button(f"Back to λ = {explored.lam:g}", key="lam_back", on_click=actions.on_back)
            start = "warm-started from the nearest λ" if s.train_warm else "from scratch"
            st.caption(f"{s.train_epochs} epochs, {start}: change them in *Training settings*.")
    if s.notice is not None:
        getattr(st, s.notice.kind)(s.notice.text)


def train_button(where, label: str, primary: bool = False) -> None:
    where.button(label, key="train_now", on_click=actions.on_train, icon=":material/model_training:",
                 type="primary" if primary else "secondary",
                 help="Trains in the background with the training settings; you keep exploring meanwhile.")


def settings(explored: Explored) -> None:
    """The settings a Train press uses, drawn once asked for; with them a button to train the
    explored lambda again, when these settings would make a model the library does not have."""
    s = state.get()
    if not st.toggle("Training settings", key="train_show",
                     help="Epochs, warm start, reconstruction cost, samples K and seed of the next model trained."):
        return
    with st.container(key="training-settings"):
        st.toggle("Warm start from the nearest trained λ", key="train_warm", on_change=actions.on_warm_change,
                  help="Start from the library model closest in λ (same network and reconstruction cost "
                       "if there is one): a few epochs suffice. Off: start from random weights.")
        st.number_input("Epochs", *EPOCHS_RANGE, key="train_epochs", step=1)
        st.radio("Reconstruction cost", RECONSTRUCTIONS, key="train_recon", horizontal=True,
                 format_func={"bce": "BCE (Bernoulli)", "mse": "squared error"}.get)
        st.number_input("Samples K of z per image", *K_RANGE, key="train_k", step=1)
        st.number_input("Seed", *SEED_RANGE, key="train_seed", step=1)
        if decide.pending(s, explored) or explored.dial:
            return
        try:
            config = training_config(explored.lam, epochs=s.train_epochs, reconstruction=s.train_recon, k=s.train_k,
                                     seed=s.train_seed)
        except ValueError:
            return
        if resources.manager().library.listing().find(config) is None:
            train_button(st, f"Train λ = {explored.lam:g} again with these settings")


def init(explored: Explored) -> None:
    state.init_model(explored.lam, resources.manager().plan)
