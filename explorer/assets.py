"""The content-addressed cache of files the in-browser plane fetches, and `PlaneAssets`, what the
page tells the browser about them.

Files are served as static files (Streamlit's `server.enableStaticServing`, URL `app/static/...`)
rather than sent as component data, so they cross the wire once, not on every rerun. Each file is
named by a hash of its content, so a browser cache can never hold a stale one, and is written
atomically (temp file + rename), so a concurrent reader never sees half a file. The cache is
bounded (`prune_cache`). What each file holds is `explorer.formats`'s; besides those, the cache
keeps each model's density level (float64, 8 bytes) for the server, which computes it slowly.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import sweep_temp_files, write_atomic
from .formats import (
    JUDGE_CONFIDENT,
    LOG_LAM_SCALE,
    AssetError,
    PlaneArrays,
    pack_decoder,
    pack_dial_grid,
    pack_judge,
    pack_points,
    pack_train,
    read_judge,
    read_plane_arrays,
)

CACHE_SUBDIR = "cache"  # under the app's static folder; gitignored
# The images every model shares take 55 MB and each model's own files about 2.8 MB, so this
# holds the files of some 70 models before the least recently published go.
CACHE_MAX_BYTES = 256 * 2**20
URL_PREFIX = "app/static"  # where Streamlit serves <app folder>/static
APP_STATIC_DIR = Path(__file__).resolve().parents[1] / "static"  # app.py's folder is the package's parent


@dataclass(frozen=True)
class DialAssets:
    """A dial's part of the plane: its files (the decoder's and encoder's FiLM networks follow their
    layers in their files) and what the browser interpolates and draws between its grid's lambdas."""

    grid_url: str  # the test codes on the grid (explorer.formats.pack_dial_grid)
    lams: tuple[float, ...]  # the grid's lambdas, ascending; its ends are the dial's range
    lam: float  # the lambda of the points file's codes
    decoder_film_sizes: tuple[int, ...]  # [1, hidden, hidden, 2 * the decoder's hidden units]
    encoder_film_sizes: tuple[int, ...]  # the same for the encoder; () if the file has no encoder
    curve: dict  # the test curve: {"lams", "recon", "kl"}, lists of C floats

    def to_data(self) -> dict:
        return {"grid_url": self.grid_url, "lams": list(self.lams), "lam": self.lam,
                "decoder_film_sizes": list(self.decoder_film_sizes),
                "encoder_film_sizes": list(self.encoder_film_sizes), "log_lam_scale": LOG_LAM_SCALE,
                "curve": {k: list(v) for k, v in self.curve.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> DialAssets:
        return cls(**{**d, "lams": tuple(d["lams"]), "decoder_film_sizes": tuple(d["decoder_film_sizes"]),
                      "encoder_film_sizes": tuple(d["encoder_film_sizes"])})


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
    dial: DialAssets | None = None  # a dial's; None for a model of one lambda

    @property
    def urls(self) -> tuple[str, ...]:
        """Every file the browser fetches for this plane."""
        return tuple(url for url in (self.decoder_url, self.points_url, self.train_url, self.test_images_url,
                                     self.train_images_url, self.encoder_url,
                                     self.dial.grid_url if self.dial else "") if url)

    def to_data(self) -> dict:
        """The model's part of the component's data (explorer/component/protocol.js, PlaneData)."""
        return {"decoder_url": self.decoder_url, "layer_sizes": list(self.layer_sizes),
                "points_url": self.points_url, "n_points": self.n_points,
                "train_url": self.train_url, "n_train": self.n_train,
                "test_images_url": self.test_images_url, "train_images_url": self.train_images_url,
                "image_shape": list(self.image_shape),
                "density_level": self.density_level,
                "encoder_url": self.encoder_url, "encoder_sizes": list(self.encoder_sizes),
                "dial": self.dial.to_data() if self.dial else None}


def _name(stem: str, blob: bytes, suffix: str = ".bin") -> str:
    return f"{stem}-{hashlib.sha256(blob).hexdigest()[:16]}{suffix}"


def publish(static_dir: str | Path, stem: str, blob: bytes, suffix: str = ".bin") -> str:
    """Write blob once under <static_dir>/cache/<stem>-<hash><suffix>; return its URL relative to the app.

    A file already there is touched instead, so that its mtime says when it was last published:
    `prune_cache` drops the least recently published files first."""
    target = Path(static_dir) / CACHE_SUBDIR / _name(stem, blob, suffix)
    try:
        os.utime(target)
    except FileNotFoundError:
        write_atomic(target, blob)
    return f"{URL_PREFIX}/{CACHE_SUBDIR}/{target.name}"


def _layers_blob(arrays: PlaneArrays, side: str) -> tuple[bytes, list[int], list[int]]:
    """The decoder's or encoder's file (a dial's FiLM network after its layers), its layer sizes and
    its FiLM network's ([] for a model of one lambda)."""
    blob, sizes = pack_decoder(getattr(arrays, side))
    film = getattr(arrays.dial, f"{side}_film") if arrays.dial else []
    if not film:
        return blob, sizes, []
    film_blob, film_sizes = pack_decoder(film)
    return blob + film_blob, sizes, film_sizes


def model_asset_names(arrays: PlaneArrays) -> list[str]:
    """Names of the cache files that belong to this model alone (not the images every model shares)."""
    encoder = [_name("encoder", _layers_blob(arrays, "encoder")[0])] if arrays.encoder else []
    grid = [_name("dial", pack_dial_grid(arrays.dial.grid))] if arrays.dial else []
    points = pack_points(arrays.test_mu, arrays.test_logvar, arrays.test_labels)
    return encoder + grid + [_name("decoder", _layers_blob(arrays, "decoder")[0]), _name("points", points),
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
    them (8 bytes, float64): computing it is slow, and a restarted server or a
    model explored again finds it there. A missing or unreadable file is computed afresh."""
    target = Path(static_dir) / CACHE_SUBDIR / _name("level", points)
    try:
        level = float(np.frombuffer(target.read_bytes(), "<f8")[0])
        if math.isfinite(level):
            os.utime(target)
            return level
    except (OSError, ValueError, IndexError):
        pass
    from .density import density_level  # scipy: not needed to tell a browser where known files are
    level = density_level(mu, logvar)
    write_atomic(target, np.array([level], "<f8").tobytes())
    return level


# The images every model shares, published once per process: (static folder, stem) -> (the array, URL).
_IMAGES: dict[tuple[str, str], tuple[weakref.ref, str]] = {}


@dataclass(frozen=True)
class JudgeAssets:
    """The digit classifier the plane judges decodes with (explorer.classifier), published: its
    weights' file and architecture, and the rule: a decode is recognised as a digit when its
    largest softmax probability is at least `confident`."""

    url: str
    image_shape: tuple[int, int]
    channels: tuple[int, int]
    hidden: int
    classes: int
    confident: float

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url,)

    def to_data(self) -> dict:
        return {"url": self.url, "image_shape": list(self.image_shape), "channels": list(self.channels),
                "hidden": int(self.hidden), "classes": int(self.classes), "confident": float(self.confident)}


def publish_judge(static_dir: str | Path, path: str | Path) -> JudgeAssets:
    """Publish the digit classifier at `path` (explorer.classifier's file) for the browser to judge
    decodes with; `AssetError` names a file that is not one."""
    judge = read_judge(path)
    url = publish(static_dir, "judge", pack_judge(judge))
    return JudgeAssets(url=url, image_shape=judge.image_shape, channels=judge.channels, hidden=judge.hidden,
                       classes=judge.classes, confident=JUDGE_CONFIDENT)


def publish_images(static_dir: str | Path, stem: str, images: np.ndarray) -> str:
    """`publish` of a split's images (uint8, (N, H, W)), remembered for the very same array while its
    file is there, so that every model published after the first skips copying and hashing them."""
    known = _IMAGES.get((str(static_dir), stem))
    if known is not None and known[0]() is images:
        target = Path(static_dir) / CACHE_SUBDIR / Path(known[1]).name
        try:
            os.utime(target)
            return known[1]
        except FileNotFoundError:
            pass
    url = publish(static_dir, stem, np.ascontiguousarray(images, np.uint8).tobytes())
    _IMAGES[(str(static_dir), stem)] = (weakref.ref(images), url)
    return url


def publish_plane(static_dir: str | Path, arrays: PlaneArrays, test_images: np.ndarray,
                  train_images: np.ndarray) -> PlaneAssets:
    """Publish everything the plane fetches; the images, uint8 (N, H, W) and (M, H, W), must be
    the ones the model encoded (`explorer.data.load_split(...).images`)."""
    for split, images, mu in (("test", test_images, arrays.test_mu), ("training", train_images, arrays.train_mu)):
        if len(images) != len(mu):
            raise AssetError(f"the data has {len(images)} {split} images but the model's embedding has "
                             f"{len(mu)}: were they made from different datasets?")
    blob, sizes, decoder_film_sizes = _layers_blob(arrays, "decoder")
    image_shape = tuple(int(s) for s in test_images.shape[1:])
    if sizes[-1] != image_shape[0] * image_shape[1] or tuple(train_images.shape[1:]) != image_shape:
        raise AssetError(f"the decoder makes {sizes[-1]} pixels but the images are {image_shape} (test) "
                         f"and {tuple(train_images.shape[1:])} (training)")
    encoder_url, encoder_sizes, encoder_film_sizes = "", (), []
    if arrays.encoder:
        encoder_blob, encoder_sizes, encoder_film_sizes = _layers_blob(arrays, "encoder")
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
        test_images_url=publish_images(static_dir, "test-images", test_images),
        train_images_url=publish_images(static_dir, "train-images", train_images),
        image_shape=image_shape,
        density_level=cached_density_level(static_dir, points, arrays.test_mu, arrays.test_logvar),
        encoder_url=encoder_url, encoder_sizes=tuple(encoder_sizes),
        dial=None if arrays.dial is None else DialAssets(
            grid_url=publish(static_dir, "dial", pack_dial_grid(arrays.dial.grid)),
            lams=tuple(float(v) for v in arrays.dial.lams), lam=arrays.dial.lam,
            decoder_film_sizes=tuple(decoder_film_sizes), encoder_film_sizes=tuple(encoder_film_sizes),
            curve={k: [float(v) for v in a] for k, a in arrays.dial.curve.items()}))
    prune_cache(static_dir, keep=(*plane.urls, _name("level", points)))
    return plane


def manifest_key(files) -> str:
    """What names a published plane: the model file and the dataset files it was published from,
    each by its path, size and modification time (a file replaced on disk is another key)."""
    parts = []
    for path in files:
        st = Path(path).stat()
        parts.append(f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def write_manifest(static_dir: str | Path, key: str, plane: PlaneAssets) -> None:
    """Keep what `publish_plane` answered under `key` (`manifest_key`), so that a restarted server
    tells the browser where a model's files are without reading the datasets or hashing them."""
    fields = dataclasses.asdict(plane)
    write_atomic(Path(static_dir) / CACHE_SUBDIR / f"plane-{key}.json", json.dumps(fields).encode())


def read_manifest(static_dir: str | Path, key: str) -> PlaneAssets | None:
    """The PlaneAssets kept under `key`, or None if there is none or it does not read as one."""
    try:
        fields = json.loads((Path(static_dir) / CACHE_SUBDIR / f"plane-{key}.json").read_bytes())
        dial = fields.get("dial")
        return PlaneAssets(**{**fields, "image_shape": tuple(fields["image_shape"]),
                              "encoder_sizes": tuple(fields["encoder_sizes"]),
                              "dial": None if dial is None else DialAssets.from_dict(dial)})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def all_published(static_dir: str | Path, plane: PlaneAssets | JudgeAssets) -> bool:
    """Whether every file of `plane` is still in the cache: `prune_cache` may have deleted a
    file of a model published long ago, while a server still holds its PlaneAssets."""
    folder = Path(static_dir) / CACHE_SUBDIR
    return all((folder / Path(url).name).is_file() for url in plane.urls)
