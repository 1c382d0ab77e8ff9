"""Background training jobs: one job per configuration, a visible queue, cancel and failure
leave no model file, warm starts, and many sessions submitting at once."""
import dataclasses
import threading
import time

import numpy as np
import pytest
import torch
from conftest import SMALL, idx_bytes

from explorer import checkpoint as ckpt_io
from explorer import files, jobs, plans
from explorer import library as library_mod
from explorer.config import TrainConfig
from explorer.data import Split
from explorer.jobs import JobManager, JobState
from explorer.library import ModelLibrary
from explorer.plans import Plan, default_plan, training_config
from explorer.train import SNAPSHOT_SIZE

TINY = TrainConfig(epochs=2, batch_size=256, model=SMALL)  # about 0.1 s of training on 1,500 images
LONG = dataclasses.replace(TINY, epochs=500)  # runs until cancelled


@pytest.fixture(scope="module")
def splits(mnist_test):
    """1,500 real training images and 1,200 test images (more than the 1,000 the live embedding shows)."""
    return (Split(mnist_test.images[:1500], mnist_test.labels[:1500]),
            Split(mnist_test.images[1500:2700], mnist_test.labels[1500:2700]))


@pytest.fixture
def library(tmp_path):
    return ModelLibrary(tmp_path / "pretrained", tmp_path / "models")


@pytest.fixture
def make_manager(library, splits):
    made, threads = [], torch.get_num_threads()  # a manager sets the process's count; later tests get it back

    def make(**kwargs):
        kwargs = {"splits": splits, "iwae_k": 2, "report_every_s": 0.05, **kwargs}
        made.append(JobManager(kwargs.pop("library", library), **kwargs))
        return made[-1]

    yield make
    for manager in made:
        manager.close(timeout=30)
    torch.set_num_threads(threads)


def model_files(library):
    return sorted(p.name for p in library.user_dir.iterdir()) if library.user_dir.exists() else []


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_job_trains_reports_progress_and_lands_in_the_library(make_manager, library, splits):
    manager = make_manager()
    job = manager.submit(dataclasses.replace(TINY, lam=0.5))
    seen = []
    while job.status().state not in (JobState.DONE, JobState.FAILED):
        seen.append(job.status())
        time.sleep(0.005)
    status = job.wait(60)
    assert status.state == JobState.DONE, status.error
    assert [h.epoch for h in status.history] == [1, 2] and status.fraction == 1.0
    assert all(np.isfinite([h.recon, h.kl, h.loss]).all() for h in status.history)
    assert status.embedding.shape == (SNAPSHOT_SIZE, 2) and status.embedding_epoch == 2
    assert not status.embedding.flags.writeable
    np.testing.assert_array_equal(status.embedding_labels, splits[1].labels[:SNAPSHOT_SIZE])
    versions = [s.version for s in seen]
    assert versions == sorted(versions)
    phases = [s.phase for s in seen]
    assert phases.index("training") < phases.index("evaluating")
    entry = library.get(status.result)
    assert entry.key == job.key and entry.config.device == "cpu" and entry.metrics.n_images == 1200
    assert "from scratch" in entry.command
    assert model_files(library) == [f"{status.result}.safetensors"]
    assert manager.jobs() == [status]


def test_a_configuration_in_the_library_comes_back_finished(make_manager, library):
    manager = make_manager()
    first = manager.submit(TINY).wait(60)
    again = manager.submit(dataclasses.replace(TINY, threads=3), warm_start=True)  # threads: same config
    assert again.status().state == JobState.DONE and again.status().result == first.result
    assert len(manager.jobs()) == 1 and len(model_files(library)) == 1


def test_the_manager_sets_torch_threads_once_and_jobs_never_change_them(make_manager):
    manager = make_manager(threads=1)
    assert torch.get_num_threads() == 1
    status = manager.submit(dataclasses.replace(TINY, threads=2)).wait(60)
    assert status.state == JobState.DONE and torch.get_num_threads() == 1


def test_jobs_wait_in_a_visible_fifo_queue(make_manager, library):
    manager = make_manager(max_running=1)
    running = manager.submit(dataclasses.replace(LONG, lam=1.0))
    queued = [manager.submit(dataclasses.replace(TINY, lam=lam)) for lam in (2.0, 3.0)]
    wait_until(lambda: running.status().state == JobState.RUNNING)
    assert [j.status().position for j in queued] == [1, 2]
    assert [s.state for s in manager.jobs()] == [JobState.RUNNING, JobState.QUEUED, JobState.QUEUED]
    assert manager.cancel(queued[0].id) and queued[0].status().state == JobState.CANCELLED
    assert queued[1].status().position == 1
    assert manager.cancel(running.id)
    assert running.wait(30).state == JobState.CANCELLED
    assert queued[1].wait(60).state == JobState.DONE
    assert model_files(library) == [f"{queued[1].status().result}.safetensors"]
    assert not manager.cancel(queued[1].id) and not manager.cancel("job-999") and not manager.cancel(None)


