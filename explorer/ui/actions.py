"""The page's callbacks: the only code that writes session state.

Widget callbacks (on_*) run before the rerun a widget causes; `settle` runs at the top of each
run for the events that happen off the page (a job ending, a model file vanishing); `on_drag`
records the plane's drag. Each reads the `Session`, asks `decide` what the event does, and
applies the answer. An error becomes the one-line notice under the slider, never a traceback.
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer import assets

from . import decide, resources, state
from .session import Explored, Notice
from .tour_steps import STEPS


def _notice_errors(callback):
    """LibraryError, CheckpointError, ValueError (bad settings) and OSError: a notice, not a traceback."""
    @functools.wraps(callback)
    def wrapper(*args, **kwargs):
        try:
            callback(*args, **kwargs)
        except (ValueError, OSError) as e:
            state.apply(dataclasses.replace(state.get(), notice=Notice("error", decide.one_line(e))))
    return wrapper


def explored(s) -> Explored:
    """The model the session explores."""
    return s.model if s.model is not None else resources.starting_model()


def _library():
    return resources.manager().library


@_notice_errors
def on_back() -> None:
    s = state.get()
    state.apply(decide.back(s, explored(s)))


@_notice_errors
def on_train() -> None:
    from explorer.plans import training_config
    s = state.get()
    library = _library()
    try:
        config = training_config(s.lam, epochs=s.train_epochs, reconstruction=s.train_recon, k=s.train_k,
                                 seed=s.train_seed)
    except ValueError as e:
        raise ValueError(f"Cannot train: {e}") from None
    session = get_script_run_ctx().session_id if get_script_run_ctx() else None  # the queue's turns and limits
    submit = lambda: resources.manager().submit(config, warm_start=s.train_warm, session=session).status()  # noqa: E731
    state.apply(decide.train_pressed(s, explored(s), library.listing().find(config), submit, library.get))


def on_warm_change() -> None:
    s, plan = state.get(), resources.manager().plan
    state.apply(dataclasses.replace(s, train_epochs=plan.warm_epochs if s.train_warm else plan.scratch_epochs))


def on_cancel(job_id: str) -> None:
    """Ask the job to stop; `settle` reports it once it has (a running epoch stops at its next batch)."""
    resources.manager().cancel(job_id)


@_notice_errors
def on_explore(entry_id: str) -> None:
    entry = _library().get(entry_id)
    state.apply(decide.explore(state.get(), Explored.of(entry), f"Switched to {entry.id} (λ = {entry.lam:g})."))


def on_rd_select(chart_key: str) -> None:
    """A click on the rate-distortion chart explores the model under it, then clears the selection."""
    picked = decide.picked_id(st.session_state.get(chart_key))
    if picked is not None:
        on_explore(picked)
    s = state.get()
    state.apply(dataclasses.replace(s, rd_generation=s.rd_generation + 1))


def on_ask_delete(entry_id: str | None) -> None:
    state.apply(dataclasses.replace(state.get(), confirm_delete=entry_id))


@_notice_errors
def on_delete(entry_id: str) -> None:
    s = dataclasses.replace(state.get(), confirm_delete=None)
    state.apply(s)  # the question is answered whether or not the deletion works
    library = _library()
    published = assets.published_files(resources.STATIC_DIR, library.get(entry_id).path)
    library.delete(entry_id)
    for path in published:  # a deleted model's weights are not left downloadable
        path.unlink(missing_ok=True)
    state.apply(decide.deleted(s, entry_id, resources.starting_model()))


@_notice_errors
def on_tour(index: int | None) -> None:
    """Go to step `index` of the guided tour (None: leave it, keeping the page as the step left it)."""
    s = state.get()
    if index is None:
        state.apply(dataclasses.replace(s, tour_step=None))
        return
    step, entries = STEPS[index], _library().entries()
    model = decide.tour_model(entries, step.model)
    if model is None:
        raise ValueError("The guided tour needs the shipped models, and the library has none.")
    other = decide.tour_model(entries, step.compare) if step.compare else None
    drag = None
    if step.drag is not None:
        mu = resources.test_mu(*resources.stamp(model.path))
        drag = tuple((float(mu[i, 0]), float(mu[i, 1])) for i in step.drag)
    state.apply(decide.tour_at(s, index, step, Explored.of(model), Explored.of(other) if other else None, drag))


def on_present_change() -> None:
    """Presentation mode on or off: the URL says so (a lecturer can bookmark it), and the digits take
    the mode's colours (colour-blind-safe for a lecture hall); the user may change them after."""
    s = state.get()
    if s.present:
        st.query_params[state.PRESENT_PARAM] = "1"
    else:
        st.query_params.pop(state.PRESENT_PARAM, None)
    state.apply(dataclasses.replace(s, palette="cvd" if s.present else "tab10"))


