"""The binary files the in-browser plane reads, and reading their arrays from a checkpoint file.

Byte layouts: explorer/component/protocol.py describes them, protocol.js reads them; each
`pack_*` here writes one. Torch-free on purpose: the app paints the plane from the checkpoint
file's arrays (read with safetensors' numpy loader) before the much slower `import torch` that
the rest of the app needs. `explorer.assets` publishes the packed files where the browser
fetches them.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

_DECODER_KEY = re.compile(r"model\.decoder\.([\d.]+)\.weight")
_ENCODER_KEY = re.compile(r"model\.encoder\.([\d.]+)\.weight")
STATS_KEY = "model.to_stats.weight"  # the encoder's last Linear: mu and logvar side by side
_FILM_KEY = re.compile(r"model\.(encoder|decoder)_film\.net\.(\d+)\.weight")  # a dial's (explorer.model.FiLM)
LOG_LAM_SCALE = math.log(100.0)  # explorer.model's: a dial's FiLM reads t = ln(lambda) / LOG_LAM_SCALE
_GRID = tuple(f"dial_{name}_{part}" for name in ("mu", "logvar") for part in ("first", "scales", "steps"))


class AssetError(ValueError):
    """The arrays for the plane cannot be read from a checkpoint file, or do not fit together."""


@dataclass(frozen=True)
class DialArrays:
    """What the browser needs of a dial beyond a plain model's (explorer.dial.Dial): its FiLM
    networks, the test digits' codes on its grid of lambdas, delta-coded, and its test curve."""

    lam: float  # where the checkpoint's embedding (the points file) was taken
    decoder_film: list[tuple[np.ndarray, np.ndarray]]  # (weight, bias) per Linear of explorer.model.FiLM's net
    encoder_film: list[tuple[np.ndarray, np.ndarray]]
    lams: np.ndarray  # (G,) float32, ascending
    grid: dict[str, np.ndarray]  # dial_{mu,logvar}_{first,scales,steps}, as the checkpoint holds them
    curve: dict[str, np.ndarray]  # lams, recon, kl: (C,) float32 each


@dataclass(frozen=True)
class PlaneArrays:
    """What the browser needs from a trained model: its decoder and the data's encodings."""

    decoder: list[tuple[np.ndarray, np.ndarray]]  # (weight (out, in), bias (out,)) per Linear, in order
    test_mu: np.ndarray  # (N, 2) float32
    test_logvar: np.ndarray  # (N, 2) float32
    test_labels: np.ndarray  # (N,) uint8
    train_mu: np.ndarray  # (M, 2) float32
    train_labels: np.ndarray  # (M,) uint8
    # (weight, bias) per Linear of the encoder (ReLU after each) and then to_stats; empty if the file has none
    encoder: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    dial: DialArrays | None = None  # a dial's; None for a model of one lambda


def pack_decoder(layers: list[tuple[np.ndarray, np.ndarray]]) -> tuple[bytes, list[int]]:
    """Linear layers (the decoder's, or the encoder's with to_stats last): each layer's weight (out x in,
    row-major) then its bias, as little-endian float32 bytes, and the layer sizes [in of the first, out of each]."""
    sizes = [int(layers[0][0].shape[1])]
    parts = []
    for weight, bias in layers:
        if weight.shape != (len(bias), sizes[-1]):
            raise ValueError(f"layer weight {weight.shape} does not follow a layer of width {sizes[-1]}")
        sizes.append(len(bias))
        parts += [np.ascontiguousarray(weight, "<f4").tobytes(), np.ascontiguousarray(bias, "<f4").tobytes()]
    return b"".join(parts), sizes


def pack_points(mu: np.ndarray, logvar: np.ndarray, labels: np.ndarray) -> bytes:
    """float32 (N, 2) mu, float32 (N, 2) logvar, then uint8 (N,) labels."""
    return (np.ascontiguousarray(mu, "<f4").tobytes() + np.ascontiguousarray(logvar, "<f4").tobytes()
            + np.ascontiguousarray(labels, np.uint8).tobytes())


def pack_train(mu: np.ndarray, labels: np.ndarray) -> bytes:
    """float32 (M, 2) mu, then uint8 (M,) labels."""
    return np.ascontiguousarray(mu, "<f4").tobytes() + np.ascontiguousarray(labels, np.uint8).tobytes()


# The digit classifier (explorer.classifier) and its rule: a decode is recognised as a digit when
# the largest softmax probability reaches JUDGE_CONFIDENT. Here, without torch, so that the page
# can publish the judge before torch is imported.
JUDGE_CONFIDENT = 0.9
JUDGE_FORMAT = "vae-latent-explorer-classifier/1"
JUDGE_LAYERS = ("conv1", "conv2", "fc1", "fc2")  # the order of the published file


