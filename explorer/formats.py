"""The binary files the in-browser plane reads, and reading their arrays from a checkpoint file.

Byte layouts: explorer/component/protocol.py describes them, protocol.js reads them; each
`pack_*` here writes one. Torch-free on purpose: the app paints the plane from the checkpoint
file's arrays (read with safetensors' numpy loader) before the much slower `import torch` that
the rest of the app needs. `explorer.assets` publishes the packed files where the browser
fetches them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

_DECODER_KEY = re.compile(r"model\.decoder\.([\d.]+)\.weight")
_ENCODER_KEY = re.compile(r"model\.encoder\.([\d.]+)\.weight")
STATS_KEY = "model.to_stats.weight"  # the encoder's last Linear: mu and logvar side by side
_FILM_PREFIXES = ("model.encoder_film.", "model.decoder_film.")  # a dial's (explorer.model.FiLM)


class AssetError(ValueError):
    """The arrays for the plane cannot be read from a checkpoint file, or do not fit together."""


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


def pack_decoder(layers: list[tuple[np.ndarray, np.ndarray]]) -> tuple[bytes, list[int]]:
    """Linear layers (the decoder's, or the encoder's with to_stats last): each layer's weight (out x in, row-major) then its bias, as little-endian float32 bytes,
    and the layer sizes [in of the first, out of each]."""
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
            if any(k.startswith(_FILM_PREFIXES) for k in keys):
                raise AssetError(f"{path}: a lambda dial (its layers are FiLM-conditioned on lambda); the plane's "
                                 f"decoder cannot show one yet")
            weights = sorted((tuple(int(p) for p in m.group(1).split(".")), k)
                             for k in keys if (m := _DECODER_KEY.fullmatch(k)))
            decoder = [(f.get_tensor(k), f.get_tensor(k[: -len("weight")] + "bias")) for _, k in weights]
            encoder = _encoder_layers(f, keys)
            arrays = {k: f.get_tensor(k) for k in ("test_mu", "test_logvar", "test_labels", "train_mu",
                                                  "train_labels")}
    except AssetError:
        raise
    except (SafetensorError, OSError, ValueError, KeyError) as e:
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
    return PlaneArrays(decoder, **{k: v.astype(np.uint8 if k.endswith("labels") else np.float32)
                                   for k, v in arrays.items()}, encoder=encoder)


def _encoder_layers(f, keys: set[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The encoder's Linear layers in module order, then to_stats; [] if the file has no encoder."""
    weights = sorted((tuple(int(p) for p in m.group(1).split(".")), k)
                     for k in keys if (m := _ENCODER_KEY.fullmatch(k)))
    if not weights or STATS_KEY not in keys:
        return []
    names = [k for _, k in weights] + [STATS_KEY]
    return [(f.get_tensor(k).astype(np.float32), f.get_tensor(k[: -len("weight")] + "bias").astype(np.float32))
            for k in names]
