"""The latent plane with the full width of the page, and the downloads made from it.

The plane (explorer.component) answers pointing, clicks and drags in the browser; Python hears
only a finished drag and the visible range, and turns them into files on request. Nothing here
imports torch until a download is asked for, so the plane paints before torch has loaded.
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from explorer import export, formats
from explorer.component.protocol import (
    GRID_SPACINGS,
    STRIP_FRAMES,
    Figures,
    Layers,
    ModelChoice,
    PlaneSettings,
    Samples,
)
from explorer.component.widget import latent_plane
from explorer.data import DataError

from . import actions, resources, state
from .session import Explored, Session

SPACINGS = dict(zip(GRID_SPACINGS, ("even in z", "by the prior's quantiles")))
NEIGHBOURS = (1, 4, 8, 16)  # choices of how many nearest training images a click shows
PALETTE_NAMES = {"tab10": "Tableau 10", "cvd": "Colour-blind safe"}
COMPARE_KEY = "plane_b"  # the second plane of the compare view
LINK = "compare"  # the compare view's two planes share the pointer (and, locked, the view)


def controls() -> PlaneSettings:
    """The plane's widgets in the sidebar; what they hold, as `settings_of` reads it. A layer's own
    settings are drawn only while it is on: what a visitor does not use costs the server nothing
    (a slider alone has the browser fetch nine more of Streamlit's scripts)."""
    st.subheader("Plane")
    grid_show = st.toggle("Show decodings behind the points", key="grid_show",
                          help="Tiles the view with the decoder's images of a regular grid of z.")
    if grid_show:
        st.slider("Grid size N (N × N)", 5, 30, key="grid_n")
        st.radio("Grid spacing", tuple(SPACINGS), key="grid_spacing", format_func=SPACINGS.get, horizontal=True,
                 help="By the prior's quantiles: z = Φ⁻¹(u) for u evenly spaced in (0, 1), as Kingma & "
                      "Welling (2014) draw the learned manifold (figure 4): equal prior mass per tile.")
    st.caption("Layers")
    st.toggle("Posterior ellipses for every digit", key="layer_ellipses",
              help="1 and 2 σ of q(z|x) around each visible test digit's μ (the hovered and the "
                   "selected digit always have theirs).")
    st.toggle("Prior N(0, I) contours", key="layer_prior", help="The prior p(z) at 1, 2 and 3 σ.")
    st.toggle("Holes: q(z) against p(z)", key="layer_holes",
              help="Shades where the aggregate posterior q(z), the mean of every test digit's "
                   "q(z|x), falls far below the prior p(z): codes the decoder was never trained on.")
    st.toggle("Decodability: what a classifier sees", key="layer_decodability", disabled=resources.judge() is None,
              help="Tints each cell of the view with the digit a small CNN trained on MNIST recognises in the "
                   "decode at its centre (90% sure or more), grey where it recognises none: where the decoder "
                   "draws digits, whether or not the codes are dense there.")
    samples_show = st.toggle("Samples from the prior", key="samples_show",
                             help="Draws z ~ N(0, I), marks them on the plane and shows their decodings.")
    if samples_show:
        row = st.container(horizontal=True)
        row.button("New samples", key="samples_new", on_click=actions.on_new_samples, icon=":material/casino:")
        row.toggle("Bernoulli pixels", key="samples_bernoulli",
                   help="Off: the decoder's mean image. On: one Bernoulli draw of every pixel, a sample "
                        "of p(x|z) itself.")
    st.toggle("Keep the axes when the model changes", key="keep_axes",
              help="Off: each model's view is fitted to its points. On: the view stays, so λ = 0's "
                   "spread and λ = 1's are seen at one scale.")
    compare = st.toggle("Compare two models side by side", key="compare",
                        help="A second model's plane beside the first: hovering one decodes the same z in both.")
    if compare:
        st.toggle("Lock the two planes' axes", key="lock_axes",
                  help="Panning or zooming one plane moves the other the same way.")
    st.radio("Nearest training images", NEIGHBOURS, key="neighbours_k", horizontal=True,
             help="How many training digits with the closest codes a click shows.")
    st.radio("Digit colours", tuple(PALETTE_NAMES), key="palette", format_func=PALETTE_NAMES.get, horizontal=True,
             help="Colour-blind safe: Okabe & Ito's colours and three more, every pair told apart under "
                  "protanopia, deuteranopia and tritanopia. Tableau 10 has pairs that look alike to about "
                  "one man in twelve.")
    return settings_of(state.get())


def settings_of(s: Session) -> PlaneSettings:
    """The plane's settings in this session: the widgets' values, which `state.init` writes in
    every run, so the same before the widgets are drawn as after."""
    samples = Samples(seed=s.samples_seed, bernoulli=s.samples_bernoulli) if s.samples_show else None
    return PlaneSettings(grid_show=s.grid_show, grid_n=s.grid_n, grid_spacing=s.grid_spacing,
                         neighbours_k=s.neighbours_k,
                         layers=Layers(ellipses=s.layer_ellipses, prior=s.layer_prior, holes=s.layer_holes,
                                       decodability=s.layer_decodability),
                         samples=samples, link=LINK if s.compare else None, lock_axes=s.compare and s.lock_axes,
                         keep_axes=s.keep_axes, compact=s.compare, present=s.present, palette=s.palette)


def _assets(path: str, mtime: float):
    try:
        return resources.plane_assets(path, mtime)
    except (formats.AssetError, DataError) as e:
        st.error(f"Cannot show the latent plane: {e}", icon=":material/error:")
        return None


def choice_of(s: Session, explored: Explored, entries, lam: float | None = None, dial=None) -> ModelChoice:
    """The plane's lambda slider: the library's models along the slider's stops, `explored` shown,
    the slider at `lam` (default: the session's, where the user may have picked a lambda that has
    no model yet), and the library's `dial` (an entry), if any, to turn instead. A dial explored
    is turned to where the session left it."""
    from explorer import charts  # Plotly and torch: loaded by the page's later runs, never before the first paint
    lam = explored.lam if lam is None else lam
    if explored.dial is not None and s.dial_lam is not None:
        lam = s.dial_lam
    head = resources.header(*resources.stamp(explored.path))
    m = head.metrics
    return ModelChoice(lam=lam, stops=tuple(charts.lam_choices([e.lam for e in entries], [explored.lam, lam])),
                       models=tuple((e.id, float(e.lam), e.origin, _urls(e)) for e in entries), model_id=explored.id,
                       title=explored.origin, figures=None if m is None else Figures(m.recon, m.kl, m.neg_elbo),
                       dial=None if dial is None else (dial.id, dial.origin, _urls(dial)))


def _urls(entry) -> tuple[str, ...]:
    """The decoder's and points' files of a library model (and a dial's grid), for the browser to
    fetch ahead of a pick (publishing them the first time, in milliseconds once the shared images
    are published); none for a model that cannot be published (exploring it says why)."""
    try:
        plane = resources.plane_assets(*resources.stamp(entry.path))
    except (formats.AssetError, DataError):
        return ()
    return (plane.decoder_url, plane.points_url) + ((plane.dial.grid_url,) if plane.dial else ())


@st.fragment
def panel(path: str, mtime: float, settings: PlaneSettings, choice: ModelChoice | None,
          other: tuple[str, float, ModelChoice] | None = None) -> bool:
    """The plane and its downloads, and in the compare view the second plane (`other`: its model's
    path, mtime and slider) beside it: one fragment, so that a drag reruns only the planes, and the
    two planes' events reach Python in one batch. False if the plane cannot show.

    In one column, or two for the compare view: the plane stays the first column's first element
    either way, so turning the compare view on or off keeps it, and what the user selected on it."""
    columns = st.columns(2 if other is not None else 1)
    settings = dataclasses.replace(settings, judge=resources.judge())
    with columns[0]:
        plane_assets = _assets(path, mtime)
        if plane_assets is None:
            return False
        s = state.get()
        # Commands come from the tour: once it is left, a plane drawn afresh (the compare view toggled)
        # must not replay its last step over what the user has selected since.
        events = latent_plane(plane_assets, settings, command=s.command if s.tour_step is not None else None,
                              choice=choice)
        actions.on_drag(events.drag)
        actions.on_view(events.view)
        actions.on_pick(events.pick)
        downloads(path, mtime, state.get().drag, events.view, settings.grid_show, settings.grid_n,
                  settings.grid_spacing, plane_assets.dial is not None)
    if other is not None:
        with columns[1]:
            other_assets = _assets(*other[:2])
            if other_assets is not None:
                actions.on_pick_compare(latent_plane(other_assets, settings, key=COMPARE_KEY, choice=other[2]).pick)
    return True


def downloads(path: str, mtime: float, drag, view, grid_show: bool, n: int, spacing: str = "even",
              dial: bool = False) -> None:
    """One row under the plane: the strip of the last drag, once there is one, and the latent grid of
    the view, while the grid is shown; made (by torch, from the explored model, a `dial` at the lambda
    the plane last reported) only when a button is pressed. Drawn only when they can be used: a
    visitor who never drags loads no download code."""
    row = st.container(horizontal=True, key="downloads")
    lam = view.lam if dial and view is not None else None
    if dial and lam is None:
        return  # a dial's plane reports its lambda with its view
    at = "" if lam is None else f"_lam{lam:.3g}"
    if drag is not None:
        name = f"interpolation_{drag.start[0]:.2f}_{drag.start[1]:.2f}_to_{drag.end[0]:.2f}_{drag.end[1]:.2f}{at}"
        row.download_button("Download PNG strip", data=lambda: export.strip_png(_frames(path, mtime, drag, lam)),
                            file_name=f"{name}.png", mime="image/png", key="download_png", on_click="ignore",
                            icon=":material/download:")
        row.download_button("Download GIF", data=lambda: export.gif(_frames(path, mtime, drag, lam)),
                            file_name=f"{name}.gif", mime="image/gif", key="download_gif", on_click="ignore",
                            icon=":material/animation:")
    if grid_show and view is not None:
        grid_name = (f"latent_grid_{n}x{n}{'' if spacing == 'even' else '_' + spacing}_x{view.x[0]:.2f}_"
                     f"{view.x[1]:.2f}_y{view.y[0]:.2f}_{view.y[1]:.2f}{at}")
        row.download_button(f"Download the {n}×{n} latent grid of this view (PNG)",
                            data=lambda: _grid_png(path, mtime, view, n, spacing, lam), file_name=f"{grid_name}.png",
                            mime="image/png", key="download_grid", on_click="ignore", icon=":material/grid_on:")


def _frames(path: str, mtime: float, drag, lam: float | None = None):
    """The strip the plane drew for this drag, decoded by torch (runs on a download's own thread)."""
    from explorer import latent
    return latent.decode(resources.model(path, mtime).model, latent.interpolate(drag.start, drag.end, STRIP_FRAMES),
                         lam)


def _grid_png(path: str, mtime: float, view, n: int, spacing: str, lam: float | None = None) -> bytes:
    from explorer import latent
    grid = latent.decode_grid(resources.model(path, mtime).model, view.x, view.y, n, spacing, lam)
    return export.png(export.tile(grid))
