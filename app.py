"""VAE Latent Explorer: the 2-D latent space of a VAE trained on MNIST, alive.

`streamlit run app.py`. The plane (explorer/component) decodes in the browser as the pointer
moves; this page answers its clicks and drags with torch decodes, neighbours and downloads.
The sidebar's lambda slider switches to a model of the library (explorer.library) or trains
one in the background (explorer.jobs), showing its progress from an `st.fragment(run_every=...)`.
The starting model is pretrained/lam-1.safetensors, or the file named by $EXPLORER_MODEL;
user-trained models go to $EXPLORER_MODELS_DIR (default ./models).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

st.set_page_config(page_title="VAE Latent Explorer", layout="wide")

from explorer import assets, export  # noqa: E402  (torch-free: the plane paints before torch loads)
from explorer.component import STRIP_FRAMES, Drag, View, latent_plane  # noqa: E402
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

@st.cache_resource(show_spinner=False)
def load_plane(path: str, mtime: float) -> assets.PlaneAssets:
    return assets.publish_plane(STATIC_DIR, assets.read_plane_arrays(path), load_images("test").images,
                                load_images("train").images)


@st.cache_resource(show_spinner="Loading the model…")
def load_model(path: str, mtime: float):
    from explorer import checkpoint, latent  # imports torch (seconds): deferred until the plane is on screen
    get_manager()  # sets the process's torch threads before torch does any work
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


@st.cache_resource(show_spinner=False)
def get_manager():
    """The process's one training-job manager (and through it the model library)."""
    from explorer.jobs import shared_manager
    return shared_manager()


@st.cache_data(show_spinner=False, max_entries=32)
def interpolation_frames(_model, model_key: tuple[str, float], start, end, n: int):
    from explorer import latent
    return latent.decode(_model, latent.interpolate(start, end, n))


# ----------------------------------------------------------------------------- page parts

def sidebar_ui() -> tuple[bool, int, int]:
    """Plane controls; returns (show grid, grid N, neighbours k)."""
    with st.sidebar:
        st.header("Latent grid")
        grid_show = st.toggle("Show decodings behind the points", key="grid_show")
        grid_n = st.slider("Grid size N (N x N)", 5, 30, 15, key="grid_n", disabled=not grid_show)
        st.header("Neighbours")
        k = st.slider("Nearest training images", 1, 16, 8, key="neighbours_k")
    return grid_show, grid_n, k


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
        right.markdown(f"digit **{test.labels[sel.index]}** · q(z|x): μ = ({stats.mu[0]:.3f}, {stats.mu[1]:.3f}), "
                       f"σ = ({stats.sigma[0]:.3f}, {stats.sigma[1]:.3f}) · KL(q(z|x) ‖ N(0, I)) = "
                       f"**{stats.kl:.2f} nats** (eq. 5)")
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


# ----------------------------------------------------------------------------- models and training
# The session's model is a library id in st.session_state.model_id (None: the starting model).
# Ids from widgets and charts reach the filesystem only through ModelLibrary.get.

def starting_model() -> Path:
    return Path(os.environ.get("EXPLORER_MODEL") or DEFAULT_MODEL)


def current_model() -> tuple[str, float]:
    """(path, mtime) of the model this session explores."""
    model_id = st.session_state.get("model_id")
    if model_id is not None:
        from explorer.library import LibraryError
        try:
            path = get_manager().library.get(model_id).path
            return str(path), path.stat().st_mtime
        except (LibraryError, OSError) as e:
            st.session_state.model_id = None
            st.session_state.notice = ("warning", f"{e}; back to the starting model")
    path = starting_model()
    return str(path), path.stat().st_mtime if path.is_file() else 0.0


def current_id(path: str) -> str | None:
    """The library id of the explored model, None if it is a file outside the library."""
    if st.session_state.get("model_id") is not None:
        return st.session_state.model_id
    resolved = Path(path).resolve()
    return next((e.id for e in get_manager().library.entries() if e.path.resolve() == resolved), None)


def switch_to(entry_id: str, message: str | None = None) -> None:
    """Explore this library model from the next run on (callers are callbacks or end with a rerun)."""
    st.session_state.model_id = entry_id
    st.session_state.notice = ("success", message) if message else None
    st.session_state.job_message = None


def training_settings(lam):
    """The TrainConfig of the sidebar's settings at this lambda; ValueError says what is wrong."""
    from explorer.jobs import training_config
    s = st.session_state
    return training_config(lam, epochs=s.train_epochs, reconstruction=s.train_recon, k=s.train_k, seed=s.train_seed)


