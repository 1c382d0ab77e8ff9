"""Dataset reading: the IDX format of MNIST and its drop-in relatives (Fashion-MNIST, KMNIST).

This is the only module that touches dataset files. An IDX file is a big-endian header
(two zero bytes, a type code, the number of dimensions, then one int32 per dimension)
followed by the raw array; files may be gzip-compressed. Every way a file can be wrong
raises `DataError` naming the file and the fault.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"

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


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupt gzip data ({e})") from None
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzip or raw) into a native-endian numpy array, validating it fully."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"{path}: not an IDX file (magic number 0x{raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: header truncated (needs {header} bytes, file has {len(raw)})")
    shape = struct.unpack(f">{ndim}i", raw[4:header])
    if any(d < 0 for d in shape):
        raise DataError(f"{path}: negative dimension in shape {shape}")
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise DataError(f"{path}: truncated: shape {shape} needs {expected} data bytes, found {found}")
    if found > expected:
        raise DataError(f"{path}: {found - expected} unexpected bytes after the data of shape {shape}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder / stem}[.gz]: file not found")


def load_split(split: str, folder: str | Path = DEFAULT_DIR) -> Split:
    """Load the 'train' or 't10k'/'test' split from a folder of standard-named IDX files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: dataset folder not found")
    image_stem, label_stem = _SPLIT_FILES[split]
    image_path, label_path = _find(folder, image_stem), _find(folder, label_stem)
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{image_path}: expected uint8 images (N, rows, cols), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(f"{label_path}: expected uint8 labels (N,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{folder}: {len(images)} {split} images but {len(labels)} labels")
    return Split(images, labels)
