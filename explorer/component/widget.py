"""The latent plane as a Streamlit component: the plot, the decode panel and the interpolation strip.

One call per plane per rerun: `latent_plane` sends `protocol.plane_data` and returns what Python
needs of what the user did, validated (`protocol.read_drag`, `protocol.read_view`): whatever a
browser sends, the app gets well-formed values or None, never an exception.
"""
from __future__ import annotations

import json

import streamlit as st

from ..assets import APP_STATIC_DIR, PlaneAssets, publish
from . import bundle
from .protocol import (
    STATE_VIEW,
    TRIGGER_DRAG,
    TRIGGER_PICK,
    Command,
    ModelChoice,
    PlaneEvents,
    PlaneSettings,
    plane_data,
    read_drag,
    read_pick,
    read_view,
)

_plane = st.components.v2.component(
    "vae_latent_explorer.latent_plane",
    js=bundle.loader(publish(APP_STATIC_DIR, "component", bundle.join().encode(), suffix=".js")),
    css=(bundle.HERE / "plane.css").read_text(encoding="utf-8"),
)


def latent_plane(plane: PlaneAssets, settings: PlaneSettings = PlaneSettings(), command: Command | None = None,
                 choice: ModelChoice | None = None, key: str = "plane") -> PlaneEvents:
    """Draw the plane, its decode panel and strip; return what the user did since the last run."""
    data = plane_data(plane, settings, command, choice)
    # As JSON bytes, not a dict: Streamlit scans a dict for dataframes, which imports pandas on the
    # first run, before the plane can paint.
    result = _plane(key=key, data=json.dumps(data).encode(), on_drag_change=_ignore, on_pick_change=_ignore,
                    on_view_change=_ignore)
    return PlaneEvents(drag=read_drag(result.get(TRIGGER_DRAG), plane.n_points),
                       pick=read_pick(result.get(TRIGGER_PICK)), view=read_view(result.get(STATE_VIEW)))


def _ignore() -> None:
    """Events are read from the return value; a callback only declares that the event exists."""