def test_sessions_take_turns_in_the_queue(make_manager):
    manager = make_manager(max_running=1)
    running = manager.submit(dataclasses.replace(LONG, lam=1.0), session="a")
    wait_until(lambda: running.status().state == JobState.RUNNING)
    a_jobs = [manager.submit(dataclasses.replace(TINY, lam=lam), session="a") for lam in (2.0, 3.0)]
    b_job = manager.submit(dataclasses.replace(TINY, lam=4.0), session="b")
    # a was served last (its running job), so b's first job comes before a's next ones
    assert [b_job.status().position, *(j.status().position for j in a_jobs)] == [1, 2, 3]
    started = []
    for job in (b_job, *a_jobs):
        threading.Thread(target=lambda j=job: (wait_until(lambda: j.status().state != JobState.QUEUED, 120),
                                               started.append(j.id)), daemon=True).start()
    assert manager.cancel(running.id)
    assert all(j.wait(120).state == JobState.DONE for j in (b_job, *a_jobs))
    wait_until(lambda: len(started) == 3)
    assert started == [b_job.id, a_jobs[0].id, a_jobs[1].id]


def test_a_session_may_queue_only_so_much(make_manager):
    manager = make_manager(max_running=1)
    mine = [manager.submit(dataclasses.replace(LONG, lam=lam), session="a") for lam in (1.0, 2.0, 3.0)]
    with pytest.raises(jobs.QueueFull, match="already have 3 training jobs"):
        manager.submit(dataclasses.replace(TINY, lam=4.0), session="a")
    assert manager.submit(dataclasses.replace(LONG, lam=2.0), session="a") is mine[1]  # joining is free
    assert manager.submit(dataclasses.replace(LONG, lam=2.0), session="b") is mine[1]
    other = manager.submit(dataclasses.replace(TINY, lam=4.0), session="b")  # another session's own budget
    assert other.status().state == JobState.QUEUED
    for limit in (dict(epochs=501), dict(k=65), dict(lam=101.0)):
        with pytest.raises(ValueError, match="must be between"):
            manager.submit(dataclasses.replace(TINY, **limit), session="c")
    assert manager.cancel(mine[0].id) and mine[0].wait(30).state == JobState.CANCELLED
    assert manager.submit(dataclasses.replace(TINY, lam=5.0), session="a").status().active  # room again
    assert len(manager.submit(dataclasses.replace(TINY, epochs=600)).config.to_dict()) > 0  # no session: no limit


def test_cancel_mid_training_writes_nothing(make_manager, library):
    manager = make_manager()
    job = manager.submit(LONG)
    wait_until(lambda: job.status().epoch >= 1)
    assert manager.cancel(job.id)
    status = job.wait(30)
    assert status.state == JobState.CANCELLED and status.result is None
    assert model_files(library) == [] and library.entries() == []
    assert manager.submit(TINY).wait(60).state == JobState.DONE  # the worker lives on


def test_a_failing_job_reports_why_and_the_worker_lives_on(make_manager, library, splits, monkeypatch):
    wrong_shape = Split(np.zeros((300, 14, 14), np.uint8), np.zeros(300, np.uint8))
    manager = make_manager(splits=(wrong_shape, splits[1]))
    status = manager.submit(TINY).wait(60)
    assert status.state == JobState.FAILED and "the model expects (28, 28)" in status.error
    assert model_files(library) == []

    manager = make_manager()
    monkeypatch.setattr(files.os, "fsync", _disk_full)
    status = manager.submit(TINY).wait(60)
    assert status.state == JobState.FAILED and "No space left" in status.error
    assert model_files(library) == []  # the temp file went too
    monkeypatch.undo()
    assert manager.submit(TINY).wait(60).state == JobState.DONE  # failed jobs are not remembered as done


def _disk_full(fd):
    raise OSError(28, "No space left on device")


def test_warm_start_begins_from_the_nearest_model_and_leaves_it_alone(make_manager, library, small_checkpoint):
    shipped = ckpt_io.save(library.shipped_dir / "lam-1.safetensors", small_checkpoint)
    before = shipped.read_bytes()
    manager = make_manager()
    warm = manager.submit(dataclasses.replace(TINY, lam=1.2, epochs=1), warm_start=True).wait(60)
    cold = manager.submit(dataclasses.replace(TINY, lam=1.3, epochs=1)).wait(60)
    assert warm.state == cold.state == JobState.DONE
    assert warm.warm_from == "lam-1" and cold.warm_from is None
    assert "warm start from lam-1" in library.get(warm.result).command
    assert shipped.read_bytes() == before
    # one epoch on 1,500 images from scratch is far worse than continuing a trained model
    assert warm.history[0].recon < cold.history[0].recon - 20


