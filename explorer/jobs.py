"""Background training shared across browser sessions: one job per configuration, a fair queue.

A `JobManager` owns a few worker threads (one by default: the machine has two cores and one
is the web server's). `submit` returns the job already queued or running for the same
configuration (see `TrainConfig.key`), so two tabs asking for one lambda share one job;
a configuration already in the library comes back as a finished job at once.

The queue is fair (`fair_queue.FairQueue`): sessions take turns (round-robin), so one session's
many jobs never hold back another session's first. A page passes its session id to `submit`; such a session may
have at most MAX_ACTIVE_PER_SESSION jobs queued or running, each within `plans.PAGE_LIMITS` (epochs,
K, lambda). Calls without a session (tests, benchmarks, scripts) are not limited.

Jobs train on the manager's device: a CUDA GPU when there is one (`TrainConfig.device`
"auto"). `plans.default_plan` says how the page should train a new lambda there, and
`plans.training_config` turns the page's controls into a config within PAGE_LIMITS.

Threads: `torch.set_num_threads` is process-wide, so the manager sets it once, in its
constructor (1 by default), and jobs never change it (their `TrainConfig.threads` is
ignored). One torch thread keeps training from starving the server and the page's own
decodes: torch's threads wait for each other, so two stall whenever anything else wants a core.

Nothing here imports Streamlit. Workers publish progress into each job under a lock as
immutable `JobStatus` snapshots; the page polls `job.status()` (from `st.fragment(run_every=...)`).
Models are written only by `ModelLibrary.add` (atomic temp + rename) after training and
evaluation succeed: cancel, failure or a killed process leave no model file.

    manager = shared_manager()                     # once per process, before the page decodes
    plan = manager.plan                            # warm_start, epochs for this machine
    job = manager.submit(training_config(0.7, epochs=plan.epochs), warm_start=plan.warm_start, session=session_id)
    status = job.status()                          # from st.fragment(run_every=1.0)
    status.fraction, status.history, status.embedding, status.position, status.error
    manager.cancel(job.id)
    if status.state == JobState.DONE: ckpt = manager.library.load(status.result)

One manager per process: two server processes would each run their own jobs (their models
still land in the same library, under names derived from the config).
"""
from __future__ import annotations

import dataclasses
import enum
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt_io
from .config import TrainConfig, check_setting
from .data import DEFAULT_DIR, Split, load_split
from .fair_queue import FairQueue
from .library import LibraryEntry, LibraryError, ModelLibrary
from .model import VAE
from .pipeline import fit
from .plans import PAGE_LIMITS, default_plan
from .train import SNAPSHOT_SIZE, Cancelled, EpochStats, Progress

log = logging.getLogger(__name__)

REPORT_EVERY_S = 0.5  # progress updates; the page redraws about every second
JOB_IWAE_K = 10  # IWAE samples per test image when a job evaluates its model on the CPU, where 100 are slow
GPU_IWAE_K = 100  # on a GPU, the shipped models' figure costs well under a second
MAX_ACTIVE_PER_SESSION = 3  # jobs one browser session may have queued or running at once


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True, eq=False)  # eq would compare arrays; snapshots are compared by version
class JobStatus:
    """An immutable snapshot of one job; arrays in it are read-only."""

    id: str
    state: JobState
    config: TrainConfig
    warm_start: bool  # asked for
    warm_from: str | None = None  # library id the job started from, once running
    position: int | None = None  # 1-based place in the queue while queued
    phase: str = "queued"  # "loading data", "training", "evaluating", "saving", or the final state
    epoch: int = 0  # epochs completed
    fraction: float = 0.0  # of the training steps, 0..1
    recon: float | None = None  # running means of the current epoch
    kl: float | None = None
    loss: float | None = None
    history: tuple[EpochStats, ...] = ()  # one row per finished epoch
    embedding: np.ndarray | None = None  # (SNAPSHOT_SIZE, latent_dim) mu of fixed test images, latest epoch end
    embedding_labels: np.ndarray | None = None  # (SNAPSHOT_SIZE,) their digits
    embedding_epoch: int = 0  # the epoch `embedding` is from; 0 = none yet
    elapsed_s: float = 0.0  # since training started
    error: str | None = None  # why it failed
    result: str | None = None  # library id of the finished model
    version: int = 0  # bumps on every change; the page can skip redraws when it has not moved

    @property
    def epochs(self) -> int:
        return self.config.epochs

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


class QueueFull(ValueError):
    """A session asked for more jobs than it may have queued or running at once."""


