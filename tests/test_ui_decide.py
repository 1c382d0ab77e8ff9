"""The page's rules on plain values: what a lambda request does, what the slider shows after each
kind of model change, and what a finished, cancelled or failed job leaves behind."""
import dataclasses
import subprocess
import sys
from types import SimpleNamespace

import pytest

from explorer.ui import decide
from explorer.ui.session import DEFAULTS, KEYS, WIDGETS, Explored, Notice, Session

LAM_1 = Explored("lam-1", "pretrained/lam-1.safetensors", 1.0)
LAM_2 = SimpleNamespace(id="lam-2", path="pretrained/lam-2.safetensors", lam=2.0)
LAM_07 = SimpleNamespace(id="lam-0.7_e5_bce_k1_s0_abcd1234", path="models/lam-0.7.safetensors", lam=0.7)
DRAG = SimpleNamespace(start=(0.0, 0.0), end=(1.0, 1.0))


def at(lam, **changes) -> Session:
    """A session exploring lam-1 whose slider sits at `lam`."""
    return Session(model=LAM_1, lam=lam, **changes)


def status(state="running", lam=0.7, result=None, error=None):
    """What a JobStatus offers the rules (JobState is a str enum: its values compare equal to these)."""
    return SimpleNamespace(id="job-1", state=state, config=SimpleNamespace(lam=lam), result=result, error=error,
                           elapsed_s=12.0)


def never(*_):
    raise AssertionError("must not be called")


def test_moving_the_slider_onto_a_trained_lambda_switches_and_the_slider_follows():
    s = decide.slider_moved(at(2.0, drag=DRAG), LAM_1, [LAM_2])
    assert s.model == Explored.of(LAM_2) and s.lam == 2.0
    assert s.drag is None, "the last drag was made with the previous decoder"
    assert s.notice == Notice("success", "Switched to lam-2 (λ = 2) from the library.")


def test_moving_the_slider_onto_an_untrained_lambda_only_offers_training():
    s = decide.slider_moved(at(0.7, notice=Notice("info", "old")), LAM_1, [])
    assert s.model == LAM_1 and s.lam == 0.7 and s.job_id is None and s.notice is None
    assert decide.pending(s, LAM_1)
    back = decide.back(s, LAM_1)
    assert back.lam == 1.0 and not decide.pending(back, LAM_1)


def test_arrow_steps_through_untrained_lambdas_never_train():
    s = at(1.0)
    for lam in (0.7, 0.5, 0.3):  # 0.5 has a model; the others do not
        s = decide.slider_moved(dataclasses.replace(s, lam=lam), s.model, [LAM_07] if lam == 0.5 else [])
        assert s.job_id is None
    assert s.model == Explored.of(LAM_07) and s.lam == 0.3 and decide.pending(s, s.model)


def test_moving_back_onto_the_explored_lambda_keeps_the_explored_model():
    user_lam_1 = Explored("lam-1_e5_bce_k1_s7_00000000", "models/x.safetensors", 1.0)
    s = decide.slider_moved(Session(model=user_lam_1, lam=1.0000000000001), user_lam_1, [LAM_1])
    assert s.model == user_lam_1 and not decide.pending(s, user_lam_1)


def test_train_queues_a_job_and_the_slider_goes_back_to_the_explored_lambda():
    submitted = []
    s = decide.train_pressed(at(0.7), LAM_1, None, lambda: submitted.append(1) or status(state="queued"), never)
    assert submitted == [1] and s.job_id == "job-1" and s.lam == 1.0 and s.model == LAM_1


def test_train_with_settings_already_in_the_library_switches_without_a_job():
    s = decide.train_pressed(at(0.7), LAM_1, LAM_07, never, never)
    assert s.model == Explored.of(LAM_07) and s.lam == 0.7 and s.job_id is None
    raced = decide.train_pressed(at(0.7), LAM_1, None, lambda: status(state="done", result=LAM_07.id),
                                 {LAM_07.id: LAM_07}.__getitem__)
    assert raced.model == Explored.of(LAM_07) and raced.job_id is None


