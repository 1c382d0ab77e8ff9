"""Dataset reading: the IDX format of MNIST and its drop-in relatives (Fashion-MNIST, KMNIST).

This is the only module that touches dataset files. An IDX file is a big-endian header
(two zero bytes, a type code, the number of dimensions, then one int32 per dimension)
followed by the raw array; files may be gzip-compressed. Every way a file can be wrong
raises `DataError` naming the file and the fault.

The header fixes how many bytes may follow, so a gzip file is decompressed as a stream into
an array of exactly that size and refused the moment it holds a byte more: a small
compressed file that expands to gigabytes costs no more than the data its header declares.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .files import NotRegularFileError, open_regular

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
N_CLASSES = 10  # MNIST, Fashion-MNIST and KMNIST all label ten classes, 0-9
# The largest array a file may declare. A training run holds a split as float32, 4x its bytes,
# so 1 GiB of uint8 images is already 4 GiB of RAM; EMNIST's largest split is 0.55 GB.
MAX_DATA_BYTES = 1 << 30
# Deflate expands at most about 1032:1 (a 258-byte match per 2 bits, RFC 1951), so a header
# declaring more than that times the compressed size is refused before any decompression.
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20  # decompressed bytes per read: bounds the stream's working memory
_MAX_NDIM = 64  # numpy's limit on an array's dimensions
BINARIZE_SEED = 0  # the one draw of a binarised evaluation set: every run scores the same 0/1 images

# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DataError(ValueError):
    """A dataset file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Split:
    """One split of an image dataset: uint8 images (N, H, W) and uint8 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def read_idx(path: str | Path, max_bytes: int = MAX_DATA_BYTES) -> np.ndarray:
    """Read one IDX file (gzip or raw) into a native-endian numpy array, validating it fully.

    Memory use is the declared array (at most `max_bytes`) plus one read chunk, whatever the file holds.
    """
    path = Path(path)
    try:
        with open_regular(path) as f:
            compressed = f.read(2) == b"\x1f\x8b"  # gzip magic, whatever the file is called
            f.seek(0)
            size = os.fstat(f.fileno()).st_size
            if not compressed:
                return _read_stream(path, f, max_bytes, raw_size=size)
            with gzip.GzipFile(fileobj=f) as stream:
                return _read_stream(path, stream, max_bytes, gzip_size=size)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except NotRegularFileError as e:
        raise DataError(f"{path}: {e}") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: corrupt gzip data ({e})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _read_stream(path: Path, f: BinaryIO, max_bytes: int, raw_size: int | None = None,
                 gzip_size: int | None = None) -> np.ndarray:
    """The array of an open IDX stream: a raw file of `raw_size` bytes or a gzip file of `gzip_size`."""
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(magic)} bytes)")
    zero, type_code, ndim = struct.unpack(">HBB", magic)
    if zero != 0 or type_code not in _IDX_DTYPES or not 0 < ndim <= _MAX_NDIM:
        raise DataError(f"{path}: not an IDX file (magic number 0x{magic.hex()})")
    header = 4 + 4 * ndim
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: header truncated (needs {header} bytes, file has {4 + len(dims)})")
    shape = struct.unpack(f">{ndim}i", dims)
    if any(d < 0 for d in shape):
        raise DataError(f"{path}: negative dimension in shape {shape}")
    dtype = _IDX_DTYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow, whatever the shape
    if expected > max_bytes:
        raise DataError(f"{path}: shape {shape} declares {expected} data bytes, more than the limit of {max_bytes}")
    if math.prod(max(d, 1) for d in shape) * dtype.itemsize > max_bytes:  # numpy refuses such strides even when empty
        raise DataError(f"{path}: shape {shape} is empty but its other dimensions exceed the limit of "
                        f"{max_bytes} bytes")
    if gzip_size is not None and expected > _MAX_DEFLATE_RATIO * gzip_size:
        raise DataError(f"{path}: truncated: shape {shape} needs {expected} data bytes, more than a "
                        f"{gzip_size}-byte gzip file can hold")
    if raw_size is not None:
        found = raw_size - header
        if found < expected:
            raise DataError(f"{path}: truncated: shape {shape} needs {expected} data bytes, found {found}")
        if found > expected:
            raise DataError(f"{path}: {found - expected} unexpected bytes after the data of shape {shape}")
    data = np.empty(expected, np.uint8)
    view, filled = memoryview(data), 0
    while filled < expected:
        n = f.readinto(view[filled:filled + _CHUNK])
        if not n:
            raise DataError(f"{path}: truncated: shape {shape} needs {expected} data bytes, found {filled}")
        filled += n
    if raw_size is None and f.read(1):  # also makes gzip check the stream's CRC and length
        raise DataError(f"{path}: unexpected bytes after the data of shape {shape}")
    return data.view(dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder / stem}[.gz]: file not found")


def split_files(split: str, folder: str | Path = DEFAULT_DIR) -> tuple[Path, Path]:
    """The image and label files of the 'train' or 'test' split in a folder of standard-named IDX files."""
    folder = Path(folder)
    if split not in _SPLIT_FILES:
        raise DataError(f"{folder}: no split {split!r} (there are {', '.join(_SPLIT_FILES)})")
    if not folder.is_dir():
        raise DataError(f"{folder}: dataset folder not found")
    image_stem, label_stem = _SPLIT_FILES[split]
    return _find(folder, image_stem), _find(folder, label_stem)


def load_split(split: str, folder: str | Path = DEFAULT_DIR, n_classes: int = N_CLASSES) -> Split:
    """Load the 'train' or 'test' split from a folder of standard-named IDX files: at least one
    image, uint8 (N, rows, cols), with N uint8 labels in 0..n_classes-1."""
    image_path, label_path = split_files(split, folder)
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{image_path}: expected uint8 images (N, rows, cols), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(f"{label_path}: expected uint8 labels (N,), got {labels.dtype} {labels.shape}")
    if len(images) == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise DataError(f"{image_path}: no images to {split} on (shape {images.shape})")
    if len(images) != len(labels):
        raise DataError(f"{label_path}: {len(labels)} labels for the {len(images)} {split} images of {image_path}")
    if (bad := np.flatnonzero(labels >= n_classes)).size:
        raise DataError(f"{label_path}: label {labels[bad[0]]} at index {bad[0]} is outside the "
                        f"{n_classes} classes 0-{n_classes - 1} ({bad.size} such labels)")
    return Split(images, labels)


def binarize(images: np.ndarray, seed: int = BINARIZE_SEED) -> np.ndarray:
    """uint8 images with every pixel drawn once as x ~ Bernoulli(intensity / 255), kept as 0 or
    255 so that they read like any other images; the same seed gives the same draw. How a
    binarised model is scored (`TrainConfig.binarize`); its training draws afresh at every step."""
    if images.dtype != np.uint8:
        raise ValueError(f"binarize takes uint8 images, got {images.dtype}")
    draw = np.random.default_rng(seed).random(images.shape, dtype=np.float32)  # in [0, 1): 255 always, 0 never
    return np.where(draw < images.astype(np.float32) / 255, np.uint8(255), np.uint8(0))