class Job:
    """One training run. Read it through `status()`; change it only through the manager."""

    def __init__(self, job_id: str, config: TrainConfig, warm_start: bool, session=None):
        self.id, self.config, self.key, self.warm_start = job_id, config, config.key, warm_start
        self.session = session  # who queued it: the queue takes turns between sessions
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._status = JobStatus(job_id, JobState.QUEUED, config, warm_start)

    def status(self) -> JobStatus:
        with self._lock:
            return self._status

    def wait(self, timeout: float | None = None) -> JobStatus:
        """Block until the job is done, failed or cancelled (or the timeout passes)."""
        self._finished.wait(timeout)
        return self.status()

    def _update(self, **changes) -> None:
        with self._lock:
            self._status = dataclasses.replace(self._status, version=self._status.version + 1, **changes)
            if self._status.state not in ACTIVE:
                self._finished.set()

    def _on_progress(self, p: Progress, labels: np.ndarray) -> None:
        steps_per_epoch = p.steps // p.epochs
        end_of_epoch = p.step == p.epoch * steps_per_epoch
        changes = dict(epoch=p.epoch if end_of_epoch else p.epoch - 1, fraction=p.fraction,
                       recon=p.recon, kl=p.kl, loss=p.loss, elapsed_s=p.elapsed_s)
        if end_of_epoch:
            changes["history"] = self.status().history + (EpochStats(p.epoch, p.recon, p.kl, p.loss, p.elapsed_s),)
        if p.snapshot is not None:
            snapshot = p.snapshot.copy()
            snapshot.flags.writeable = False
            changes.update(embedding=snapshot, embedding_labels=labels[: len(snapshot)], embedding_epoch=p.epoch)
        self._update(**changes)


