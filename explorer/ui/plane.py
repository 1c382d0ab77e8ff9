"""The latent plane with the full width of the page, and the downloads made from it.

The plane (explorer.component) answers pointing, clicks and drags in the browser; Python hears
only a finished drag and the visible range, and turns them into files on request. Nothing here
imports torch until a download is asked for, so the plane paints before torch has loaded.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer import assets, export
from explorer.component import STRIP_FRAMES, latent_plane
from explorer.data import DataError

from . import actions, resources, state


@dataclass(frozen=True)
class Controls:
    grid_show: bool
    grid_n: int
    neighbours_k: int


def controls() -> Controls:
    """Sidebar widgets for the plane (drawn before it: their values go into it)."""
    st.subheader("Plane")
    grid_show = st.toggle("Show decodings behind the points", key="grid_show",
                          help="Tiles the view with the decoder's images of a regular grid of z.")
    grid_n = st.slider("Grid size N (N × N)", 5, 30, key="grid_n", disabled=not grid_show)
    k = st.slider("Nearest training images", 1, 16, key="neighbours_k",
                  help="How many training digits with the closest codes a click shows.")
    return Controls(grid_show, grid_n, k)


def draw(plane_assets: assets.PlaneAssets, c: Controls):
    """The one call to the component."""
    return latent_plane(plane_assets, grid_show=c.grid_show, grid_n=c.grid_n, neighbours_k=c.neighbours_k,
                        key="plane")


@st.fragment
def panel(path: str, mtime: float, c: Controls) -> bool:
    """The plane and its downloads; a fragment, so a drag reruns only this. False if it cannot show."""
    try:
        plane_assets = resources.plane_assets(path, mtime)
    except (assets.AssetError, DataError) as e:
        st.error(f"Cannot show the latent plane: {e}", icon=":material/error:")
        return False
    events = draw(plane_assets, c)
    actions.on_drag(events.drag)
    actions.on_view(events.view)
    downloads(path, mtime, state.get().drag, events.view, c.grid_n)
    return True


def downloads(path: str, mtime: float, drag, view, n: int) -> None:
    """One row, always the same height: the strip of the last drag and the grid of the view,
    made (by torch, from the explored model) only when a button is pressed."""
    row = st.container(horizontal=True, key="downloads")
    no_drag = "Drag from one digit to another first."
    name = "interpolation" if drag is None else (
        f"interpolation_{drag.start[0]:.2f}_{drag.start[1]:.2f}_to_{drag.end[0]:.2f}_{drag.end[1]:.2f}")
    row.download_button("Download PNG strip", data=lambda: export.strip_png(_frames(path, mtime, drag)),
                        file_name=f"{name}.png", mime="image/png", key="download_png", on_click="ignore",
                        icon=":material/download:", disabled=drag is None, help=None if drag else no_drag)
    row.download_button("Download GIF", data=lambda: export.gif(_frames(path, mtime, drag)),
                        file_name=f"{name}.gif", mime="image/gif", key="download_gif", on_click="ignore",
                        icon=":material/animation:", disabled=drag is None, help=None if drag else no_drag)
    grid_name = "latent_grid" if view is None else (
        f"latent_grid_{n}x{n}_x{view.x[0]:.2f}_{view.x[1]:.2f}_y{view.y[0]:.2f}_{view.y[1]:.2f}")
    row.download_button(f"Download the {n}×{n} latent grid of this view (PNG)",
                        data=lambda: _grid_png(path, mtime, view, n), file_name=f"{grid_name}.png",
                        mime="image/png", key="download_grid", on_click="ignore", icon=":material/grid_on:",
                        disabled=view is None)


def _frames(path: str, mtime: float, drag):
    """The strip the plane drew for this drag, decoded by torch (runs on a download's own thread)."""
    from explorer import latent
    return latent.decode(resources.model(path, mtime).model, latent.interpolate(drag.start, drag.end, STRIP_FRAMES))


def _grid_png(path: str, mtime: float, view, n: int) -> bytes:
    from explorer import latent
    return export.png(export.tile(latent.decode_grid(resources.model(path, mtime).model, view.x, view.y, n)))