@dataclass(frozen=True)
class JudgeArrays:
    image_shape: tuple[int, int]
    channels: tuple[int, int]
    hidden: int
    classes: int
    weights: dict[str, np.ndarray]  # by state-dict name, float32


def judge_shapes(image_shape, channels, hidden: int, classes: int) -> dict[str, tuple[int, ...]]:
    """Every weight's shape in explorer.classifier.DigitCNN: two 3x3 convolutions, each followed by a
    2x2 max-pool that floors an odd side, then two Linear layers."""
    (h, w), (c1, c2) = image_shape, channels
    flat = c2 * (h // 4) * (w // 4)
    return {"conv1.weight": (c1, 1, 3, 3), "conv1.bias": (c1,), "conv2.weight": (c2, c1, 3, 3), "conv2.bias": (c2,),
            "fc1.weight": (hidden, flat), "fc1.bias": (hidden,), "fc2.weight": (classes, hidden),
            "fc2.bias": (classes,)}


def read_judge(path: str | Path) -> JudgeArrays:
    """A classifier file's architecture and weights, checked, without torch (explorer.classifier.read_file
    is the full reader); AssetError names a file that is not one."""
    path = Path(path)
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != JUDGE_FORMAT:
                raise AssetError(f"{path}: not a classifier file")
            a = json.loads(meta["explorer"])["architecture"]
            image_shape, channels = tuple(int(s) for s in a["image_shape"]), tuple(int(c) for c in a["channels"])
            hidden, classes = int(a["hidden"]), int(a["classes"])
            shapes = judge_shapes(image_shape, channels, hidden, classes)
            if set(f.keys()) != set(shapes):
                raise AssetError(f"{path}: its tensors are not a classifier's")
            weights = {k: f.get_tensor(k) for k in shapes}
    except (OSError, SafetensorError, KeyError, TypeError, ValueError) as e:
        raise AssetError(f"{path}: not a readable classifier file ({e})") from e
    for key, array in weights.items():
        if array.dtype != np.float32 or array.shape != shapes[key] or not np.isfinite(array).all():
            raise AssetError(f"{path}: tensor {key} is not finite float32 of shape {list(shapes[key])}")
    return JudgeArrays(image_shape, channels, hidden, classes, weights)


def pack_judge(judge: JudgeArrays) -> bytes:
    """The classifier's weights for the browser (cnn.js): each layer in turn, its weight row-major
    then its bias, little-endian float32."""
    return b"".join(np.ascontiguousarray(judge.weights[f"{layer}.{part}"], "<f4").tobytes()
                    for layer in JUDGE_LAYERS for part in ("weight", "bias"))


def pack_dial_grid(grid: dict[str, np.ndarray]) -> bytes:
    """A dial's test codes on its grid of G lambdas (explorer.dial.DeltaCoded): float32 mu first (N, 2) |
    mu scales (G-1, 2) | logvar first (N, 2) | logvar scales (G-1, 2), then int8 mu steps (G-1, N, 2) |
    logvar steps (G-1, N, 2)."""
    floats = [np.ascontiguousarray(grid[f"dial_{n}_{p}"], "<f4").tobytes() for n in ("mu", "logvar")
              for p in ("first", "scales")]
    steps = [np.ascontiguousarray(grid[f"dial_{n}_steps"], np.int8).tobytes() for n in ("mu", "logvar")]
    return b"".join(floats + steps)


def read_plane_arrays(path: str | Path) -> PlaneArrays:
    """The decoder weights and data encodings of a checkpoint file, without importing torch.

    Decoder Linear layers are the `model.decoder.<path>.weight` tensors in module order (the
    order `nn.Module.modules()` visits them); `tests/test_latent.py` checks this gives exactly
    the bytes `latent.decoder_blob` takes from the loaded model.
    """
    path = Path(path)
    if not path.is_file():
        raise AssetError(f"{path}: file not found")
    try:
        with safe_open(path, framework="numpy") as f:
            keys = set(f.keys())
            weights = sorted((tuple(int(p) for p in m.group(1).split(".")), k)
                             for k in keys if (m := _DECODER_KEY.fullmatch(k)))
            decoder = [(f.get_tensor(k), f.get_tensor(k[: -len("weight")] + "bias")) for _, k in weights]
            encoder = _encoder_layers(f, keys)
            arrays = {k: f.get_tensor(k) for k in ("test_mu", "test_logvar", "test_labels", "train_mu",
                                                  "train_labels")}
            dial = _dial_arrays(f, keys)
    except AssetError:
        raise
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as e:
        raise AssetError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not decoder:
        raise AssetError(f"{path}: holds no decoder weights")
    for split in ("test", "train"):
        mu, labels = arrays[f"{split}_mu"], arrays[f"{split}_labels"]
        if mu.ndim != 2 or mu.shape[1] != 2 or len(labels) != len(mu):
            raise AssetError(f"{path}: the plane needs a 2-D {split} embedding, found mu {mu.shape}, "
                             f"labels {labels.shape}")
    if arrays["test_logvar"].shape != arrays["test_mu"].shape:
        raise AssetError(f"{path}: test logvar {arrays['test_logvar'].shape} does not match test mu "
                         f"{arrays['test_mu'].shape}")
    if dial is not None:
        _check_dial(path, dial, decoder, encoder, len(arrays["test_mu"]))
    return PlaneArrays(decoder, **{k: v.astype(np.uint8 if k.endswith("labels") else np.float32)
                                   for k, v in arrays.items()}, encoder=encoder, dial=dial)


def _dial_arrays(f, keys: set[str]) -> DialArrays | None:
    """A dial's arrays, None if the file is a model of one lambda."""
    film = {side: sorted((int(m.group(2)), k) for k in keys if (m := _FILM_KEY.fullmatch(k)) and m.group(1) == side)
            for side in ("encoder", "decoder")}
    if not film["decoder"]:
        return None
    layers = {side: [(f.get_tensor(k).astype(np.float32), f.get_tensor(k[: -len("weight")] + "bias").astype(np.float32))
                     for _, k in film[side]] for side in film}
    config = json.loads(f.metadata()["explorer"])["config"]
    return DialArrays(lam=float(config["lam"]), decoder_film=layers["decoder"], encoder_film=layers["encoder"],
                      lams=f.get_tensor("dial_lams").astype(np.float32),
                      grid={k: f.get_tensor(k) for k in _GRID},
                      curve={name: f.get_tensor(f"dial_curve_{name}").astype(np.float32)
                             for name in ("lams", "recon", "kl")})


def read_dial_curve(path: str | Path) -> dict[str, np.ndarray]:
    """A dial's test curve (lams, recon, kl: (C,) float32 each, lams ascending), without its networks."""
    path = Path(path)
    try:
        with safe_open(path, framework="numpy") as f:
            curve = {name: f.get_tensor(f"dial_curve_{name}").astype(np.float32) for name in ("lams", "recon", "kl")}
    except (OSError, SafetensorError, KeyError) as e:
        raise AssetError(f"{path}: no dial curve ({e})") from e
    sizes = {len(v) for v in curve.values()}
    if len(sizes) != 1 or not all(np.isfinite(v).all() for v in curve.values()) or np.any(np.diff(curve["lams"]) <= 0):
        raise AssetError(f"{path}: a dial curve of unequal, unsorted or non-finite arrays")
    return curve


def _check_dial(path: Path, dial: DialArrays, decoder, encoder, n: int) -> None:
    """The FiLM networks' outputs fit the layers they modulate; the grid fits its lambdas and the test set."""
    def film_out(layers):
        return len(layers[-1][1]) if layers else 0
    hidden = sum(len(b) for _, b in decoder[:-1])
    if film_out(dial.decoder_film) != 2 * hidden or (encoder and film_out(dial.encoder_film) != 2 * hidden):
        raise AssetError(f"{path}: a dial's FiLM networks do not fit its layers")
    g = len(dial.lams)
    shapes = {"first": (n, 2), "scales": (g - 1, 2), "steps": (g - 1, n, 2)}
    for key, array in dial.grid.items():
        if array.shape != shapes[key.rsplit("_", 1)[1]]:
            raise AssetError(f"{path}: {key} is {array.shape}, the grid of {g} lambdas and {n} test digits "
                             f"needs {shapes[key.rsplit('_', 1)[1]]}")


def _encoder_layers(f, keys: set[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The encoder's Linear layers in module order, then to_stats; [] if the file has no encoder."""
    weights = sorted((tuple(int(p) for p in m.group(1).split(".")), k)
                     for k in keys if (m := _ENCODER_KEY.fullmatch(k)))
    if not weights or STATS_KEY not in keys:
        return []
    names = [k for _, k in weights] + [STATS_KEY]
    return [(f.get_tensor(k).astype(np.float32), f.get_tensor(k[: -len("weight")] + "bias").astype(np.float32))
            for k in names]
