"""The explored model's figures on the test set, as recorded when it was trained."""
from __future__ import annotations

import streamlit as st

from . import resources
from .session import Explored


def panel(explored: Explored) -> None:
    head = resources.header(*resources.stamp(explored.path))
    m = head.metrics
    if m is None:
        st.caption("This model has no recorded test metrics.")
        return
    with st.container(key="metrics", horizontal=True):
        st.metric("test −ELBO", f"{m.neg_elbo:.1f} nats", border=True,
                  help="recon + KL on the 10,000 test digits: the negative evidence lower bound of "
                       "Kingma & Welling (2014), at λ = 1 whatever λ trained the model. Lower is better.")
        st.metric("recon (distortion)", f"{m.recon:.1f} nats", help="E_q[−ln p(x|z)] per test digit.", border=True)
        st.metric("KL (rate)", f"{m.kl:.2f} nats", border=True,
                  help="KL(q(z|x) ‖ N(0, I)) per test digit (Kingma & Welling 2014, appendix B): how much "
                       "the code says about the digit.")
        st.metric("IWAE log p(x)", f"{m.log_px_iwae:.1f} nats", border=True,
                  help=f"Importance-weighted estimate (Burda et al. 2016) with k = {m.iwae_k} samples; "
                       "tighter than −ELBO.")
        st.metric("active units", f"{m.active_units} of {head.config.model.latent_dim}", border=True,
                  help="Latent dimensions whose mean varies across digits (Var > 0.01); a large enough λ "
                       "switches them off.")
