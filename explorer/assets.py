"""The binary files the in-browser latent plane fetches, and the small facts sent beside them.

Files are served as static files (Streamlit's `server.enableStaticServing`, URL `app/static/...`)
rather than sent as component data, so they cross the wire once, not on every rerun. Each file is
named by a hash of its content, so a browser cache can never hold a stale one, and is written
atomically (temp file + rename), so a concurrent reader never sees half a file.

Byte layouts (all little-endian, no headers; the sizes travel in the data, see `PlaneAssets`).
explorer/component/protocol.js reads exactly these:
    decoder       per Linear layer in order: weight float32 (out, in) row-major, then bias float32 (out,)
    encoder       the same, for the encoder's Linear layers and then `to_stats` (mu and logvar side by side)
    points        test_mu float32 (N, 2) | test_logvar float32 (N, 2) | test_labels uint8 (N,)
    train         train_mu float32 (M, 2) | train_labels uint8 (M,)
    test images   uint8 (N, H, W)   } raw, so the browser fetches single images with HTTP Range
    train images  uint8 (M, H, W)   } requests (a click needs k of the 60,000 train images)
    level         float64 (1,): the points' density level, kept for the server (the browser gets it in the data)

Torch-free on purpose: the app paints the plane from the checkpoint file's arrays (read with
safetensors' numpy loader) before the much slower `import torch` that the rest of the app needs.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from .density import density_level
from .files import sweep_temp_files, write_atomic

CACHE_SUBDIR = "cache"  # under the app's static folder; gitignored
# The images every model shares take 55 MB and each model's own files about 2.8 MB, so this
# holds the files of some 70 models before the least recently published go.
CACHE_MAX_BYTES = 256 * 2**20
URL_PREFIX = "app/static"  # where Streamlit serves <app folder>/static
# matplotlib's tab10 (Tableau 10), one colour per digit: distinguishable for the common
# colour-vision deficiencies. The browser gets it in the data; this is its one definition.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
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


@dataclass(frozen=True)
class PlaneAssets:
    """URLs of the published files, the sizes to read them with, and the density level."""

    decoder_url: str
    layer_sizes: list[int]  # [latent_dim, hidden..., H*W]
    points_url: str
    n_points: int  # N, test digits
    train_url: str
    n_train: int  # M, training digits
    test_images_url: str
    train_images_url: str
    image_shape: tuple[int, int]  # (H, W)
    density_level: float  # log q(z) above which z is "within the data" (explorer.density.density_level)
    encoder_url: str = ""  # the encoder, for digits drawn in the browser; "" if the model has none
    encoder_sizes: tuple[int, ...] = ()  # [H*W, hidden..., 2 * latent_dim]

    @property
    def urls(self) -> tuple[str, ...]:
        """Every file the browser fetches for this plane."""
        return tuple(url for url in (self.decoder_url, self.points_url, self.train_url, self.test_images_url,
                                     self.train_images_url, self.encoder_url) if url)

    def to_data(self) -> dict:
        """The model's part of the component's data (explorer/component/protocol.js, PlaneData)."""
        return {"decoder_url": self.decoder_url, "layer_sizes": list(self.layer_sizes),
                "points_url": self.points_url, "n_points": self.n_points,
                "train_url": self.train_url, "n_train": self.n_train,
                "test_images_url": self.test_images_url, "train_images_url": self.train_images_url,
                "image_shape": list(self.image_shape), "palette": list(PALETTE),
                "density_level": self.density_level,
                "encoder_url": self.encoder_url, "encoder_sizes": list(self.encoder_sizes)}


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


def _name(stem: str, blob: bytes) -> str:
    return f"{stem}-{hashlib.sha256(blob).hexdigest()[:16]}.bin"


def publish(static_dir: str | Path, stem: str, blob: bytes) -> str:
    """Write blob once under <static_dir>/cache/<stem>-<hash>.bin; return its URL relative to the app.

    A file already there is touched instead, so that its mtime says when it was last published:
    `prune_cache` drops the least recently published files first."""
    target = Path(static_dir) / CACHE_SUBDIR / _name(stem, blob)
    try:
        os.utime(target)
    except FileNotFoundError:
        write_atomic(target, blob)
    return f"{URL_PREFIX}/{CACHE_SUBDIR}/{target.name}"


def model_asset_names(arrays: PlaneArrays) -> list[str]:
    """Names of the cache files that belong to this model alone (not the images every model shares)."""
    encoder = [_name("encoder", pack_decoder(arrays.encoder)[0])] if arrays.encoder else []
    points = pack_points(arrays.test_mu, arrays.test_logvar, arrays.test_labels)
    return encoder + [_name("decoder", pack_decoder(arrays.decoder)[0]), _name("points", points),
                      _name("level", points), _name("train", pack_train(arrays.train_mu, arrays.train_labels))]


def published_files(static_dir: str | Path, model_path: str | Path) -> list[Path]:
    """The cache files published for the model in `model_path` alone, whether or not they exist
    now; empty if the model cannot be read. Ask before deleting the model: its file names them."""
    try:
        names = model_asset_names(read_plane_arrays(model_path))
    except AssetError:
        return []
    return [Path(static_dir) / CACHE_SUBDIR / name for name in names]


def prune_cache(static_dir: str | Path, keep: tuple[str, ...] = (), max_bytes: int = CACHE_MAX_BYTES) -> list[str]:
    """Bound the cache: sweep the temp files of killed writes, then delete the least recently
    published files until the folder holds at most max_bytes. Names in `keep` (URLs or file names
    in use now) stay whatever their age. Returns the names deleted."""
    folder = Path(static_dir) / CACHE_SUBDIR
    removed = sweep_temp_files(folder)
    keep_names = {Path(k).name for k in keep}
    try:
        entries = [e for e in os.scandir(folder) if e.is_file(follow_symlinks=False) and e.name.endswith(".bin")]
    except FileNotFoundError:
        return removed
    sizes = {}
    for e in entries:
        try:
            st = e.stat()
        except FileNotFoundError:
            continue
        sizes[e.name] = (st.st_mtime, st.st_size)
    total = sum(size for _, size in sizes.values())
    for name in sorted(sizes, key=lambda n: sizes[n][0]):
        if total <= max_bytes:
            break
        if name in keep_names:
            continue
        try:
            (folder / name).unlink()
            removed.append(name)
        except FileNotFoundError:
            pass
        total -= sizes[name][1]
    return removed


def cached_density_level(static_dir: str | Path, points: bytes, mu: np.ndarray, logvar: np.ndarray) -> float:
    """`density_level(mu, logvar)` of the test codes packed in `points`, kept in the cache beside
    them (8 bytes, float64): computing it takes most of a second, and a restarted server or a
    model explored again finds it there. A missing or unreadable file is computed afresh."""
    target = Path(static_dir) / CACHE_SUBDIR / _name("level", points)
    try:
        level = float(np.frombuffer(target.read_bytes(), "<f8")[0])
        if math.isfinite(level):
            os.utime(target)
            return level
    except (OSError, ValueError, IndexError):
        pass
    level = density_level(mu, logvar)
    write_atomic(target, np.array([level], "<f8").tobytes())
    return level


def publish_plane(static_dir: str | Path, arrays: PlaneArrays, test_images: np.ndarray,
                  train_images: np.ndarray) -> PlaneAssets:
    """Publish everything the plane fetches; the images, uint8 (N, H, W) and (M, H, W), must be
    the ones the model encoded (`explorer.data.load_split(...).images`)."""
    for split, images, mu in (("test", test_images, arrays.test_mu), ("training", train_images, arrays.train_mu)):
        if len(images) != len(mu):
            raise AssetError(f"the data has {len(images)} {split} images but the model's embedding has "
                             f"{len(mu)}: were they made from different datasets?")
    blob, sizes = pack_decoder(arrays.decoder)
    image_shape = tuple(int(s) for s in test_images.shape[1:])
    if sizes[-1] != image_shape[0] * image_shape[1] or tuple(train_images.shape[1:]) != image_shape:
        raise AssetError(f"the decoder makes {sizes[-1]} pixels but the images are {image_shape} (test) "
                         f"and {tuple(train_images.shape[1:])} (training)")
    encoder_url, encoder_sizes = "", ()
    if arrays.encoder:
        encoder_blob, encoder_sizes = pack_decoder(arrays.encoder)
        if encoder_sizes[0] != sizes[-1] or encoder_sizes[-1] != 2 * sizes[0]:
            raise AssetError(f"the encoder maps {encoder_sizes[0]} pixels to {encoder_sizes[-1]} numbers; the "
                             f"decoder needs {sizes[-1]} pixels and mu and logvar of {sizes[0]} dimensions")
        encoder_url = publish(static_dir, "encoder", encoder_blob)
    points = pack_points(arrays.test_mu, arrays.test_logvar, arrays.test_labels)
    plane = PlaneAssets(
        decoder_url=publish(static_dir, "decoder", blob), layer_sizes=sizes,
        points_url=publish(static_dir, "points", points),
        n_points=len(arrays.test_mu),
        train_url=publish(static_dir, "train", pack_train(arrays.train_mu, arrays.train_labels)),
        n_train=len(arrays.train_mu),
        test_images_url=publish(static_dir, "test-images", np.ascontiguousarray(test_images, np.uint8).tobytes()),
        train_images_url=publish(static_dir, "train-images",
                                 np.ascontiguousarray(train_images, np.uint8).tobytes()),
        image_shape=image_shape,
        density_level=cached_density_level(static_dir, points, arrays.test_mu, arrays.test_logvar),
        encoder_url=encoder_url, encoder_sizes=tuple(encoder_sizes))
    prune_cache(static_dir, keep=(*plane.urls, _name("level", points)))
    return plane


def all_published(static_dir: str | Path, plane: PlaneAssets) -> bool:
    """Whether every file of `plane` is still in the cache: `prune_cache` may have deleted a
    file of a model published long ago, while a server still holds its PlaneAssets."""
    folder = Path(static_dir) / CACHE_SUBDIR
    return all((folder / Path(url).name).is_file() for url in plane.urls)
