"""The model library: shipped checkpoints beside user-trained ones, listed from their headers.

Listing reads only each file's safetensors header (its JSON metadata), never the weights, so
the page can list the library on every rerun. A file that cannot be read is reported as a
`LibraryProblem` with its reason and skipped; it never breaks the listing. Only regular files
are read (a named pipe would block the reader forever). Temp files of an interrupted save
(`.name.XXXX.explorer.tmp`, see files.write_atomic) are not model files and are never listed.

A `Listing` is one snapshot of both folders; `find`, `with_lam` and `nearest` answer from it,
so a caller with several questions lists the folders once. Dials (one network for a range of
lambdas, `explorer.dial`) are listed apart from the models of one lambda: a dial is not the model
of its config's lambda, and the plane's slider turns it rather than picking it at a stop; `get`
finds either. So are models trained on binarised images (`TrainConfig.binarize`): their figures
are on another test set, so they belong on neither the grey-scale models' slider nor their
rate-distortion chart.

User models are named from their training config (`lam-0.7_e20_bce_k1_s0_<hash>.safetensors`),
never from user text, and an id from the UI reaches the filesystem only after it is found in
the current listing.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from . import checkpoint as ckpt_io
from . import files
from .checkpoint import Checkpoint
from .classifier import SHIPPED as SHIPPED_CLASSIFIER
from .config import TrainConfig, canonical
from .evaluate import Metrics
from .train import EpochStats

log = logging.getLogger(__name__)
REPO_DIR = Path(__file__).resolve().parent.parent
SHIPPED_DIR = REPO_DIR / "pretrained"
USER_DIR_ENV = "EXPLORER_MODELS_DIR"  # where user-trained models go; default <repo>/models
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,120}")


class LibraryError(ValueError):
    """A library request that cannot be honoured: unknown id, deleting a shipped model."""


def default_user_dir() -> Path:
    return Path(os.environ.get(USER_DIR_ENV) or REPO_DIR / "models")


def file_stem(config: TrainConfig) -> str:
    """The file name (without extension) of a user model, built only from validated settings."""
    digest = hashlib.sha256(config.key.encode()).hexdigest()[:8]
    stem = f"lam-{config.lam:g}_e{config.epochs}_{config.reconstruction}_k{config.k}_s{config.seed}_{digest}"
    if not _ID.fullmatch(stem):  # cannot happen for a validated TrainConfig; the filesystem gets nothing odd
        raise LibraryError(f"cannot name a model file {stem!r}")
    return stem


@dataclass(frozen=True)
class LibraryEntry:
    """One model file, as its header describes it."""

    id: str  # the file stem; unique across the library
    path: Path
    config: TrainConfig
    metrics: Metrics | None  # test-set figures recorded at training time
    shipped: bool  # shipped models are read-only
    epochs_trained: int
    train_seconds: float | None
    command: str  # how it was made

    @property
    def lam(self) -> float:
        return self.config.lam

    @property
    def key(self) -> str:
        return self.config.key

    @property
    def title(self) -> str:
        """How the page names the model: its lambda, then its `origin` ("λ = 0.3 · trained here, 5 epochs")."""
        return f"λ = {self.lam:g} · {self.origin}"

    @property
    def origin(self) -> str:
        """Where the model comes from, and what sets it apart from the shipped recipe:
        "shipped", "trained here, 5 epochs, K = 4"."""
        c, base = self.config, TrainConfig()
        parts = [f"{self.epochs_trained} epochs"] if not self.shipped else []
        if c.reconstruction != base.reconstruction:
            parts.append("squared error" if c.reconstruction == "mse" else c.reconstruction)
        if c.k != base.k:
            parts.append(f"K = {c.k}")
        if c.seed != base.seed:
            parts.append(f"seed {c.seed}")
        return ", ".join(["shipped" if self.shipped else "trained here", *parts])


@dataclass(frozen=True)
class LibraryProblem:
    """A file in a library folder that is not a usable model."""

    name: str  # file name only
    message: str


@dataclass(frozen=True)
class Listing:
    """One snapshot of the library's folders."""

    entries: tuple[LibraryEntry, ...]  # sorted by lambda, shipped first
    problems: tuple[LibraryProblem, ...]  # files skipped, with why
    dials: tuple[LibraryEntry, ...] = ()  # lambda dials (config.lam_range set), by id
    binarized: tuple[LibraryEntry, ...] = ()  # models trained on binarised images (not dials), by id

    def find(self, config: TrainConfig) -> LibraryEntry | None:
        """A model trained with this configuration (see `TrainConfig.key`), shipped ones first."""
        key = config.key
        return next((e for e in self.entries if e.key == key), None)

    def with_lam(self, lam: float) -> list[LibraryEntry]:
        """Every model trained at this lambda, shipped first."""
        return [e for e in self.entries if canonical(e.lam) == canonical(float(lam))]

    def warm_starts(self, config: TrainConfig) -> list[LibraryEntry]:
        """Models that can warm-start `config`, best first: same network shape, same
        reconstruction cost if there is one, then the closest lambda; shipped models win ties."""
        fits = [e for e in self.entries if e.config.model.shape == config.model.shape]
        return sorted(fits, key=lambda e: (e.config.reconstruction != config.reconstruction,
                                           abs(e.lam - config.lam), not e.shipped, e.id))

    def nearest(self, config: TrainConfig) -> LibraryEntry | None:
        """The best warm start for `config` (the first of `warm_starts`)."""
        return next(iter(self.warm_starts(config)), None)