def request_lam(lam, force_training: bool = False) -> None:
    """Explore a model at this lambda: one from the library at once, else train one in the background."""
    library = get_manager().library
    try:
        config = training_settings(lam)
    except ValueError as e:
        st.session_state.notice = ("error", f"Cannot train: {e}")
        return
    entry = library.find(config) or (None if force_training else next(iter(library.with_lam(config.lam)), None))
    if entry is not None:
        switch_to(entry.id, f"Switched to {entry.id} (λ = {entry.lam:g}) from the library.")
        return
    job = get_manager().submit(config, warm_start=st.session_state.train_warm)
    status = job.status()
    if status.result is not None:  # the library had it after all (another session finished it)
        switch_to(status.result, f"Switched to {status.result} (λ = {config.lam:g}) from the library.")
        return
    st.session_state.job_id = job.id
    st.session_state.job_message = None
    st.session_state.notice = None


def on_lam_change() -> None:
    request_lam(st.session_state.lam)


def on_warm_change() -> None:
    from explorer.jobs import DEFAULT_SCRATCH_EPOCHS, DEFAULT_WARM_EPOCHS
    st.session_state.train_epochs = DEFAULT_WARM_EPOCHS if st.session_state.train_warm else DEFAULT_SCRATCH_EPOCHS


def cancel_job(job_id: str) -> None:
    get_manager().cancel(job_id)


def model_ui(ckpt, model_id: str | None, path: str) -> None:
    """Sidebar: the lambda slider, the training settings, and the session's training job."""
    from explorer import views
    from explorer.jobs import DEFAULT_WARM_EPOCHS, EPOCHS_RANGE, K_RANGE, SEED_RANGE
    from explorer.model import RECONSTRUCTIONS
    s = st.session_state
    for key, value in (("train_epochs", DEFAULT_WARM_EPOCHS), ("train_recon", "bce"), ("train_k", 1),
                       ("train_seed", 0), ("train_warm", True)):
        s.setdefault(key, value)
    options = views.lam_choices([e.lam for e in get_manager().library.entries()], [ckpt.lam])
    if s.get("lam_of") != (model_id, ckpt.lam):  # the slider follows the model when the model changes
        s.lam, s.lam_of = round(ckpt.lam, 10), (model_id, ckpt.lam)
    if s.get("lam") not in options:
        s.lam = min(options, key=lambda v: abs(v - ckpt.lam))
    st.header("Model")
    st.select_slider(
        "KL weight λ", options=options, key="lam", format_func=lambda v: f"{v:g}", on_change=on_lam_change,
        help="λ weighs the KL term of the loss, recon + λ·KL (eq. 4). Small λ lets each digit's code "
             "collapse to a point and leaves holes between them; large λ packs the codes toward N(0, I) "
             "until they carry no information. A λ with a trained model switches at once; a new one "
             "trains in the background with the settings below.")
    name = model_id or Path(path).name
    st.caption(f"Exploring `{name}` · λ = {ckpt.lam:g} · {len(ckpt.history)} epochs · "
               f"{ckpt.config.reconstruction}, K = {ckpt.config.k}")
    notice = s.get("notice")
    if notice:
        getattr(st, notice[0])(notice[1])
    with st.expander("Training settings"):
        st.toggle("Warm start from the nearest trained λ", key="train_warm", on_change=on_warm_change,
                  help="Start from the library model closest in λ (same network and reconstruction cost "
                       "if there is one): a few epochs suffice. Off: start from random weights.")
        st.number_input("Epochs", *EPOCHS_RANGE, key="train_epochs", step=1)
        st.segmented_control("Reconstruction cost", RECONSTRUCTIONS, key="train_recon", required=True,
                             format_func={"bce": "BCE (Bernoulli)", "mse": "squared error"}.get)
        st.number_input("Samples K of z per image", *K_RANGE, key="train_k", step=1)
        st.number_input("Seed", *SEED_RANGE, key="train_seed", step=1)
        st.button(f"Train λ = {s.lam:g} with these settings", key="train_now", on_click=request_lam,
                  args=(s.lam, True), icon=":material/model_training:")


JOB_POLL_S = 1.0  # how often a session with a job in flight redraws its progress


def job_panel() -> None:
    """This session's job (progress, live curves and embedding, Cancel) and the shared queue.

    Polled every JOB_POLL_S while the session has a job in flight; a fragment without a timer
    otherwise, so an idle page does no periodic work.
    """
    job = get_manager().get(st.session_state.get("job_id"))
    (_job_panel_live if job is not None else _job_panel_still)()


