"""One file per model: weights, configs, metrics, training history and the data embedding.

Files are safetensors (loading runs no code) with the configs and figures as JSON in the
header's metadata. Writes are atomic (see `files.write_atomic`), so a crash never leaves a half
file under the real name.

Reading goes through one validation layer, the same for `read_header` (the library's listing)
and `load`: the file must be a regular file with a bounded header; the metadata JSON is
depth-checked before parsing, then typed field by field against the config dataclasses
(`explorer.typed_json`); every tensor's dtype and shape, as the safetensors header declares
them, must be what the config implies, checked before anything is allocated; `load` then
checks the values (finite, labels in range). Whatever a file holds, it loads or raises `CheckpointError`
naming the file.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as st_save

from .config import TrainConfig
from .data import N_CLASSES
from .dial import DeltaCoded, Dial
from .evaluate import Metrics
from .files import reading_safetensors, write_atomic
from .model import LOGVAR_MAX, LOGVAR_MIN, VAE, ModelConfig
from .typed_json import Invalid, build, is_finite_number, is_int, load_metadata, short

FORMAT = "vae-latent-explorer/1"
EXTENSION = ".safetensors"
# A 400-epoch model's header is ~50 kB (history ~120 B per epoch), so 4 MiB holds ~30,000 epochs
# while bounding what parsing a crafted header costs (~0.1 GB for 4 MiB of tiny JSON arrays).
MAX_HEADER_BYTES = 4 << 20
MAX_TENSORS = 1024
MAX_JSON_DEPTH = 32  # ours nests 4 deep; Python's json recurses once per level
MIN_TRAIN_POINTS = 1  # a click on the plane shows its nearest training digits
HISTORY_KEYS = ("epoch", "recon", "kl", "loss", "elapsed_s")
# Embedding tensors: dtype and shape in terms of the test and training set sizes and latent_dim.
_EMBEDDING = {"test_mu": ("F32", ("n_test", "L")), "test_logvar": ("F32", ("n_test", "L")),
              "test_labels": ("U8", ("n_test",)), "test_recon": ("F32", ("n_test",)),
              "test_kl": ("F32", ("n_test",)), "test_log_px": ("F32", ("n_test",)),
              "train_mu": ("F32", ("n_train", "L")), "train_labels": ("U8", ("n_train",))}
_EMBEDDING_KEYS = tuple(_EMBEDDING)
# A dial's arrays (explorer.dial.Dial), in terms of its grid's and its curve's lambda counts too;
# the grid's mu and logvar are each three tensors (explorer.dial.DeltaCoded).
_DIAL = {"dial_lams": ("F32", ("G",)),
         **{f"dial_{name}_{part}": layout for name in ("mu", "logvar") for part, layout in (
             ("first", ("F32", ("n_test", "L"))), ("steps", ("I8", ("G-1", "n_test", "L"))),
             ("scales", ("F32", ("G-1", "L"))))},
         "dial_curve_lams": ("F32", ("C",)), "dial_curve_recon": ("F32", ("C",)), "dial_curve_kl": ("F32", ("C",))}
_DIAL_CODED = ("mu", "logvar")
_DIAL_PLAIN = ("lams", "curve_lams", "curve_recon", "curve_kl")
MAX_DIAL_LAMS = 4096  # grid or curve; the grid's refinement stops at 512


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, truncated or not one of ours."""


@dataclass(frozen=True)
class Embedding:
    """Where the data sits in latent space (mu and logvar of q(z|x) per image, with labels),
    and how well the model explains each test image (its recorded metrics are their means)."""

    test_mu: np.ndarray  # (N_test, L) float32
    test_logvar: np.ndarray  # (N_test, L) float32
    test_labels: np.ndarray  # (N_test,) uint8
    test_recon: np.ndarray  # (N_test,) float32, E_q[-ln p(x|z)] in nats
    test_kl: np.ndarray  # (N_test,) float32, KL(q(z|x) || N(0, I)) (Kingma & Welling 2014, appendix B)
    test_log_px: np.ndarray  # (N_test,) float32, IWAE estimate of ln p(x)
    train_mu: np.ndarray  # (N_train, L) float32, for nearest-neighbour look-ups
    train_labels: np.ndarray  # (N_train,) uint8


