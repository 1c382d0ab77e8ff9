"""The whole page run by Streamlit's AppTest (no browser): picking a lambda on the plane's slider
starts no job, Train does, and after Cancel or a failed job the slider shows the explored model's
lambda again.

Jobs run in a real JobManager over a temporary library and a small slice of MNIST, so they take
a second or two instead of a minute. AppTest runs no JavaScript, so a pick on the plane's slider
is given to the page as the component would report it (`picks`).
"""
import dataclasses
import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from explorer import jobs, plans
from explorer.component.protocol import Pick
from explorer.data import load_split
from explorer.library import SHIPPED_DIR, ModelLibrary
from explorer.ui import plane, resources
from tests.browser.harness import ROOT, SHIPPED_MODEL

pytestmark = pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="needs the shipped lambda = 1 model")


@pytest.fixture(scope="module")
def splits():
    train, test = load_split("train"), load_split("test")
    return type(train)(train.images[:512], train.labels[:512]), type(test)(test.images[:256], test.labels[:256])


@pytest.fixture
def manager_for(monkeypatch, splits):
    """Make the page's job manager one over this user folder (a file there: every save fails)."""
    made = []

    def make(user_dir):
        manager = jobs.JobManager(ModelLibrary(SHIPPED_DIR, user_dir), splits=splits, threads=0, iwae_k=2,
                                  report_every_s=0.05)
        made.append(manager)
        monkeypatch.setattr(jobs, "_shared", manager)
        resources.manager.clear()
        return manager

    monkeypatch.setenv("EXPLORER_MODEL", str(SHIPPED_MODEL))
    yield make
    for manager in made:
        manager.close(timeout=30)
    resources.manager.clear()


@pytest.fixture(autouse=True)
def picks(monkeypatch):
    """Lambdas to report as picked on a plane's slider, (plane key, lambda), each once, as the browser would."""
    queued, sent = [], []
    draw = plane.latent_plane

    def latent_plane(*args, key="plane", **kwargs):
        events = draw(*args, key=key, **kwargs)
        if queued and queued[0][0] == key:
            sent.append(1)
            return dataclasses.replace(events, pick=Pick(queued.pop(0)[1], len(sent)))
        return events

    monkeypatch.setattr(plane, "latent_plane", latent_plane)
    return queued


def plane_data(at, key: str = "plane") -> dict:
    """The JSON data the page sent to the plane with this key in the last run."""
    [element] = [e for e in at.get("bidi_component") if e.proto.id.endswith(f"-{key}")]
    return json.loads(element.proto.bytes)


def _open() -> AppTest:
    """The page as a browser sees it once the plane has painted (AppTest has no browser to say so)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["painted"] = True
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_new_session_gets_the_plane_alone_until_the_browser_has_painted_it(manager_for, tmp_path):
    manager_for(tmp_path / "models")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    # The plane's own controls, the tour and the model's panels all wait for the paint; so does the
    # plane's slider, which needs the library.
    assert not at.sidebar.toggle and not at.sidebar.button and not at.caption
    assert plane_data(at)["choice"] is None
    at.session_state["painted"] = True  # what actions.on_view records from the plane's first view
    at.run()
    choice = plane_data(at)["choice"]
    assert choice["lam"] == 1.0 and choice["model_id"] == "lam-1" and {0.0, 0.5, 1.0, 100.0} <= set(choice["stops"])
    assert at.sidebar.toggle(key="grid_show").value is False and at.sidebar.button(key="tour_start")
    assert at.sidebar.toggle(key="train_show").value is False and not at.sidebar.number_input, \
        "the training settings are drawn once asked for"


def test_the_library_and_its_chart_are_drawn_only_once_opened(manager_for, tmp_path):
    manager_for(tmp_path / "models")
    at = _open()
    assert [e.label for e in at.expander] == ["Model library and rate–distortion chart"]
    assert not at.tabs and not at.dataframe and not at.get("plotly_chart")
    at.session_state["library_open"] = True  # what opening the section sets
    at.run()
    assert [t.label for t in at.tabs] == ["Model library", "Rate–distortion"]
    assert len(at.dataframe) == 1 and not at.get("plotly_chart")
    at.session_state["library_tab"] = "Rate–distortion"  # what choosing the tab sets
    at.run()
    assert not at.exception and not at.dataframe and len(at.get("plotly_chart")) == 1


def _pick(at: AppTest, picks: list, lam: float, key: str = "plane") -> AppTest:
    """Pick `lam` on the slider of the plane drawn with `key`."""
    picks.append((key, lam))
    at.run()
    assert not at.exception, at.exception
    assert not picks, "the page drew no such plane"
    assert plane_data(at)["choice"]["lam"] == at.session_state["lam"]
    return at


def _train_settings(at: AppTest) -> AppTest:
    return at.sidebar.toggle(key="train_show").set_value(True).run()


def _finish(manager, at: AppTest) -> AppTest:
    """Wait for every job to end, then rerun as the job panel's poll would."""
    for status in manager.jobs():
        manager.get(status.id).wait(timeout=60)
    return at.run()


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _exploring(at: AppTest) -> str:
    """The explored model's id, as the plane's slider names it."""
    return plane_data(at)["choice"]["model_id"]