def _job_panel() -> None:
    """Reads only immutable JobStatus snapshots; when the job ends, one full rerun switches the
    session to its model (or back to a still panel)."""
    from explorer.jobs import JobState
    manager = get_manager()
    s = st.session_state
    job = manager.get(s.get("job_id"))
    status = job.status() if job is not None else None
    if status is not None and not status.active:
        s.job_id = None
        lam = f"λ = {status.config.lam:g}"
        if status.state == JobState.DONE:
            switch_to(status.result, f"Trained {lam} in {status.elapsed_s:.0f} s; now exploring it.")
        else:
            s.job_message = (("error", f"Training {lam} failed: {status.error}") if status.state == JobState.FAILED
                             else ("info", f"Training {lam} was cancelled; no model was saved."))
        st.rerun()
    if s.get("job_message"):
        getattr(st, s.job_message[0])(s.job_message[1])
    others = [o for o in manager.jobs() if o.active and (status is None or o.id != status.id)]
    queue = ("Also in the queue (one job trains at a time): " + "; ".join(
        f"λ = {o.config.lam:g} " + (f"training, {o.fraction:.0%}" if o.state == JobState.RUNNING
                                    else f"queued #{o.position}") for o in others)) if others else None
    if status is not None and status.active:
        with st.container(key="job-panel", border=True):
            job_progress(status, queue)
    elif queue:
        st.caption(queue)


_job_panel_live = st.fragment(_job_panel, run_every=JOB_POLL_S)
_job_panel_still = st.fragment(_job_panel)


def job_progress(status, queue: str | None) -> None:
    """Progress and Cancel beside the live loss curves and the live embedding."""
    from explorer import views
    from explorer.jobs import JobState
    start = f"warm start from `{status.warm_from}`" if status.warm_from else (
        "warm start" if status.state == JobState.QUEUED and status.warm_start else "from scratch")
    info, curves, embedding = st.columns([1, 1.3, 1], gap="medium")
    with info:
        st.markdown(f"**Training λ = {status.config.lam:g}**  \n{status.epochs} epochs · {start} · "
                    f"{status.config.reconstruction}, K = {status.config.k}, seed {status.config.seed}")
        if status.state == JobState.QUEUED:
            st.info(f"Queued, #{status.position} in line: one job trains at a time.", icon=":material/schedule:")
        else:
            st.progress(status.fraction, text=f"{status.phase} · epoch {min(status.epoch + 1, status.epochs)}"
                                              f"/{status.epochs} · {status.fraction:.0%} · {status.elapsed_s:.0f} s")
        st.button("Cancel", key="cancel_job", on_click=cancel_job, args=(status.id,), icon=":material/cancel:")
        st.caption("You can keep exploring the current model; the new one takes over when it is done.")
        if queue:
            st.caption(queue)
    if status.history or status.recon is not None:
        with curves.container(key="loss-curves"):
            st.image(views.loss_image(views.loss_rows(status), status.epochs),
                     caption="training loss per epoch (nats per image; the last point is the epoch in progress)")
    if status.embedding is not None:
        with embedding.container(key="live-embedding"):
            st.image(views.embedding_image(status.embedding, status.embedding_labels),
                     caption=f"live embedding: μ of {len(status.embedding):,} test digits · epoch "
                             f"{status.embedding_epoch or 1}, update {status.version}")


def metrics_ui(ckpt) -> None:
    m = ckpt.metrics
    if m is None:
        st.caption("This model has no recorded test metrics.")
        return
    with st.container(key="metrics", horizontal=True):
        st.metric("test −ELBO", f"{m.neg_elbo:.1f} nats", help="recon + KL on the 10,000 test digits: the bound "
                  "at λ = 1, whatever λ trained the model. Lower is better.", border=True)
        st.metric("recon (distortion)", f"{m.recon:.1f} nats", help="E_q[−ln p(x|z)] per test digit.", border=True)
        st.metric("KL (rate)", f"{m.kl:.2f} nats", help="KL(q(z|x) ‖ N(0, I)) per test digit, eq. (5): how much "
                  "the code says about the digit.", border=True)
        st.metric("IWAE log p(x)", f"{m.log_px_iwae:.1f} nats", help=f"Importance-weighted estimate with k = "
                  f"{m.iwae_k} samples; tighter than −ELBO.", border=True)
        st.metric("active units", f"{m.active_units} of {ckpt.config.model.latent_dim}", help="Latent dimensions "
                  "whose mean varies across digits (Var > 0.01); λ large enough switches them off.", border=True)


def on_rd_select(key: str) -> None:
    points = (st.session_state.get(key) or {}).get("selection", {}).get("points", [])
    picked = next((p.get("customdata") for p in points if p.get("customdata")), None)
    if isinstance(picked, (list, tuple)):
        picked = picked[0] if picked else None
    if picked is not None:  # a click beside the points clears the selection: nothing to load
        explore(picked)
    st.session_state.rd_generation = st.session_state.get("rd_generation", 0) + 1  # clears the selection


def explore(entry_id) -> None:
    from explorer.library import LibraryError
    try:
        entry = get_manager().library.get(entry_id)
    except LibraryError as e:
        st.session_state.notice = ("error", str(e))
        return
    switch_to(entry.id, f"Switched to {entry.id} (λ = {entry.lam:g}).")


