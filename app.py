"""VAE Latent Explorer: the 2-D latent space of a VAE trained on MNIST, alive.

`streamlit run app.py`. The plane (explorer/component) decodes in the browser as the pointer
moves; this page answers its clicks and drags with torch decodes, neighbours and downloads.
The model is pretrained/lam-1.safetensors, or the file named by $EXPLORER_MODEL.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

st.set_page_config(page_title="VAE Latent Explorer", layout="wide")

from explorer import assets, export  # noqa: E402  (torch-free: the plane paints before torch loads)
from explorer.component import STRIP_FRAMES, Click, Drag, View, latent_plane  # noqa: E402
from explorer.data import DataError, load_split  # noqa: E402

ROOT = Path(__file__).resolve().parent
DEFAULT_MODEL = ROOT / "pretrained" / "lam-1.safetensors"
STATIC_DIR = ROOT / "static"  # served at app/static (server.enableStaticServing)
DECODE_SCALE = 8  # the selected decode, 28 px -> 224 px
THUMB_SCALE = 3  # real test images and strip frames
NEIGHBOUR_SCALE = 2
DIGITS = "0123456789"


@dataclass(frozen=True)
class Selection:
    z: tuple[float, float]
    index: int | None  # the test image it came from, if any


# ----------------------------------------------------------------------------- cached loaders
# Keyed by (path, mtime) so a model file replaced on disk is picked up without a restart.

def model_file() -> tuple[str, float]:
    path = Path(os.environ.get("EXPLORER_MODEL") or DEFAULT_MODEL)
    return str(path), path.stat().st_mtime if path.is_file() else 0.0


@st.cache_resource(show_spinner=False)
def load_plane(path: str, mtime: float) -> assets.PlaneAssets:
    return assets.publish_plane(STATIC_DIR, assets.read_plane_arrays(path), load_split("test").images)


@st.cache_resource(show_spinner="Loading the model…")
def load_model(path: str, mtime: float):
    from explorer import checkpoint, latent  # imports torch (seconds): deferred until the plane is on screen
    ckpt = checkpoint.load(path)
    latent.decode(ckpt.model, [(0.0, 0.0)])  # torch's first call is slow; pay it here, not on the first click
    return ckpt


@st.cache_resource(show_spinner="Indexing the training encodings…")
def load_neighbours(path: str, mtime: float):
    from explorer.latent import NeighbourIndex
    embedding = load_model(path, mtime).embedding
    return NeighbourIndex(embedding.train_mu), NeighbourIndex(embedding.test_mu)


@st.cache_resource(show_spinner="Reading MNIST…")
def load_images(split: str):
    return load_split(split)


@st.cache_data(show_spinner=False, max_entries=32)
def interpolation_frames(_model, model_key: tuple[str, float], start, end, n: int):
    from explorer import latent
    return latent.decode(_model, latent.interpolate(start, end, n))


# ----------------------------------------------------------------------------- page parts

def sidebar_ui() -> tuple[bool, int, int]:
    """Controls; returns (show grid, grid N, neighbours k). Model picking and training go here too."""
    with st.sidebar:
        st.header("Latent grid")
        grid_show = st.toggle("Show decodings behind the points", key="grid_show")
        grid_n = st.slider("Grid size N (N x N)", 5, 30, 15, key="grid_n", disabled=not grid_show)
        st.header("Neighbours")
        k = st.slider("Nearest training images", 1, 16, 8, key="neighbours_k")
    return grid_show, grid_n, k


def model_summary(path: str, ckpt) -> None:
    with st.sidebar:
        st.header("Model")
        m = ckpt.metrics
        st.caption(f"`{Path(path).name}` · λ = {ckpt.lam:g} · {len(ckpt.history)} epochs")
        if m is not None:
            st.caption(f"test −ELBO {m.neg_elbo:.1f} nats = recon {m.recon:.1f} + KL {m.kl:.2f}; "
                       f"IWAE log p(x) {m.log_px_iwae:.1f} (k={m.iwae_k})")


def remember(click: Click | None, drag: Drag | None) -> None:
    if click is not None:
        st.session_state.selection = Selection(click.z, click.index)
    if drag is not None:
        st.session_state.drag = drag
        st.session_state.selection = Selection(drag.end, drag.end_index)


def selection_panel(ckpt, neighbours, k: int) -> None:
    from explorer import latent
    sel: Selection | None = st.session_state.get("selection")
    st.subheader("Decoded point")
    if sel is None:
        st.info("Click anywhere in the plane, on a point or in empty space, to decode it here.")
        return
    z0, z1 = sel.z
    with st.container(key="selected"):
        st.image(export.enlarge(export.to_uint8(latent.decode(ckpt.model, sel.z)[0]), DECODE_SCALE),
                 caption="decoder mean at z (torch)", output_format="PNG")
        st.markdown(f"**z = ({z0:.3f}, {z1:.3f})**")
    if sel.index is not None:
        test = load_images("test")
        e = ckpt.embedding
        stats = latent.point_stats(e.test_mu[sel.index], e.test_logvar[sel.index])
        left, right = st.columns([1, 3], vertical_alignment="center")
        left.image(export.enlarge(test.images[sel.index], THUMB_SCALE), caption=f"test #{sel.index}")
        right.markdown(f"digit **{test.labels[sel.index]}** · μ = ({stats.mu[0]:.3f}, {stats.mu[1]:.3f}) · "
                       f"σ = ({stats.sigma[0]:.3f}, {stats.sigma[1]:.3f}) · KL = {stats.kl:.2f} nats")
    train_index, _ = neighbours
    indices, distances = train_index.query(sel.z, k)
    train = load_images("train")
    inside = distances[0] <= train_index.wide_gap
    where = ("within the data: decodes here resemble these neighbours" if inside else
             "off the data: no training digit was encoded this close, so the decode is the decoder's own")
    st.markdown(f"**{k} nearest training encodings** (digit · latent distance). Training encodings sit "
                f"{train_index.typical_gap:.3f} apart typically, 99% within {train_index.wide_gap:.3f}; "
                f"the nearest here is {distances[0]:.3f} away: {where}.")
    with st.container(key="neighbours"):
        st.image([export.enlarge(train.images[i], NEIGHBOUR_SCALE) for i in indices],
                 caption=[f"{train.labels[i]} · {d:.3f}" for i, d in zip(indices, distances)])


def interpolation_panel(ckpt, model_key, neighbours) -> None:
    drag: Drag | None = st.session_state.get("drag")
    if drag is None:
        st.caption("Press on one digit and drag to another to interpolate between them.")
        return
    frames = interpolation_frames(ckpt.model, model_key, drag.start, drag.end, STRIP_FRAMES)
    _, test_index = neighbours
    test = load_images("test")
    ends = [i if i is not None else int(test_index.query(z, 1)[0][0])
            for i, z in ((drag.start_index, drag.start), (drag.end_index, drag.end))]
    st.subheader("Interpolation")
    st.caption(f"{STRIP_FRAMES} decodings (torch) on the line from z = ({drag.start[0]:.3f}, {drag.start[1]:.3f}) "
               f"to ({drag.end[0]:.3f}, {drag.end[1]:.3f}), between the real test images nearest the ends.")
    first, middle, last = st.columns([1, 8, 1], vertical_alignment="center")
    first.image(export.enlarge(test.images[ends[0]], THUMB_SCALE), caption=f"test #{ends[0]}")
    with middle.container(key="strip"):
        st.image(export.strip(frames, THUMB_SCALE), width="stretch", output_format="PNG")
    last.image(export.enlarge(test.images[ends[1]], THUMB_SCALE), caption=f"test #{ends[1]}")
    name = f"interpolation_{drag.start[0]:.2f}_{drag.start[1]:.2f}_to_{drag.end[0]:.2f}_{drag.end[1]:.2f}"
    buttons = st.container(horizontal=True)
    buttons.download_button("Download PNG strip", data=lambda: export.strip_png(frames), file_name=f"{name}.png",
                            mime="image/png", key="download_png", on_click="ignore", icon=":material/download:")
    buttons.download_button("Download GIF", data=lambda: export.gif(frames), file_name=f"{name}.gif",
                            mime="image/gif", key="download_gif", on_click="ignore", icon=":material/animation:")


def grid_download_ui(slot, ckpt, view: View | None, n: int) -> None:
    """The latent grid of the visible range, decoded by torch, as a PNG (made only when asked for)."""
    if view is None:
        return

    def grid_png() -> bytes:
        from explorer import latent
        return export.png(export.tile(latent.decode_grid(ckpt.model, view.x, view.y, n)))

    slot.download_button(f"Download the {n}×{n} latent grid of this view (PNG)", data=grid_png,
                         file_name=f"latent_grid_{n}x{n}_x{view.x[0]:.2f}_{view.x[1]:.2f}_y{view.y[0]:.2f}_{view.y[1]:.2f}.png",
                         mime="image/png", key="download_grid", on_click="ignore", icon=":material/grid_on:",
                         type="tertiary")


# ----------------------------------------------------------------------------- the page

def main() -> None:
    st.title("VAE Latent Explorer")
    st.caption("Each dot is μ of q(z|x) for one of the 10,000 MNIST test digits, coloured by its label: "
               "the seed's Figure 1. The decoder runs in your browser as you point.")
    grid_show, grid_n, k = sidebar_ui()
    path, mtime = model_file()
    ckpt = explorer_ui(path, mtime, grid_show, grid_n, k)
    if ckpt is not None:
        model_summary(path, ckpt)


@st.fragment
def explorer_ui(path: str, mtime: float, grid_show: bool, grid_n: int, k: int):
    """The plane and the panels answering it; a fragment, so a click reruns only this part.

    Returns the loaded checkpoint, or None after showing why it could not be loaded.
    """
    try:
        plane_assets = load_plane(path, mtime)
    except (assets.AssetError, DataError) as e:
        st.error(f"Cannot show the latent plane: {e}", icon=":material/error:")
        return None
    plane_col, panel_col = st.columns([2, 1], gap="medium")
    with plane_col:
        events = latent_plane(plane_assets, grid_show=grid_show, grid_n=grid_n, key="plane")
        grid_download = st.empty()
    remember(events.click, events.drag)
    from explorer.checkpoint import CheckpointError
    try:
        ckpt = load_model(path, mtime)
        neighbours = load_neighbours(path, mtime)
        load_images("train")  # now, while the user looks at the plane, rather than on the first click
        grid_download_ui(grid_download, ckpt, events.view, grid_n)
        with panel_col:
            selection_panel(ckpt, neighbours, k)
        interpolation_panel(ckpt, (path, mtime), neighbours)
    except (CheckpointError, DataError) as e:
        st.error(f"Cannot load the model or its data: {e}", icon=":material/error:")
        return None
    return ckpt


main()
