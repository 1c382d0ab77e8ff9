"""The binary files the in-browser latent plane fetches: decoder weights, test points, test images.

They are served as static files (Streamlit's `server.enableStaticServing`, URL `app/static/...`)
rather than sent as component data, so they cross the wire once, not on every rerun. Each file is
named by a hash of its content, so a browser cache can never hold a stale one, and is written
atomically (temp file + rename), so a concurrent reader never sees half a file.

Torch-free on purpose: the app paints the plane from the checkpoint file's arrays (read with
safetensors' numpy loader) before the much slower `import torch` that the rest of the app needs.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from .files import write_atomic

CACHE_SUBDIR = "cache"  # under the app's static folder; gitignored
URL_PREFIX = "app/static"  # where Streamlit serves <app folder>/static
_DECODER_KEY = re.compile(r"model\.decoder\.([\d.]+)\.weight")


class AssetError(ValueError):
    """The arrays for the plane cannot be read from a checkpoint file, or do not fit together."""


@dataclass(frozen=True)
class PlaneArrays:
    """What the browser needs from a trained model: its decoder and the test-set embedding."""

    decoder: list[tuple[np.ndarray, np.ndarray]]  # (weight (out, in), bias (out,)) per Linear, in order
    test_mu: np.ndarray  # (N, 2) float32
    test_labels: np.ndarray  # (N,) uint8


@dataclass(frozen=True)
class PlaneAssets:
    """URLs of the published files and the sizes the browser needs to read them."""

    decoder_url: str
    layer_sizes: list[int]  # [latent_dim, hidden..., H*W]
    points_url: str
    n_points: int
    images_url: str
    image_shape: tuple[int, int]

    def to_data(self) -> dict:
        return {"decoder_url": self.decoder_url, "layer_sizes": self.layer_sizes, "points_url": self.points_url,
                "n_points": self.n_points, "images_url": self.images_url, "image_shape": list(self.image_shape)}


def pack_decoder(layers: list[tuple[np.ndarray, np.ndarray]]) -> tuple[bytes, list[int]]:
    """Each layer's weight (out x in, row-major) then its bias, as little-endian float32 bytes,
    and the layer sizes [in of the first, out of each]."""
    sizes = [int(layers[0][0].shape[1])]
    parts = []
    for weight, bias in layers:
        if weight.shape != (len(bias), sizes[-1]):
            raise ValueError(f"layer weight {weight.shape} does not follow a layer of width {sizes[-1]}")
        sizes.append(len(bias))
        parts += [np.ascontiguousarray(weight, "<f4").tobytes(), np.ascontiguousarray(bias, "<f4").tobytes()]
    return b"".join(parts), sizes


def pack_points(mu: np.ndarray, labels: np.ndarray) -> bytes:
    """float32 little-endian (N, 2) coordinates, then uint8 (N,) labels."""
    return np.ascontiguousarray(mu, "<f4").tobytes() + np.ascontiguousarray(labels, np.uint8).tobytes()


def read_plane_arrays(path: str | Path) -> PlaneArrays:
    """The decoder weights and test embedding of a checkpoint file, without importing torch.

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
            test_mu, test_labels = f.get_tensor("test_mu"), f.get_tensor("test_labels")
    except (SafetensorError, OSError, ValueError, KeyError) as e:
        raise AssetError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not decoder:
        raise AssetError(f"{path}: holds no decoder weights")
    if test_mu.ndim != 2 or test_mu.shape[1] != 2 or len(test_labels) != len(test_mu):
        raise AssetError(f"{path}: the plane needs a 2-D test embedding, found mu {test_mu.shape}, "
                         f"labels {test_labels.shape}")
    return PlaneArrays(decoder, test_mu.astype(np.float32), test_labels.astype(np.uint8))


def publish(static_dir: str | Path, stem: str, blob: bytes) -> str:
    """Write blob once under <static_dir>/cache/<stem>-<hash>.bin; return its URL relative to the app."""
    digest = hashlib.sha256(blob).hexdigest()[:16]
    name = f"{stem}-{digest}.bin"
    folder = Path(static_dir) / CACHE_SUBDIR
    target = folder / name
    if not target.exists():
        write_atomic(target, blob)
    return f"{URL_PREFIX}/{CACHE_SUBDIR}/{name}"


def publish_plane(static_dir: str | Path, arrays: PlaneArrays, test_images: np.ndarray) -> PlaneAssets:
    """Publish everything the plane fetches; test_images (N, H, W) uint8 must match the embedding."""
    if len(test_images) != len(arrays.test_mu):
        raise AssetError(f"the data has {len(test_images)} test images but the model's embedding has "
                         f"{len(arrays.test_mu)}: were they made from different datasets?")
    blob, sizes = pack_decoder(arrays.decoder)
    image_shape = tuple(int(s) for s in test_images.shape[1:])
    if sizes[-1] != image_shape[0] * image_shape[1]:
        raise AssetError(f"the decoder makes {sizes[-1]} pixels but the test images are {image_shape}")
    return PlaneAssets(
        decoder_url=publish(static_dir, "decoder", blob), layer_sizes=sizes,
        points_url=publish(static_dir, "points", pack_points(arrays.test_mu, arrays.test_labels)),
        n_points=len(arrays.test_mu),
        images_url=publish(static_dir, "images", np.ascontiguousarray(test_images, np.uint8).tobytes()),
        image_shape=image_shape)
