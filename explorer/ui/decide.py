"""What each event does to a session, as plain functions of plain values: no Streamlit, no torch.

Each function takes the `Session` as it is and what the event found out (library entries, a job's
status) and returns the `Session` as it should be; `actions` applies it. The rules:

- The lambda slider shows the lambda of the model being explored. The one exception is the user's
  own move onto a lambda that has no model: the slider stays there and the page offers
  "Train lambda = x" (`pending`); nothing trains until that button is pressed.
- Moving the slider onto a lambda the library has explores that model at once, so keyboard steps
  and drags only ever switch between trained models, never start a job.
- "Train" explores the model already trained with exactly these settings if there is one, and
  otherwise queues a job; the slider goes back to the explored lambda while the job runs.
- When the session's job ends: done, its model is explored; cancelled or failed, a notice says so
  and the slider returns to the explored lambda.
- Any change of model forgets the last drag: its downloads were of the previous decoder.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from explorer.component.protocol import Command

from .session import Explored, Notice, Session

_DIGITS = 10  # lambdas equal to 10 decimals are one slider stop (0.1 * 3 is 0.3)


def one_line(text: object) -> str:
    """A message as one line (an exception's text may span several)."""
    return " ".join(str(text).split())


def stop(lam: float) -> float:
    """The slider stop that shows this lambda."""
    return round(float(lam), _DIGITS)


def pending(s: Session, explored: Explored) -> bool:
    """The slider sits on a lambda the user chose that has no model yet (the page offers to train it)."""
    return s.lam is not None and stop(s.lam) != stop(explored.lam)


def explore(s: Session, model: Explored, message: str | None = None) -> Session:
    """Explore `model` from the next run on; the slider follows it."""
    return dataclasses.replace(s, model=model, lam=stop(model.lam), drag=None,
                               notice=Notice("success", message) if message else None)


def slider_moved(s: Session, explored: Explored, at_lam: Sequence[Any]) -> Session:
    """The slider was moved to `s.lam`; `at_lam` are the library's models at that lambda, best first.
    From a dial, the model there is explored whatever its lambda."""
    if explored.dial is None and not pending(s, explored):
        return dataclasses.replace(s, notice=None)
    if at_lam:
        entry = at_lam[0]
        return explore(s, Explored.of(entry), f"Switched to {entry.id} (λ = {entry.lam:g}) from the library.")
    return dataclasses.replace(s, notice=None)  # an offer, drawn while `pending`: no job


def dial_picked(s: Session, dials: Sequence[Any], lam: float) -> Session:
    """The dial was asked for on the slider at `lam`: explore the library's first dial, turned to
    `lam` within its range."""
    if not dials:
        return dataclasses.replace(s, notice=Notice("info", "The library has no dial."))
    model = Explored.of(dials[0])
    low, high = model.dial
    return dataclasses.replace(explore(s, model), dial_lam=min(high, max(low, float(lam))))


def back(s: Session, explored: Explored) -> Session:
    """Give up a pending lambda: the slider returns to the explored one."""
    return dataclasses.replace(s, lam=stop(explored.lam), notice=None)


def train_pressed(s: Session, explored: Explored, exact: Any | None, submit: Callable[[], Any],
                  lookup: Callable[[str], Any]) -> Session:
    """"Train" was pressed. `exact` is the library's model with exactly these settings, if any;
    `submit()` queues the job and returns its status; `lookup(id)` finds a library entry."""
    if exact is not None:
        return explore(s, Explored.of(exact), f"Switched to {exact.id}: it was trained with these settings.")
    status = submit()
    if status.result is not None:  # another session's job saved it since `exact` was looked up
        entry = lookup(status.result)
        return explore(s, Explored.of(entry), f"Switched to {entry.id} (λ = {entry.lam:g}) from the library.")
    return dataclasses.replace(s, job_id=status.id, lam=stop(explored.lam), notice=None)


def job_ended(s: Session, explored: Explored, status: Any | None, lookup: Callable[[str], Any]) -> Session:
    """The session's job is no longer queued or running (`status` None: the server forgot it)."""
    s = dataclasses.replace(s, job_id=None, lam=stop(explored.lam))
    if status is None:
        return dataclasses.replace(s, notice=Notice("warning", "The training job was lost (the server restarted?)."))
    lam = f"λ = {status.config.lam:g}"
    # JobState is a str enum; its values are compared so this module needs no torch-importing jobs module.
    if status.state == "done":
        try:
            entry = lookup(status.result)
        except ValueError as e:  # LibraryError: deleted by another session in the meantime
            return dataclasses.replace(s, notice=Notice("warning", one_line(f"Trained {lam}, but {e}.")))
        return explore(s, Explored.of(entry), f"Trained {lam} in {status.elapsed_s:.0f} s; now exploring it.")
    if status.state == "failed":
        return dataclasses.replace(s, notice=Notice("error", one_line(f"Training {lam} failed: {status.error}")))
    return dataclasses.replace(s, notice=Notice("info", f"Training {lam} was cancelled; no model was saved."))


def deleted(s: Session, entry_id: str, starting: Explored) -> Session:
    """A user model was deleted; a session exploring it goes back to the starting model."""
    s = dataclasses.replace(s, confirm_delete=None)
    if s.model is not None and s.model.id == entry_id:
        return explore(s, starting, f"Deleted {entry_id}; back to {starting.id or 'the starting model'}.")
    return dataclasses.replace(s, notice=Notice("info", f"Deleted {entry_id}."))


def model_gone(s: Session, starting: Explored) -> Session:
    """The explored model's file disappeared (deleted in another session or on disk)."""
    gone = s.model.id if s.model is not None else "the model"
    return dataclasses.replace(explore(s, starting), notice=Notice(
        "warning", f"{gone} is no longer on disk; back to {starting.id or 'the starting model'}."))


def picked_id(selection: Mapping | None) -> str | None:
    """The library id of the point clicked on the rate-distortion chart (its customdata), if any."""
    points = ((selection or {}).get("selection") or {}).get("points") or []
    for point in points:
        picked = point.get("customdata") if isinstance(point, Mapping) else None
        if isinstance(picked, (list, tuple)):
            picked = picked[0] if picked else None
        if isinstance(picked, str) and picked:
            return picked
    return None


def compare_default(explored_lam: float, entries: Sequence[Any]) -> str | None:
    """The compare view's second model when none is chosen: the other end of lambda from the
    explored one (the smallest lambda beside a regularised model, lambda = 1 beside a small one),
    shipped models first."""
    if not entries:
        return None
    if explored_lam >= 0.5:
        return min(entries, key=lambda e: (e.lam, not e.shipped)).id
    return min(entries, key=lambda e: (abs(e.lam - 1.0), not e.shipped)).id


def command(s: Session, **ask: Any) -> Session:
    """Ask the plane to do something once (explorer.component.Command): the next nonce."""
    return dataclasses.replace(s, command=Command((s.command.nonce if s.command else 0) + 1, **ask))


def tour_model(entries: Sequence[Any], which: str) -> Any | None:
    """A guided tour's model, looked up by what it shows rather than by file, so the tour works
    with whichever models the library ships: "lam0" the smallest lambda, "lam1" lambda = 1 (the
    evidence lower bound itself), "largest" the largest lambda. Shipped models first."""
    if not entries:
        return None
    rank = {"lam0": lambda e: (e.lam, not e.shipped), "lam1": lambda e: (abs(e.lam - 1.0), not e.shipped),
            "largest": lambda e: (-e.lam, not e.shipped)}[which]
    return min(entries, key=rank)


def tour_at(s: Session, index: int, step: Any, model: Explored, other: Explored | None,
            drag: tuple | None) -> Session:
    """The session as tour step `index` (a `tour.Step`) sets it: its model, layers, grid, samples
    and compare view; its test digit selected or its strip drawn (`drag`: the two digits' z under
    `model`), as the user's own click or drag would."""
    s = explore(s, model) if s.model is None or s.model.id != model.id or s.model.path != model.path else s
    s = dataclasses.replace(
        s, tour_step=index, layer_ellipses="ellipses" in step.layers, layer_prior="prior" in step.layers,
        layer_holes="holes" in step.layers, layer_decodability="decodability" in step.layers,
        grid_show=step.grid, grid_spacing=step.spacing,
        samples_show=step.samples, compare=other is not None, lock_axes=step.lock, keep_axes=False, notice=None,
        compare_id=other.id if other is not None else s.compare_id)
    if drag is not None:
        return command(s, drag=drag)
    if step.select is not None:
        return command(s, select_index=step.select)
    return s