def test_slider_steps_switch_between_trained_models_and_never_start_a_job(manager_for, tmp_path, picks):
    manager = manager_for(tmp_path / "models")
    at = _open()
    assert at.session_state["lam"] == 1.0
    for lam in (0.7, 0.5, 0.3):  # 0.5 is shipped; 0.7 and 0.3 have no model
        _pick(at, picks, lam)
    assert manager.jobs() == []
    assert _exploring(at) == "lam-0.5"
    assert "No model has λ = 0.3 yet; you are still exploring λ = 0.5." in _texts(at.sidebar.info)
    assert {b.key for b in at.sidebar.button} >= {"train_now", "lam_back"}
    at.sidebar.button(key="lam_back").click().run()
    assert at.session_state["lam"] == 0.5 and not at.sidebar.info
    assert _exploring(at) == "lam-0.5"


def test_train_starts_one_job_and_after_cancel_the_slider_shows_the_explored_lambda(manager_for, tmp_path, picks):
    manager = manager_for(tmp_path / "models")
    at = _train_settings(_open())
    at.sidebar.number_input(key="train_epochs").set_value(500).run()
    _pick(at, picks, 0.7)
    at.sidebar.button(key="train_now").click().run()
    assert [s.config.lam for s in manager.jobs()] == [0.7]
    assert at.session_state["lam"] == 1.0, "while the job runs the slider shows the model being explored"
    _pick(at, picks, 0.3)  # the user moves on while it trains: still no second job
    assert len(manager.jobs()) == 1
    at.sidebar.button(key="cancel_job").click().run()
    at = _finish(manager, at)
    assert manager.jobs()[0].state == jobs.JobState.CANCELLED
    assert at.session_state["lam"] == 1.0 and _exploring(at) == "lam-1"
    assert "Training λ = 0.7 was cancelled; no model was saved." in _texts(at.sidebar.info)
    assert at.session_state["job_id"] is None


def test_a_failed_job_says_why_in_one_line_and_the_slider_shows_the_explored_lambda(manager_for, tmp_path, picks):
    not_a_folder = tmp_path / "models"
    not_a_folder.write_text("a file where the models folder should be")
    manager = manager_for(not_a_folder)
    at = _train_settings(_open())
    at.sidebar.number_input(key="train_epochs").set_value(1).run()
    _pick(at, picks, 2.0)  # shipped: explores lam-2
    _pick(at, picks, 3.0)
    at.sidebar.button(key="train_now").click().run()
    at = _finish(manager, at)
    assert manager.jobs()[0].state == jobs.JobState.FAILED
    assert at.session_state["lam"] == 2.0 and _exploring(at) == "lam-2"
    [error] = _texts(at.sidebar.error)
    assert error.startswith("Training λ = 3 failed: ") and "\n" not in error and "Traceback" not in error
    assert not at.exception


def test_a_corrupt_starting_model_is_one_line_not_a_traceback(manager_for, tmp_path, monkeypatch):
    manager_for(tmp_path / "models")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json, not a checkpoint")
    monkeypatch.setenv("EXPLORER_MODEL", str(bad))
    started = time.monotonic()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert time.monotonic() - started < 120
    assert not at.exception
    [error] = _texts(at.error)
    assert error.startswith("Cannot show the latent plane:") and "bad.safetensors" in error


def _shown(widget):
    """What a browser shows for a widget it first draws from this run's message: the value the
    message carries when it carries one (set_value), else the widget's own default."""
    p = widget.proto
    if p.DESCRIPTOR.name == "Slider" and p.options:  # a select_slider: options as text
        return list(p.raw_value) if p.set_value else [p.options[i] for i in p.default]
    if p.DESCRIPTOR.name == "Slider":
        return list(p.value) if p.set_value else list(p.default)
    if p.DESCRIPTOR.name == "Radio":  # options as text
        return p.raw_value if p.set_value else p.options[p.default]
    return p.value if p.set_value else p.default


def test_on_a_gpu_the_page_offers_a_converged_run_from_scratch_and_warm_start_on_request(manager_for, tmp_path):
    """The plan a CUDA machine gets (plans.default_plan), given to a CPU manager: only the page's
    defaults are checked here; tests/test_gpu.py trains with it on a GPU."""
    manager = manager_for(tmp_path / "models")
    manager.plan = plans.Plan("cuda", False, plans.DEFAULT_WARM_EPOCHS, plans.CONVERGED_EPOCHS)
    at = _train_settings(_open())
    assert at.sidebar.toggle(key="train_warm").value is False
    assert at.sidebar.number_input(key="train_epochs").value == plans.CONVERGED_EPOCHS == 400
    at.sidebar.toggle(key="train_warm").set_value(True).run()
    assert at.sidebar.number_input(key="train_epochs").value == plans.DEFAULT_WARM_EPOCHS
    at.sidebar.toggle(key="train_warm").set_value(False).run()
    assert at.sidebar.number_input(key="train_epochs").value == 400 and not at.exception


def test_every_run_sends_the_widgets_their_values_so_a_late_drawn_widget_shows_them(manager_for, tmp_path):
    """The user acting while the page loads makes the browser draw the sidebar from the second
    run's message, which must carry the plan's epochs and warm start, not the widgets' defaults
    (1 epoch, from scratch): else the next event sends those back and Train trains them."""
    manager = manager_for(tmp_path / "models")
    at = _train_settings(_open())
    at.run()  # a run in which no callback wrote a widget's key
    assert _shown(at.sidebar.number_input(key="train_epochs")) == manager.plan.epochs != 1
    assert _shown(at.sidebar.toggle(key="train_warm")) is manager.plan.warm_start
    assert _shown(at.sidebar.radio(key="neighbours_k")) == "8"
    at.sidebar.toggle(key="grid_show").set_value(True).run()
    at.run()
    assert _shown(at.sidebar.slider(key="grid_n")) == [15]