def on_new_samples() -> None:
    s = state.get()
    state.apply(dataclasses.replace(s, samples_seed=s.samples_seed + 1))


def _new_pick(pick, plane: int) -> bool:
    """Whether `pick` (protocol.Pick or None) from plane 0 (main) or 1 (compare) is one not yet
    handled; it is marked handled."""
    s = state.get()
    if pick is None or pick.seq == s.picks_seen[plane]:
        return False
    seen = list(s.picks_seen)
    seen[plane] = pick.seq
    state.apply(dataclasses.replace(s, picks_seen=tuple(seen)))
    return True


def on_pick(pick) -> None:
    """A lambda was picked on the plane's slider: explore its model, or offer to train one; or the
    dial was asked for, turned to that lambda. Then draw the whole page again (the plane's own
    rerun is a fragment's)."""
    if not _new_pick(pick, 0):
        return
    if pick.dial:
        _notice_errors(lambda: state.apply(decide.dial_picked(state.get(), _library().listing().dials, pick.lam)))()
    else:
        s = dataclasses.replace(state.get(), lam=decide.stop(pick.lam))
        _notice_errors(lambda: state.apply(decide.slider_moved(s, explored(s), _library().with_lam(pick.lam))))()
    st.rerun()


def on_pick_compare(pick) -> None:
    """A lambda was picked on the compare view's second plane: it shows the library's model there."""
    if not _new_pick(pick, 1):
        return
    s = state.get()
    at_lam = _library().with_lam(pick.lam)
    if at_lam:
        state.apply(dataclasses.replace(s, compare_id=at_lam[0].id, notice=None))
    else:
        notice = Notice("info", f"No model has λ = {pick.lam:g} yet to compare with.")
        state.apply(dataclasses.replace(s, notice=notice))
    st.rerun()


def on_drag(drag) -> None:
    """The plane reported a finished drag: keep it for the strip downloads."""
    s = state.get()
    if drag is not None and drag != s.drag:
        state.apply(dataclasses.replace(s, drag=drag))


def on_view(view) -> None:
    """The plane reported its visible range. The first report means the browser has painted it:
    only then is the rest of the page sent, so that its widgets' code (Streamlit loads each kind on
    first use, over the same few connections) does not queue ahead of the plane's own files."""
    s = state.get()
    if view is not None and view.lam is not None and view.lam != s.dial_lam:
        s = dataclasses.replace(s, dial_lam=view.lam)  # where the dial is turned: a plane drawn anew keeps it
        state.apply(s)
    if view is not None and not s.painted:
        state.apply(dataclasses.replace(s, painted=True))
        st.rerun()  # the whole page, not just the plane's fragment


def settle() -> None:
    """Before anything is drawn: apply what happened since the last run away from this page.

    Torch-free for a fresh session (no job, the starting model): only a session that has trained
    or switched, and so has torch loaded already, touches the job manager or the library.
    """
    s = state.get()
    if s.job_id is not None:
        manager = resources.manager()
        job = manager.get(s.job_id)
        status = job.status() if job is not None else None
        if status is None or not status.active:
            s = decide.job_ended(s, explored(s), status, _library().get)
    if s.model is not None and not Path(s.model.path).is_file():
        s = decide.model_gone(s, resources.starting_model())
    state.apply(s)
