"""Sidebar: this session's training job (progress, Cancel, live curves and embedding) and the queue.

In the sidebar, so a job never moves the plane. Polled every POLL_S while the session has a job
in flight; without one it is a fragment without a timer, so an idle page does no periodic work.
"""
from __future__ import annotations

import streamlit as st

from explorer import images
from explorer.jobs import JobState

from . import actions, resources, state

POLL_S = 1.0  # how often a session with a job in flight redraws its progress


def panel() -> None:
    job = resources.manager().get(state.get().job_id)
    (_live if job is not None and job.status().active else _still)()


def _panel() -> None:
    """Reads only immutable JobStatus snapshots. When the job ends, one full rerun lets
    `actions.settle` switch the session to its model or say why not."""
    manager = resources.manager()
    job_id = state.get().job_id
    job = manager.get(job_id)
    status = job.status() if job is not None else None
    if job_id is not None and (status is None or not status.active):
        st.rerun()
    others = [o for o in manager.jobs() if o.active and (status is None or o.id != status.id)]
    queue = ("Also in the queue (one job trains at a time): " + "; ".join(
        f"λ = {o.config.lam:g} " + (f"training, {o.fraction:.0%}" if o.state == JobState.RUNNING
                                    else f"queued #{o.position}") for o in others)) if others else None
    if status is not None:
        with st.container(key="job-panel", border=True):
            progress(status)
            if queue:
                st.caption(queue)
    elif queue:
        st.caption(queue)


_live = st.fragment(_panel, run_every=POLL_S)
_still = st.fragment(_panel)


def progress(status) -> None:
    """What is training, how far it is, Cancel, then the live loss curves and embedding."""
    # The job names the model it starts from once its data are loaded; until then it is only asked for.
    start = f"warm start from `{status.warm_from}`" if status.warm_from else (
        "warm start" if status.warm_start and status.phase in ("queued", "loading data") else "from scratch")
    st.markdown(f"**Training λ = {status.config.lam:g}**  \n{status.epochs} epochs · {start} · "
                f"{status.config.reconstruction}, K = {status.config.k}, seed {status.config.seed}")
    if status.state == JobState.QUEUED:
        st.info(f"Queued, #{status.position} in line: one job trains at a time.", icon=":material/schedule:")
    else:
        st.progress(status.fraction, text=f"{status.phase} · epoch {min(status.epoch + 1, status.epochs)}"
                                          f"/{status.epochs} · {status.fraction:.0%} · {status.elapsed_s:.0f} s")
    st.button("Cancel", key="cancel_job", on_click=actions.on_cancel, args=(status.id,), icon=":material/cancel:")
    st.caption("Keep exploring meanwhile: the new model takes over when it is done.")
    if status.history or status.recon is not None:
        with st.container(key="loss-curves"):
            st.image(images.loss_image(images.loss_rows(status), status.epochs),
                     caption="training loss per epoch, nats per image (the last point is the epoch in progress)")
    if status.embedding is not None:
        with st.container(key="live-embedding"):
            st.image(images.embedding_image(status.embedding, status.embedding_labels),
                     caption=f"live embedding: μ of {len(status.embedding):,} test digits · epoch "
                             f"{status.embedding_epoch or 1}, update {status.version}")
