"""The compare view's Python side: which model the second plane shows, and each plane's figures.

The planes themselves are `plane.panel` and `plane.compare_panel`; in the browser they share the
pointer and, locked, the view (explorer/component/link.js).
"""
from __future__ import annotations

import streamlit as st

from . import decide, resources, state
from .session import Explored


def selector(explored: Explored) -> Explored | None:
    """The second model's picker (in the sidebar, under the compare toggle); its entry, or None."""
    entries = sorted(resources.manager().library.entries(), key=lambda e: (e.lam, not e.shipped, e.id))
    ids = [e.id for e in entries]
    if not ids:
        return None
    state.init_compare(ids, decide.compare_default(explored.lam, entries))
    st.selectbox("Second model", ids, key="compare_id",
                 format_func=lambda i: f"λ = {entries[ids.index(i)].lam:g} · {i}",
                 help="The model drawn in the right-hand plane.")
    return Explored.of(entries[ids.index(state.get().compare_id)])


def caption(model: Explored, key: str) -> None:
    """λ, KL and recon of a plane's model, under it."""
    m = resources.header(*resources.stamp(model.path)).metrics
    figures = "" if m is None else f" · KL {m.kl:.2f} nats · recon {m.recon:.1f} nats"
    with st.container(key=key):
        st.caption(f"`{model.id or model.path}` · λ = {model.lam:g}{figures}")