def delete_model(entry_id: str) -> None:
    from explorer.library import LibraryError
    st.session_state.confirm_delete = None
    try:
        get_manager().library.delete(entry_id)
    except LibraryError as e:
        st.session_state.notice = ("error", str(e))
        return
    if st.session_state.get("model_id") == entry_id:
        st.session_state.model_id = None
    st.session_state.notice = ("info", f"Deleted {entry_id}.")


def library_ui(model_id: str | None) -> None:
    """The rate-distortion chart and the table of every model, shipped and trained here."""
    from explorer import views
    library = get_manager().library
    listing = library.listing()
    entries = list(listing.entries)
    rd_tab, table_tab = st.tabs(["Rate–distortion", f"Model library ({len(entries)})"])
    with rd_tab, st.container(key="rd"):
        st.caption("Each model of the library at its test KL (rate) and reconstruction cost (distortion); "
                   "λ trades one for the other. Click a point to explore that model.")
        key = f"rd_chart_{st.session_state.get('rd_generation', 0)}"
        st.plotly_chart(views.rate_distortion(entries, model_id), key=key, on_select=lambda: on_rd_select(key),
                        selection_mode="points", config={"displayModeBar": False})
    with table_tab, st.container(key="library"):
        for problem in listing.problems:
            st.warning(f"Skipped `{problem.name}`: {problem.message}", icon=":material/warning:")
        user = sum(not e.shipped for e in entries)
        st.caption(f"{len(entries)} models: {len(entries) - user} shipped, {user} trained here. "
                   "Select a row to explore it or, for one trained here, delete it.")
        rows = views.library_rows(entries, model_id)
        event = st.dataframe(rows, key="library_table_" + str(hash(tuple(r["id"] for r in rows))), hide_index=True,
                             on_select="rerun", selection_mode="single-row",
                             column_config={"λ": st.column_config.NumberColumn(format="%g")})
        chosen = [rows[i]["id"] for i in event.selection.rows if i < len(rows)]
        if not chosen:
            return
        entry = next(e for e in entries if e.id == chosen[0])
        buttons = st.container(horizontal=True)
        buttons.button(f"Explore {entry.id}", key="explore_selected", on_click=explore, args=(entry.id,),
                       type="primary", disabled=entry.id == model_id)
        if entry.shipped:
            return
        if st.session_state.get("confirm_delete") != entry.id:
            buttons.button("Delete…", key="delete_selected", icon=":material/delete:",
                           on_click=lambda: st.session_state.update(confirm_delete=entry.id))
            return
        st.warning(f"Delete `{entry.id}` from disk? This cannot be undone.")
        confirm = st.container(horizontal=True)
        confirm.button("Delete for good", key="delete_confirm", on_click=delete_model, args=(entry.id,))
        confirm.button("Keep it", key="delete_keep", on_click=lambda: st.session_state.update(confirm_delete=None))


# ----------------------------------------------------------------------------- the page

def main() -> None:
    st.title("VAE Latent Explorer")
    st.caption("Each dot is μ of q(z|x) for one of the 10,000 MNIST test digits, coloured by its label: "
               "the seed's Figure 1. The decoder runs in your browser as you point.")
    model_slot = st.sidebar.container()  # filled once the plane is up: it needs torch, the plane does not
    grid_show, grid_n, k = sidebar_ui()
    path, mtime = current_model()
    metrics_slot = st.container()
    job_slot = st.container()
    ckpt = explorer_ui(path, mtime, grid_show, grid_n, k)
    if ckpt is None:
        return
    from explorer.library import LibraryError
    try:
        model_id = current_id(path)
        with model_slot:
            model_ui(ckpt, model_id, path)
        with metrics_slot:
            metrics_ui(ckpt)
        with job_slot:
            job_panel()
        library_ui(model_id)
    except (LibraryError, ValueError, OSError) as e:
        st.error(f"Model library: {e}", icon=":material/error:")


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
    events = latent_plane(plane_assets, grid_show=grid_show, grid_n=grid_n, neighbours_k=k, key="plane")
    grid_download = st.empty()
    remember(None, events.drag)
    from explorer.checkpoint import CheckpointError
    try:
        ckpt = load_model(path, mtime)
        neighbours = load_neighbours(path, mtime)
        load_images("train")  # now, while the user looks at the plane, rather than on the first click
        grid_download_ui(grid_download, ckpt, events.view, grid_n)
        interpolation_panel(ckpt, (path, mtime), neighbours)
    except (CheckpointError, DataError) as e:
        st.error(f"Cannot load the model or its data: {e}", icon=":material/error:")
        return None
    return ckpt


main()