class JobManager:
    """Queue and run training jobs in background threads; see the module docstring."""

    def __init__(self, library: ModelLibrary, data_dir: str | Path = DEFAULT_DIR, max_running: int = 1,
                 threads: int = 1, splits: tuple[Split, Split] | None = None, iwae_k: int | None = None,
                 report_every_s: float = REPORT_EVERY_S, device: str = "auto",
                 on_saved: Callable[[LibraryEntry], None] | None = None):
        """`splits` (train, test) injects data instead of reading `data_dir` (tests, benchmarks).
        `device` (a TrainConfig device name) is where every job trains; `iwae_k` defaults to
        JOB_IWAE_K on the CPU and GPU_IWAE_K on a GPU. `on_saved(entry)` runs in the
        worker after a model is saved and before its job reports done: the page prepares what
        it will show of the model there. Its failure is logged; the job still succeeds."""
        if max_running < 1:
            raise ValueError(f"max_running must be >= 1, got {max_running}")
        self.plan = default_plan(device)  # DeviceError now, not in every job, if it is not there
        if threads:
            torch.set_num_threads(threads)  # process-wide, once: see the module docstring
        if iwae_k is None:
            iwae_k = JOB_IWAE_K if self.plan.device == "cpu" else GPU_IWAE_K
        self.library, self.data_dir, self.iwae_k, self.report_every_s = library, Path(data_dir), iwae_k, report_every_s
        self._on_saved = on_saved
        self._splits_value = splits
        self._splits_lock = threading.Lock()
        self._cond = threading.Condition()
        self._queue = FairQueue()
        self._jobs: dict[str, Job] = {}  # every job, in submit order
        self._active: dict[str, Job] = {}  # config key -> queued or running job
        self._ids = itertools.count(1)
        self._closed = False
        library.sweep_temp_files()
        self._workers = [threading.Thread(target=self._work, name=f"explorer-job-worker-{i}", daemon=True)
                         for i in range(max_running)]
        for worker in self._workers:
            worker.start()

    # The page's side -------------------------------------------------------------------------

    def submit(self, config: TrainConfig, warm_start: bool = False, session=None) -> Job:
        """The job for this configuration: the one queued or running, a finished one if the
        library already holds the model, or a new one queued for `session` (any hashable id).

        Warm start picks the nearest library model when the job starts (a job finished
        meanwhile may be nearer). It does not make a different configuration: a warm-started
        job and a scratch one for the same config are the same job. With a session, the config
        must lie within PAGE_LIMITS and a new job must not exceed MAX_ACTIVE_PER_SESSION
        (`QueueFull`); joining a job already queued or running is always allowed.
        """
        if not isinstance(config, TrainConfig):
            raise ValueError(f"expected a TrainConfig, got {type(config).__name__}")
        if session is not None:
            for name, limits in PAGE_LIMITS.items():
                check_setting(name, getattr(config, name), limits)
        key = config.key
        with self._cond:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            job = self._active.get(key)
            if job is not None:
                return job
            job = Job(f"job-{next(self._ids)}", config, bool(warm_start), session)
            entry = self.library.find(config)
            if entry is not None:
                job._update(state=JobState.DONE, phase="in library", result=entry.id, epoch=entry.epochs_trained,
                            fraction=1.0)
                return job  # not listed in jobs(): nothing ran
            if session is not None and sum(j.session == session for j in self._active.values()) \
                    >= MAX_ACTIVE_PER_SESSION:
                raise QueueFull(f"you already have {MAX_ACTIVE_PER_SESSION} training jobs queued or running; "
                                "wait for one to finish or cancel one")
            self._jobs[job.id] = job
            self._active[key] = job
            self._queue.append(job)
            self._renumber_queue()
            self._cond.notify()
            return job

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False if it is unknown, finished, or already saving."""
        with self._cond:
            job = self._jobs.get(job_id) if isinstance(job_id, str) else None
            if job is None or not job.status().active:
                return False
            if job in self._queue:
                self._queue.remove(job)
                self._retire(job, state=JobState.CANCELLED, phase="cancelled", position=None)
                self._renumber_queue()
                return True
            if job.status().phase == "saving":
                return False
            job._cancel.set()
            return True

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id) if isinstance(job_id, str) else None

    def jobs(self) -> list[JobStatus]:
        """Every job this process ran or queued, in submit order."""
        with self._cond:
            return [job.status() for job in self._jobs.values()]

    def close(self, timeout: float | None = None) -> None:
        """Cancel everything and stop the workers (tests, benchmarks; the server just exits)."""
        with self._cond:
            self._closed = True
            for job in list(self._queue):
                self._retire(job, state=JobState.CANCELLED, phase="cancelled", position=None)
            self._queue.clear()
            for job in self._active.values():
                job._cancel.set()
            self._cond.notify_all()
        for worker in self._workers:
            worker.join(timeout)

    def preload(self) -> tuple[Split, Split]:
        """Read the train and test splits now (workers do it anyway before their first job)."""
        with self._splits_lock:
            if self._splits_value is None:
                self._splits_value = (load_split("train", self.data_dir), load_split("test", self.data_dir))
            return self._splits_value

    # The workers' side -----------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self.preload()  # while the page is still loading, so the first job starts at once
        except Exception:  # reported by each job that needs the data
            log.exception("could not read the training data from %s", self.data_dir)
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._queue.popleft()
                job._update(state=JobState.RUNNING, phase="loading data", position=None)
                self._renumber_queue()
            final = self._run(job)
            with self._cond:
                self._retire(job, **final)

    def _run(self, job: Job) -> dict:
        """Train, evaluate and save one job; returns its final status fields. Never raises."""
        try:
            splits = self.preload()
            init, warm_from = self._warm_start(job.config) if job.warm_start else (None, None)
            job._update(warm_from=warm_from)
            # Never touch the process-wide thread count; train where the manager trains.
            run_config = dataclasses.replace(job.config, threads=0, device=self.plan.device)
            labels = splits[1].labels[:SNAPSHOT_SIZE].copy()
            labels.flags.writeable = False  # handed to every status snapshot
            phases = {"training": {}, "evaluating": {"fraction": 1.0}}
            ckpt = fit(run_config, self.data_dir, on_progress=lambda p: job._on_progress(p, labels),
                       cancel=job._cancel, init=init, iwae_k=self.iwae_k, command=_describe(job.config, warm_from),
                       splits=splits, on_phase=lambda phase: job._update(phase=phase, **phases[phase]),
                       report_every_s=self.report_every_s)
            with self._cond:  # cancel() and this check agree on whether it came in time
                if job._cancel.is_set():
                    raise Cancelled()
                job._update(phase="saving")
            entry = self.library.add(ckpt)
            if self._on_saved is not None:
                try:
                    self._on_saved(entry)
                except Exception:
                    log.exception("preparing the new model %s for the page failed", entry.id)
            return dict(state=JobState.DONE, phase="done", result=entry.id, epoch=len(ckpt.history))
        except Cancelled:
            return dict(state=JobState.CANCELLED, phase="cancelled")
        except Exception as e:
            log.exception("training job %s (lambda %g) failed", job.id, job.config.lam)
            return dict(state=JobState.FAILED, phase="failed", error=f"{type(e).__name__}: {e}")

    def _warm_start(self, config: TrainConfig) -> tuple[VAE | None, str | None]:
        """The best library model that still loads, and its id; (None, None) for scratch. A
        candidate deleted or broken since the listing is skipped for the next one."""
        listing = self.library.listing()
        for entry in listing.warm_starts(config):
            try:
                return self.library.load(entry.id, listing).model, entry.id  # train() copies it
            except (LibraryError, ckpt_io.CheckpointError, OSError) as e:
                log.warning("warm start from %s skipped: %s", entry.id, e)
        return None, None

    def _retire(self, job: Job, **final) -> None:
        """Mark a job finished; call with the manager's lock held."""
        job._update(**final)
        if self._active.get(job.key) is job:
            del self._active[job.key]

    def _renumber_queue(self) -> None:
        for position, job in enumerate(self._queue, start=1):
            if job.status().position != position:
                job._update(position=position)


def _describe(config: TrainConfig, warm_from: str | None) -> str:
    start = f"warm start from {warm_from}" if warm_from else "from scratch"
    return (f"explorer.jobs: lambda {config.lam:g}, {config.epochs} epochs, {config.reconstruction}, "
            f"K={config.k}, seed {config.seed}, {start}")


_shared: JobManager | None = None
_shared_lock = threading.Lock()


def shared_manager(on_saved: Callable[[LibraryEntry], None] | None = None) -> JobManager:
    """The one manager of this process, over the default library and data; `on_saved` is
    given to the manager the first call makes (see `JobManager`).

    The page wraps it in st.cache_resource; being a process singleton as well means a cleared
    cache never starts a second set of workers next to the first.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = JobManager(ModelLibrary(), on_saved=on_saved)
        return _shared