@dataclass(frozen=True)
class Header:
    """What a checkpoint says about itself, readable without its tensors."""

    config: TrainConfig
    metrics: Metrics | None
    history: list[dict]
    command: str
    dataset: str


@dataclass(frozen=True)
class Checkpoint:
    model: VAE
    config: TrainConfig
    embedding: Embedding
    metrics: Metrics | None = None
    history: list[dict] = field(default_factory=list)
    command: str = ""  # how it was made, e.g. the CLI line
    dataset: str = "mnist"
    dial: Dial | None = None  # a dial's grid and test curve (config.lam_range is set); None for a plain model

    @property
    def lam(self) -> float:
        """The model's lambda; a dial's embedding and figures are taken at it."""
        return self.config.lam


def to_bytes(ckpt: Checkpoint) -> bytes:
    """The checkpoint as a safetensors file's bytes; `CheckpointError` for one that `load` would
    refuse (a diverged model's NaN weights, a header over the limit), so none is ever written."""
    tensors = {f"model.{k}": v.detach().float().contiguous() for k, v in ckpt.model.state_dict().items()}
    for key in _EMBEDDING_KEYS:
        tensors[key] = torch.from_numpy(np.ascontiguousarray(getattr(ckpt.embedding, key)))
    if (ckpt.dial is not None) != ckpt.config.dial:
        raise CheckpointError("not saved: a dial's config (lam_range) and its grid and curve go together")
    for key, array in _dial_arrays(ckpt.dial).items() if ckpt.dial is not None else ():
        tensors[key] = torch.from_numpy(np.ascontiguousarray(array))
    history = [dataclasses.asdict(row) if dataclasses.is_dataclass(row) else row for row in ckpt.history]
    meta = {"config": ckpt.config.to_dict(), "history": history, "command": ckpt.command,
            "dataset": ckpt.dataset, "metrics": ckpt.metrics.to_dict() if ckpt.metrics else None}
    try:
        _check_values({key: t.numpy() for key, t in tensors.items()}, ckpt.config)
        blob = st_save(tensors, metadata={"format": FORMAT, "explorer": json.dumps(meta, allow_nan=False)})
    except (Invalid, ValueError) as e:
        raise CheckpointError(f"not saved: {e}") from None
    if int.from_bytes(blob[:8], "little") > MAX_HEADER_BYTES:
        raise CheckpointError(f"not saved: header over {MAX_HEADER_BYTES} bytes (history of {len(history)} epochs)")
    return blob