def test_a_warm_start_whose_source_vanishes_takes_the_next_candidate(make_manager, library, small_checkpoint,
                                                                      monkeypatch):
    for lam in (1.0, 2.0):
        ckpt_io.save(library.shipped_dir / f"lam-{lam:g}.safetensors",
                     dataclasses.replace(small_checkpoint,
                                         config=dataclasses.replace(small_checkpoint.config, lam=lam)))
    real_load = ckpt_io.load

    def deleted_once_listed(path):  # the nearest model is deleted between the listing and the load
        if path.name == "lam-1.safetensors":
            path.unlink()
        return real_load(path)

    monkeypatch.setattr(library_mod.ckpt_io, "load", deleted_once_listed)
    status = make_manager().submit(dataclasses.replace(TINY, lam=1.2, epochs=1), warm_start=True).wait(60)
    assert status.state == JobState.DONE, status.error
    assert status.warm_from == "lam-2" and "warm start from lam-2" in library.get(status.result).command


def test_a_warm_start_with_no_readable_source_trains_from_scratch(make_manager, library, small_checkpoint,
                                                                  monkeypatch):
    source = ckpt_io.save(library.shipped_dir / "lam-1.safetensors", small_checkpoint)
    real_load = ckpt_io.load

    def corrupted_once_listed(path):
        path.write_bytes(path.read_bytes()[:5000])
        return real_load(path)

    monkeypatch.setattr(library_mod.ckpt_io, "load", corrupted_once_listed)
    status = make_manager().submit(dataclasses.replace(TINY, lam=1.2, epochs=1), warm_start=True).wait(60)
    assert status.state == JobState.DONE, status.error
    assert status.warm_from is None and "from scratch" in library.get(status.result).command
    assert [p.name for p in library.problems()] == [source.name]  # the broken file shows as a problem


def test_the_default_plan_trains_to_convergence_on_a_gpu_and_warm_starts_on_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_plan() == Plan("cpu", True, plans.DEFAULT_WARM_EPOCHS, plans.DEFAULT_SCRATCH_EPOCHS)
    assert default_plan().epochs == plans.DEFAULT_WARM_EPOCHS
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    plan = default_plan()
    assert plan == Plan("cuda", False, plans.DEFAULT_WARM_EPOCHS, plans.CONVERGED_EPOCHS) and plan.epochs == 400
    assert plans.EPOCHS_RANGE[0] <= plan.epochs <= plans.EPOCHS_RANGE[1]
    assert default_plan("cpu").device == "cpu"


def test_a_manager_on_a_missing_device_is_refused_at_once(library):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(ValueError, match="device cuda is not available"):
        JobManager(library, device="cuda")


def test_data_is_read_from_an_idx_folder(tmp_path, library, mnist_test, make_manager):
    folder = tmp_path / "mnist-subset"
    folder.mkdir()
    for stem, array in {"train-images-idx3-ubyte": mnist_test.images[:600],
                        "train-labels-idx1-ubyte": mnist_test.labels[:600],
                        "t10k-images-idx3-ubyte": mnist_test.images[600:800],
                        "t10k-labels-idx1-ubyte": mnist_test.labels[600:800]}.items():
        (folder / stem).write_bytes(idx_bytes(array))
    manager = make_manager(splits=None, data_dir=folder)
    status = manager.submit(TINY).wait(60)
    assert status.state == JobState.DONE, status.error
    assert status.embedding.shape == (200, 2) and library.get(status.result).metrics.n_images == 200