@pytest.mark.parametrize("state, kind, text", [
    ("cancelled", "info", "Training λ = 0.7 was cancelled; no model was saved."),
    ("failed", "error", "Training λ = 0.7 failed: CheckpointError: size mismatch for decoder.0.weight"),
])
def test_a_cancelled_or_failed_job_leaves_the_slider_on_the_explored_lambda(state, kind, text):
    """The error of a failed job is shown as one line, however many lines the exception had."""
    s = at(0.5, job_id="job-1")  # the user moved the slider while the job ran
    error = "CheckpointError: size mismatch\n\tfor decoder.0.weight"
    s = decide.job_ended(s, LAM_1, status(state=state, error=error), never)
    assert s.lam == 1.0 and s.model == LAM_1 and s.job_id is None
    assert s.notice == Notice(kind, text)


def test_a_finished_job_takes_over_and_the_slider_shows_its_lambda():
    done = status(state="done", result=LAM_07.id)
    s = decide.job_ended(at(1.0, job_id="job-1", drag=DRAG), LAM_1, done, {LAM_07.id: LAM_07}.__getitem__)
    assert s.model == Explored.of(LAM_07) and s.lam == 0.7 and s.job_id is None and s.drag is None
    assert s.notice.kind == "success" and "Trained λ = 0.7 in 12 s" in s.notice.text


def test_a_finished_job_whose_model_was_deleted_meanwhile_says_so():
    def gone(entry_id):
        raise ValueError(f"no model {entry_id!r} in the library")
    s = decide.job_ended(at(1.0, job_id="job-1"), LAM_1, status(state="done", result="x"), gone)
    assert s.model == LAM_1 and s.lam == 1.0 and s.notice.kind == "warning" and "no model 'x'" in s.notice.text
    lost = decide.job_ended(at(1.0, job_id="job-9"), LAM_1, None, never)
    assert lost.job_id is None and lost.notice.kind == "warning"


def test_deleting_the_explored_model_goes_back_to_the_starting_one():
    user = Explored.of(LAM_07)
    s = decide.deleted(Session(model=user, lam=0.7, confirm_delete=user.id), user.id, LAM_1)
    assert s.model == LAM_1 and s.lam == 1.0 and s.confirm_delete is None
    other = decide.deleted(Session(model=LAM_1, lam=1.0), user.id, LAM_1)
    assert other.model == LAM_1 and other.notice == Notice("info", f"Deleted {user.id}.")
    vanished = decide.model_gone(Session(model=user, lam=0.7), LAM_1)
    assert vanished.model == LAM_1 and vanished.lam == 1.0 and vanished.notice.kind == "warning"


def test_a_rate_distortion_click_names_the_model_under_it():
    assert decide.picked_id({"selection": {"points": [{"customdata": "lam-2"}]}}) == "lam-2"
    assert decide.picked_id({"selection": {"points": [{"x": 1}, {"customdata": ["lam-5"]}]}}) == "lam-5"
    for nothing in (None, {}, {"selection": {"points": []}}, {"selection": {"points": [{"customdata": 3}, "x"]}}):
        assert decide.picked_id(nothing) is None


def test_every_key_is_declared_once_with_a_default():
    assert len(KEYS) == len(set(KEYS)) and WIDGETS <= set(KEYS)
    assert {"train_warm", "train_epochs"} == {k for k in WIDGETS if DEFAULTS[k] is None}


def test_the_rules_import_neither_streamlit_nor_torch():
    code = ("import sys, explorer.ui.decide, explorer.ui.session; "
            "print(sorted(m for m in ('streamlit', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_rules_read_real_job_states():
    from explorer.config import TrainConfig
    from explorer.jobs import JobState, JobStatus
    failed = JobStatus("job-1", JobState.FAILED, TrainConfig(lam=0.7), True, error="OSError: disk full")
    assert decide.job_ended(at(1.0, job_id="job-1"), LAM_1, failed, never).notice.kind == "error"
    cancelled = dataclasses.replace(failed, state=JobState.CANCELLED)
    assert decide.job_ended(at(1.0, job_id="job-1"), LAM_1, cancelled, never).notice.kind == "info"