class ModelLibrary:
    """Shipped models (read-only) and user-trained models (added and deleted here).

    Thread-safe: listings are rebuilt from the folders on each call (header reads are cached
    by file size and mtime), so what another thread or process wrote or deleted shows up.
    """

    def __init__(self, shipped_dir: str | Path = SHIPPED_DIR, user_dir: str | Path | None = None):
        self.shipped_dir = Path(shipped_dir)
        self.user_dir = Path(user_dir) if user_dir is not None else default_user_dir()
        self._lock = threading.Lock()
        self._headers: dict[Path, tuple[tuple[int, int], LibraryEntry | LibraryProblem]] = {}

    # Listing ---------------------------------------------------------------------------------

    def listing(self) -> Listing:
        entries: dict[str, LibraryEntry] = {}
        dials: list[LibraryEntry] = []
        binarized: list[LibraryEntry] = []
        problems: list[LibraryProblem] = []
        seen: set[Path] = set()
        for folder, shipped in ((self.shipped_dir, True), (self.user_dir, False)):
            for path in _model_files(folder):
                if shipped and path.name == SHIPPED_CLASSIFIER.name:
                    continue  # the judge of decodes (explorer.classifier) ships beside the models but is none
                seen.add(path)
                item = self._read_cached(path, shipped)
                if item is None:
                    continue  # vanished between listing and reading: deleted, not broken
                if isinstance(item, LibraryProblem):
                    problems.append(item)
                elif item.id in entries or item.id in {d.id for d in (*dials, *binarized)}:
                    problems.append(LibraryProblem(path.name, f"same name as the shipped model {item.id}; skipped"))
                elif item.config.dial:
                    dials.append(item)
                elif item.config.binarize:
                    binarized.append(item)
                else:
                    entries[item.id] = item
        with self._lock:
            for path in set(self._headers) - seen:
                del self._headers[path]
        ordered = sorted(entries.values(), key=lambda e: (e.lam, not e.shipped, e.id))
        apart = lambda items: tuple(sorted(items, key=lambda e: (not e.shipped, e.id)))  # noqa: E731
        return Listing(tuple(ordered), tuple(problems), apart(dials), apart(binarized))

    def entries(self) -> list[LibraryEntry]:
        return list(self.listing().entries)

    def problems(self) -> list[LibraryProblem]:
        return list(self.listing().problems)

    def get(self, entry_id: str, listing: Listing | None = None) -> LibraryEntry:
        """The entry (a model or a dial) with this id in `listing` (default: a fresh one); `LibraryError` otherwise."""
        if not isinstance(entry_id, str) or not _ID.fullmatch(entry_id):
            raise LibraryError(f"not a model id: {entry_id!r}")
        listing = listing or self.listing()
        for entry in (*listing.entries, *listing.dials):
            if entry.id == entry_id:
                return entry
        raise LibraryError(f"no model {entry_id!r} in the library")

    # One question, one fresh listing; several questions: ask one `listing()`.
    def find(self, config: TrainConfig) -> LibraryEntry | None:
        return self.listing().find(config)

    def with_lam(self, lam: float) -> list[LibraryEntry]:
        return self.listing().with_lam(lam)

    def nearest(self, config: TrainConfig) -> LibraryEntry | None:
        return self.listing().nearest(config)

    # Reading and writing ---------------------------------------------------------------------

    def load(self, entry_id: str, listing: Listing | None = None) -> Checkpoint:
        """The full checkpoint (a fresh model each call: callers may share it, never mutate it)."""
        return ckpt_io.load(self.get(entry_id, listing).path)

    def add(self, ckpt: Checkpoint) -> LibraryEntry:
        """Save a newly trained model into the user folder (atomically) and return its entry."""
        path = ckpt_io.save(self.user_dir / f"{file_stem(ckpt.config)}{ckpt_io.EXTENSION}", ckpt)
        entry = self._read_cached(path, shipped=False)
        if not isinstance(entry, LibraryEntry):
            raise LibraryError(f"{path.name}: saved but unreadable ({getattr(entry, 'message', 'vanished')})")
        return entry

    def delete(self, entry_id: str) -> None:
        """Delete a user-trained model; shipped ones are refused."""
        entry = self.get(entry_id)
        if entry.shipped:
            raise LibraryError(f"{entry_id} is a shipped model and cannot be deleted")
        entry.path.unlink(missing_ok=True)

    def sweep_temp_files(self, min_age_s: float = files.DEFAULT_TEMP_AGE_S) -> list[str]:
        """Remove temp files that an interrupted save left in the user folder (never listed
        anyway); younger ones may belong to a save in progress in another process."""
        return files.sweep_temp_files(self.user_dir, min_age_s)

    def _read_cached(self, path: Path, shipped: bool) -> LibraryEntry | LibraryProblem | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as e:
            return LibraryProblem(path.name, f"cannot read ({e.strerror}); skipped")
        if not stat.S_ISREG(st.st_mode):  # a named pipe or device would block or never end
            return LibraryProblem(path.name, "not a regular file; skipped")
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._headers.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        item = _read_header(path, shipped)
        if item is not None:
            with self._lock:
                self._headers[path] = (stamp, item)
        return item


def _model_files(folder: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [folder / n for n in names if n.endswith(ckpt_io.EXTENSION) and not n.startswith(".")]


def _read_header(path: Path, shipped: bool) -> LibraryEntry | LibraryProblem | None:
    try:
        header = ckpt_io.read_header(path)
    except ckpt_io.CheckpointError as e:
        if not path.exists():
            return None  # deleted since the folder was listed
        return LibraryProblem(path.name, str(e).removeprefix(f"{path}: "))
    except Exception as e:  # the reader's own error is the contract; anything else still costs only this file
        log.exception("reading the header of %s", path)
        return LibraryProblem(path.name, f"unreadable ({type(e).__name__}); skipped")
    if not _ID.fullmatch(path.stem):
        return LibraryProblem(path.name, "file name has characters a model id may not have; skipped")
    try:
        seconds = EpochStats.from_dict(header.history[-1]).elapsed_s if header.history else None
    except ValueError as e:
        return LibraryProblem(path.name, f"history is not readable ({e}); skipped")
    return LibraryEntry(path.stem, path, header.config, header.metrics, shipped, len(header.history), seconds,
                        header.command)