def test_many_sessions_get_exactly_one_job_per_configuration(make_manager, library):
    manager = make_manager(max_running=2)
    configs = [dataclasses.replace(TINY, lam=lam) for lam in (0.1, 0.2, 0.3, 0.4)]
    configs.append(dataclasses.replace(TINY, lam=0.1, reconstruction="mse"))
    n_sessions, barrier, errors = 12, threading.Barrier(12), []
    got = [[] for _ in range(n_sessions)]
    running_at_once = [0]

    def session(i):
        try:
            barrier.wait()
            for _ in range(3):
                for config in configs[i % 3:] + configs[: i % 3]:  # each session in its own order
                    got[i].append(manager.submit(dataclasses.replace(config, threads=i % 2), warm_start=i % 2))
                running_at_once[0] = max(running_at_once[0],
                                         sum(s.state == JobState.RUNNING for s in manager.jobs()))
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(n_sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    jobs = {id(job): job for session_jobs in got for job in session_jobs}
    statuses = [job.wait(120) for job in jobs.values()]
    assert all(s.state == JobState.DONE for s in statuses), [s.error for s in statuses]
    # a session arriving after a job finished gets a finished handle, never a second run
    trained = manager.jobs()
    assert len(trained) == len(configs) and running_at_once[0] <= 2
    assert sorted(s.result for s in trained) == sorted({s.result for s in statuses})
    assert len(model_files(library)) == len(configs) == len(library.entries())
    for config in configs:
        results = {job.status().result for session_jobs in got for job in session_jobs if job.key == config.key}
        assert results == {library.find(config).id}


@pytest.mark.parametrize("kwargs, message", [
    (dict(lam=-0.1), "lambda must be between 0 and 100"),
    (dict(lam=150), "lambda must be between 0 and 100"),
    (dict(lam=float("nan")), "lambda must be between"),
    (dict(lam="1"), "lambda must be a number, got str"),
    (dict(lam=True), "lambda must be a number"),
    (dict(lam=1, epochs=0), "epochs must be between 1 and 500"),
    (dict(lam=1, epochs=2.5), "epochs must be a whole number, got float"),
    (dict(lam=1, k=100), "samples per image K must be between 1 and 64"),
    (dict(lam=1, seed=-1), "seed must be between"),
    (dict(lam=1, reconstruction="l1"), "reconstruction must be one of bce, mse"),
    (dict(lam=1, reconstruction=None), "reconstruction must be one of"),
])
def test_page_settings_are_checked_with_clear_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        training_config(**kwargs)


def test_page_settings_build_the_config():
    config = training_config(np.float32(0.7), epochs=np.int64(12), reconstruction="mse", k=2, seed=3, base=TINY)
    assert config == dataclasses.replace(TINY, lam=float(np.float32(0.7)), epochs=12, reconstruction="mse", k=2,
                                         seed=3)
    assert type(config.epochs) is int


def test_submit_refuses_what_is_not_a_config(make_manager):
    with pytest.raises(ValueError, match="expected a TrainConfig"):
        make_manager().submit({"lam": 1})


def test_one_shared_manager_per_process(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(jobs, "_shared", None)
    threads = torch.get_num_threads()
    managers = []
    sessions = [threading.Thread(target=lambda: managers.append(jobs.shared_manager())) for _ in range(8)]
    for t in sessions:
        t.start()
    for t in sessions:
        t.join()
    try:
        assert len({id(m) for m in managers}) == 1
        assert managers[0].library.user_dir == tmp_path / "models"
    finally:
        managers[0].close(timeout=30)
        torch.set_num_threads(threads)


def test_on_saved_runs_in_the_worker_before_the_job_reports_done(make_manager):
    calls = []
    manager = make_manager(on_saved=lambda entry: calls.append((entry.id, job.status().state)))
    job = manager.submit(TINY)
    status = job.wait(60)
    assert status.state == JobState.DONE and calls == [(status.result, JobState.RUNNING)]


def test_a_failing_on_saved_is_logged_and_the_job_still_succeeds(make_manager, library, caplog):
    def broken(entry):
        raise OSError("disk full")

    status = make_manager(on_saved=broken).submit(TINY).wait(60)
    assert status.state == JobState.DONE and library.get(status.result).path.is_file()
    assert "preparing the new model" in caplog.text and "disk full" in caplog.text


def test_the_page_finds_a_new_models_plane_files_and_density_level_ready(make_manager, library, splits, tmp_path,
                                                                          monkeypatch):
    from explorer import assets, density, formats
    from explorer.ui import resources
    static = tmp_path / "static"
    train, test = splits
    monkeypatch.setattr(resources, "STATIC_DIR", static)
    monkeypatch.setattr(resources, "images", {"train": train, "test": test}.get)  # the data the jobs train on
    resources._published_plane.clear()
    status = make_manager(on_saved=resources.publish_new_model).submit(TINY).wait(60)
    assert status.state == JobState.DONE, status.error
    arrays = formats.read_plane_arrays(library.get(status.result).path)
    names = assets.model_asset_names(arrays)
    assert all((static / assets.CACHE_SUBDIR / name).is_file() for name in names), names
    level = density.density_level(arrays.test_mu, arrays.test_logvar)
    monkeypatch.setattr(density, "density_level", lambda *a: pytest.fail("the level was computed again"))
    assert assets.publish_plane(static, arrays, test.images, train.images).density_level == level
    monkeypatch.setattr(assets, "publish_plane", lambda *a: pytest.fail("the page published the model again"))
    try:
        assert resources.plane_assets(*resources.stamp(library.get(status.result).path)).density_level == level
    finally:
        resources._published_plane.clear()


def test_the_pages_manager_publishes_each_new_model(monkeypatch):
    from explorer.ui import resources
    given = []
    monkeypatch.setattr(jobs, "shared_manager", lambda on_saved=None: given.append(on_saved) or "manager")
    resources.manager.clear()
    try:
        assert resources.manager() == "manager" and given == [resources.publish_new_model]
    finally:
        resources.manager.clear()
