"""Everything the page loads once and shares between sessions: plane files, models, images, jobs.

Models are keyed by (path, mtime), so a file replaced on disk is picked up without a restart.
Only `plane_assets` and `images` are torch-free: the page calls them before the plane paints,
and everything else after it.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from explorer import assets, formats
from explorer.data import load_split, split_files

from .session import Explored

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "pretrained" / "lam-1.safetensors"
STATIC_DIR = assets.APP_STATIC_DIR  # served at app/static (server.enableStaticServing)
MODEL_ENV = "EXPLORER_MODEL"  # the starting model; user-trained models go to $EXPLORER_MODELS_DIR


def starting_path() -> Path:
    return Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


def stamp(path: str | Path) -> tuple[str, float]:
    """(path, mtime) of a model file: the cache key of everything made from it (0 if it is missing)."""
    path = Path(path)
    try:
        return str(path), path.stat().st_mtime
    except OSError:
        return str(path), 0.0


@st.cache_resource(show_spinner=False)
def images(split: str):
    return load_split(split)


def plane_assets(path: str, mtime: float) -> assets.PlaneAssets:
    """What the in-browser plane fetches for this model, published once and again if the cache
    has pruned any of its files since (AssetError, DataError if it cannot be)."""
    plane = _published_plane(path, mtime)
    if not assets.all_published(STATIC_DIR, plane):
        _published_plane.clear(path, mtime)
        plane = _published_plane(path, mtime)
    return plane


@st.cache_resource(show_spinner=False)
def _published_plane(path: str, mtime: float) -> assets.PlaneAssets:
    """Published once per file and process; a restarted server finds the answer kept on disk
    (`assets.write_manifest`) and reads neither the model's arrays nor the datasets."""
    key = assets.manifest_key([path, *split_files("test"), *split_files("train")])
    known = assets.read_manifest(STATIC_DIR, key)
    if known is not None and assets.all_published(STATIC_DIR, known):
        return known
    arrays = formats.read_plane_arrays(path)
    plane = assets.publish_plane(STATIC_DIR, arrays, images("test").images, images("train").images)
    assets.write_manifest(STATIC_DIR, key, plane)
    return plane


JUDGE = ROOT / "pretrained" / "classifier.safetensors"


def judge() -> assets.JudgeAssets | None:
    """The shipped digit classifier, published for the browser; None if it is missing or unreadable
    (the page then shows decodes unjudged)."""
    judged = _published_judge(*stamp(JUDGE))
    if judged is not None and not assets.all_published(STATIC_DIR, judged):
        _published_judge.clear()
        judged = _published_judge(*stamp(JUDGE))
    return judged


@st.cache_resource(show_spinner=False, max_entries=2)
def _published_judge(path: str, mtime: float) -> assets.JudgeAssets | None:
    try:
        return assets.publish_judge(STATIC_DIR, path)
    except formats.AssetError:
        return None


def story(path: str | Path, measure: bool = True):
    """The model's story in measures (explorer.story.model_story, judged by the shipped classifier,
    kept in memory and on disk beside the published files, keyed by both files' size and mtime),
    measured now unless `measure` is False; None if not measured, or if either file cannot be read."""
    from explorer import story as story_io  # torch: only once a measure is asked for
    try:
        return story_io.model_story(path, JUDGE, STATIC_DIR / assets.CACHE_SUBDIR, measure)
    except (ValueError, OSError):
        return None


@st.cache_resource(show_spinner=False, max_entries=2)
def dial_curve(path: str, mtime: float):
    """A dial's test curve along its range (`formats.read_dial_curve`), or None if its file has none."""
    try:
        return formats.read_dial_curve(path)
    except formats.AssetError:
        return None


@st.cache_resource(show_spinner=False, max_entries=4)
def test_mu(path: str, mtime: float):
    """(N, 2) mu of the test digits under this model, as the plane draws them."""
    return formats.read_plane_arrays(path).test_mu


@st.cache_resource(show_spinner=False)
def manager():
    """The process's one training-job manager, and through it the model library.

    Made before any torch work: its constructor sets the process's torch threads. pandas is
    imported first, whole: plotly (the rate-distortion chart) looks it up in sys.modules without
    importing it, and a pandas half-imported by another thread there fails the page's run."""
    import pandas  # noqa: F401

    from explorer.jobs import shared_manager
    return shared_manager(on_saved=publish_new_model)


def publish_new_model(entry) -> None:
    """Publish a newly trained model's plane from its job's thread (`JobManager`'s on_saved), so
    that exploring it finds `plane_assets` ready: computing its density level is slow."""
    plane_assets(*stamp(entry.path))


@st.cache_resource(show_spinner=False, max_entries=8)
def header(path: str, mtime: float):
    """What a checkpoint says about itself (config, metrics, history), without its weights."""
    from explorer import checkpoint
    manager()
    return checkpoint.read_header(path)


@st.cache_resource(show_spinner=False, max_entries=4)
def model(path: str, mtime: float):
    """The full checkpoint, for torch decodes (downloads)."""
    from explorer import checkpoint
    manager()
    return checkpoint.load(path)


def starting_model() -> Explored:
    """The starting model, as a library entry if the library holds its file."""
    path, mtime = stamp(starting_path())
    resolved = Path(path).resolve()
    entry = next((e for e in manager().library.entries() if e.path.resolve() == resolved), None)
    return Explored.of(entry) if entry is not None else Explored(None, path, header(path, mtime).config.lam)
