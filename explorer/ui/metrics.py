"""The explored model's figures on the test set, as recorded when it was trained, beyond the three
the plane shows above its plot (-ELBO, recon, KL): the IWAE bound and the active units."""
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
    with st.container(key="metrics"):
        iwae = f"{m.log_px_iwae:.1f}".replace("-", "−")
        st.caption(f"Test set: −ELBO {m.neg_elbo:.1f}, recon {m.recon:.1f}, KL {m.kl:.2f}, IWAE log p(x) {iwae} "
                   f"nats per digit (k = {m.iwae_k}) · {m.active_units} of {head.config.model.latent_dim} latent "
                   "units active",
                   help="−ELBO = recon + KL, the negative evidence lower bound of Kingma & Welling (2014), at λ = 1 "
                        "whatever λ trained the model; recon is E_q[−ln p(x|z)] (distortion), KL is "
                        "KL(q(z|x) ‖ N(0, I)) (rate). The importance-weighted estimate of Burda et al. (2016) is "
                        "a tighter bound on log p(x). A unit is active if its mean varies across digits "
                        "(Var > 0.01); a large enough λ switches them off.")