def save(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write atomically; returns the path."""
    return write_atomic(path, to_bytes(ckpt))


def read_header(path: str | Path) -> Header:
    """The configs and figures of a checkpoint file, validated, from its header alone (no tensor is read)."""
    path = Path(path)
    with _reading(path) as f:
        return _validate_header(f)


def load(path: str | Path) -> Checkpoint:
    path = Path(path)
    with _reading(path) as f:
        header = _validate_header(f)
        arrays = {key: f.get_tensor(key) for key in f.keys()}
        _check_values({key: t.numpy() for key, t in arrays.items()}, header.config)
    model = VAE(header.config.model)
    model.load_state_dict({k.removeprefix("model."): v for k, v in arrays.items() if k.startswith("model.")})
    embedding = Embedding(**{key: arrays[key].numpy() for key in _EMBEDDING_KEYS})
    dial = _dial_from({key: arrays[key].numpy() for key in _DIAL}) if header.config.dial else None
    return Checkpoint(model.eval(), header.config, embedding, header.metrics, header.history, header.command,
                      header.dataset, dial)


def _reading(path: Path):
    """The checkpoint file open for reading; any failure leaves as one `CheckpointError` naming it."""
    return reading_safetensors(path, CheckpointError, "checkpoint", MAX_HEADER_BYTES)


# Validation -------------------------------------------------------------------------------------

def _validate_header(f) -> Header:
    meta = f.metadata() or {}
    if meta.get("format") != FORMAT:
        raise Invalid(f"not a VAE Latent Explorer checkpoint (format {short(meta.get('format'))})")
    keys = list(f.keys())
    if len(keys) > MAX_TENSORS:
        raise Invalid(f"{len(keys)} tensors, more than a model has")
    header = _parse_metadata(meta.get("explorer"))
    specs = {key: (f.get_slice(key).get_dtype(), tuple(f.get_slice(key).get_shape())) for key in keys}
    _check_shapes(header.config, specs)
    return header


def _parse_metadata(text) -> Header:
    info = load_metadata(text, MAX_JSON_DEPTH)
    if not isinstance(info, dict):
        raise Invalid(f"metadata must be a JSON object, got {type(info).__name__}")
    config = build(TrainConfig, info.get("config"), "config")
    metrics = None if info.get("metrics") is None else build(Metrics, info["metrics"], "metrics")
    for name in ("command", "dataset"):
        if not isinstance(info.get(name, ""), str):
            raise Invalid(f"{name} must be a string, got {short(info[name])}")
    return Header(config, metrics, _history(info.get("history", [])), info.get("command", ""),
                  info.get("dataset", "mnist"))


def _history(rows) -> list[dict]:
    if not isinstance(rows, list):
        raise Invalid(f"history must be a list, got {short(rows)}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not all(key in row for key in HISTORY_KEYS):
            raise Invalid(f"history[{i}] must be an object with {', '.join(HISTORY_KEYS)}, got {short(row)}")
        if not all(is_finite_number(v) for v in row.values()) or not (is_int(row["epoch"]) and row["epoch"] >= 1):
            raise Invalid(f"history[{i}] must hold finite numbers and an epoch >= 1, got {short(row)}")
    return rows


def _check_shapes(train_config: TrainConfig, specs: dict[str, tuple[str, tuple[int, ...]]]) -> None:
    """Each tensor's dtype and shape, as declared in the file's header, against what the config
    implies: the network's from a VAE built on the meta device (no memory), the embedding's from
    the test and training set sizes, a dial's from its grid's and curve's lambda counts. Nothing
    the size of a tensor is allocated before this passes."""
    config = train_config.model
    if not config.hidden or len(config.hidden) > len(specs):
        raise Invalid(f"config.model.hidden {short(list(config.hidden))} does not fit the file's "
                      f"{len(specs)} tensors")
    sizes = (*config.image_shape, *config.hidden, config.latent_dim)
    if min(sizes) < 1:
        raise Invalid(f"config.model has a layer of size {min(sizes)}; sizes must be >= 1")
    expected = dict(_network_shapes(config))
    dims = {"L": config.latent_dim, "n_test": _rows(specs, "test_mu"), "n_train": _rows(specs, "train_mu"),
            "G": _rows(specs, "dial_lams"), "G-1": _rows(specs, "dial_lams") - 1, "C": _rows(specs, "dial_curve_lams")}
    layouts = _EMBEDDING | (_DIAL if train_config.dial else {})
    expected |= {key: (dtype, tuple(dims[d] for d in shape)) for key, (dtype, shape) in layouts.items()}
    for key in expected.keys() - specs.keys():
        raise Invalid(f"tensor {key} is missing")
    for key in specs.keys() - expected.keys():
        raise Invalid(f"unexpected tensor {short(key)}")
    for key, want in expected.items():
        if specs[key] != want:
            raise Invalid(f"tensor {key} is {specs[key][0]} {list(specs[key][1])}, the config implies "
                          f"{want[0]} {list(want[1])}")
    if dims["n_test"] < 1 or dims["n_train"] < MIN_TRAIN_POINTS:
        raise Invalid(f"embedding of {dims['n_test']} test and {dims['n_train']} training points; "
                      f"at least 1 and {MIN_TRAIN_POINTS} are needed")
    if train_config.dial and not (2 <= dims["G"] <= MAX_DIAL_LAMS and 2 <= dims["C"] <= MAX_DIAL_LAMS):
        raise Invalid(f"a dial's grid of {dims['G']} and curve of {dims['C']} lambdas; each needs 2 to {MAX_DIAL_LAMS}")


@functools.lru_cache(maxsize=64)
def _network_shapes(config: ModelConfig) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The weights a VAE of this config has, from one built on the meta device: no memory, and
    the model's own code says what its layers are."""
    try:
        with torch.device("meta"):
            network = VAE(config)
    except (RuntimeError, ValueError, TypeError, OverflowError, IndexError) as e:
        raise Invalid(f"config.model cannot be built ({type(e).__name__}: {e})") from None
    return {f"model.{k}": ("F32", tuple(v.shape)) for k, v in network.state_dict().items()}


def _rows(specs, key: str) -> int:
    shape = specs.get(key, ("", ()))[1]
    return shape[0] if shape else -1  # -1 only ever meets a failing shape comparison


def _dial_arrays(dial: Dial) -> dict[str, np.ndarray]:
    coded = {f"dial_{name}_{part}": getattr(getattr(dial, name), part)
             for name in _DIAL_CODED for part in ("first", "steps", "scales")}
    return {**coded, **{f"dial_{name}": getattr(dial, name) for name in _DIAL_PLAIN}}


def _dial_from(arrays: dict[str, np.ndarray]) -> Dial:
    coded = {name: DeltaCoded(*(arrays[f"dial_{name}_{part}"] for part in ("first", "steps", "scales")))
             for name in _DIAL_CODED}
    return Dial(**coded, **{name: arrays[f"dial_{name}"] for name in _DIAL_PLAIN})


def _check_values(arrays: dict[str, np.ndarray], config: TrainConfig) -> None:
    """The values of a checkpoint's arrays, after their shapes passed: every float finite, logvar
    within the encoder's clamp, labels within the dataset's classes, a dial's lambdas rising
    within its range."""
    for key, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise Invalid(f"tensor {key} holds {np.size(a) - np.isfinite(a).sum()} NaN or infinite values")
    logvars = {"test_logvar": arrays.get("test_logvar")}
    if config.dial and all(key in arrays for key in _DIAL):
        logvars["dial_logvar"] = _dial_from(arrays).logvar.decode()
        if (arrays["dial_mu_scales"] < 0).any() or (arrays["dial_logvar_scales"] < 0).any():
            raise Invalid("a dial's step scales must be >= 0")
    for key, logvar in logvars.items():
        if logvar is not None and logvar.size and not (LOGVAR_MIN <= logvar.min() and logvar.max() <= LOGVAR_MAX):
            raise Invalid(f"{key} outside the encoder's range [{LOGVAR_MIN}, {LOGVAR_MAX}]")
    for key in ("dial_lams", "dial_curve_lams") if config.dial else ():
        lams, (low, high) = arrays[key].astype(np.float64), config.lam_range
        slack = 1e-6  # the range's ends stored as float32
        if not (np.all(np.diff(lams) > 0) and low * (1 - slack) <= lams[0] and lams[-1] <= high * (1 + slack)):
            raise Invalid(f"{key} must rise strictly within the dial's range {low:g} to {high:g}")
    for key in ("test_labels", "train_labels"):
        if key in arrays and arrays[key].size and arrays[key].max() >= N_CLASSES:
            raise Invalid(f"{key} holds label {arrays[key].max()}, outside the {N_CLASSES} classes "
                          f"0-{N_CLASSES - 1}")
