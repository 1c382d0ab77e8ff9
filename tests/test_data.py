"""The IDX reader on crafted good and bad files, and the shipped MNIST copy."""
import gzip
import hashlib
import os
import struct
import time
import tracemalloc

import numpy as np
import pytest
from conftest import idx_bytes

from explorer.data import DEFAULT_DIR, MAX_DATA_BYTES, DataError, load_split, read_idx


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_reads_raw_and_gzip(tmp_path, images, compress):
    blob = idx_bytes(images)
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(gzip.compress(blob) if compress else blob)
    np.testing.assert_array_equal(read_idx(path), images)


def test_reads_wider_types_big_endian(tmp_path):
    a = np.arange(6, dtype=np.int32).reshape(2, 3) * 1000
    (tmp_path / "ints").write_bytes(idx_bytes(a, 0x0C))
    np.testing.assert_array_equal(read_idx(tmp_path / "ints"), a)


@pytest.mark.parametrize("mangle, message", [
    (lambda b: b"\x01\x02" + b[2:], "not an IDX file"),
    (lambda b: b[:2] + b"\x07" + b[3:], "not an IDX file"),
    (lambda b: b[:3], "too short"),
    (lambda b: b[:10], "header truncated"),
    (lambda b: b[:-1], "truncated"),
    (lambda b: b + b"\x00\x00", "unexpected bytes"),
    (lambda b: gzip.compress(b)[:-12], "corrupt gzip"),
])
def test_bad_files_give_clear_errors(tmp_path, images, mangle, message):
    path = tmp_path / "bad.gz"
    path.write_bytes(mangle(idx_bytes(images)))
    with pytest.raises(DataError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "nope")
    with pytest.raises(DataError, match="dataset folder not found"):
        load_split("test", tmp_path / "nope")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        load_split("test", tmp_path)


def test_load_split_checks_counts_and_shapes(tmp_path, images):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DataError, match="4 labels for the 5 test images") as err:
        load_split("test", tmp_path)
    assert str(tmp_path / "t10k-labels-idx1-ubyte") in str(err.value)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros((5, 1), np.uint8)))
    with pytest.raises(DataError, match="expected uint8 labels"):
        load_split("test", tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(gzip.compress(idx_bytes(np.arange(5, dtype=np.uint8))))
    split = load_split("test", tmp_path)  # raw images beside gzip labels, named without .gz
    assert len(split) == 5 and split.labels.tolist() == [0, 1, 2, 3, 4]


def test_shipped_mnist_matches_published_checksums_and_counts():
    published = {"t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
                 "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
                 "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
                 "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624"}
    for name, md5 in published.items():
        assert hashlib.md5(gzip.decompress((DEFAULT_DIR / f"{name}.gz").read_bytes())).hexdigest() == md5
    train, test = load_split("train"), load_split("test")
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _write_split(folder, images, labels, split="test"):
    stems = {"test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
             "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")}[split]
    (folder / stems[0]).write_bytes(idx_bytes(images))
    (folder / stems[1]).write_bytes(idx_bytes(labels))
    return folder / stems[0], folder / stems[1]


def test_empty_split_is_refused(tmp_path):
    image_path, _ = _write_split(tmp_path, np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))
    with pytest.raises(DataError, match="no images") as err:
        load_split("test", tmp_path)
    assert str(image_path) in str(err.value)
    _write_split(tmp_path, np.zeros((3, 0, 28), np.uint8), np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="no images"):
        load_split("test", tmp_path)


def test_labels_outside_the_classes_are_refused(tmp_path, images):
    _, label_path = _write_split(tmp_path, images, np.array([0, 9, 10, 3, 255], np.uint8))
    with pytest.raises(DataError, match=r"label 10 at index 2 is outside the 10 classes 0-9 \(2 such") as err:
        load_split("test", tmp_path)
    assert str(label_path) in str(err.value)
    assert load_split("test", tmp_path, n_classes=256).labels.tolist() == [0, 9, 10, 3, 255]
    _write_split(tmp_path, images, np.array([0, 9, 1, 3, 2], np.uint8))
    assert load_split("test", tmp_path).labels.tolist() == [0, 9, 1, 3, 2]


def test_unknown_split_name(tmp_path):
    with pytest.raises(DataError, match="no split 'valid'"):
        load_split("valid", tmp_path)


@pytest.mark.parametrize("shape", [(2**31 - 1,) * 3, (2**31 - 1,) * 8, (2**31 - 1, 2**31 - 1, 2**31 - 1, 2)])
@pytest.mark.parametrize("compress", [False, True])
def test_shape_whose_size_overflows_int64_names_the_file(tmp_path, shape, compress):
    assert np.prod(shape, dtype=np.float64) * 8 > 2**63  # byte counts numpy's int64 cannot hold
    blob = struct.pack(">HBB", 0, 0x0E, len(shape)) + struct.pack(f">{len(shape)}i", *shape) + bytes(64)
    path = tmp_path / "huge-idx"
    path.write_bytes(gzip.compress(blob) if compress else blob)
    with pytest.raises(DataError, match="more than the limit") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_declared_size_above_limit_or_beyond_gzip_capacity_is_refused_before_reading(tmp_path):
    rows = MAX_DATA_BYTES // (28 * 28) + 1
    blob = struct.pack(">HBBiii", 0, 0x08, 3, rows, 28, 28)
    (tmp_path / "big").write_bytes(gzip.compress(blob))
    with pytest.raises(DataError, match="more than the limit"):
        read_idx(tmp_path / "big")
    # 1,000 images of 28x28 (784 kB) cannot come out of a gzip file of a few dozen bytes
    (tmp_path / "small").write_bytes(gzip.compress(struct.pack(">HBBiii", 0, 0x08, 3, 1000, 28, 28)))
    with pytest.raises(DataError, match="more than a .*-byte gzip file can hold"):
        read_idx(tmp_path / "small")
    (tmp_path / "ok").write_bytes(idx_bytes(np.zeros((2, 4, 4), np.uint8)))
    assert read_idx(tmp_path / "ok", max_bytes=32).shape == (2, 4, 4)
    with pytest.raises(DataError, match="32 data bytes, more than the limit of 31"):
        read_idx(tmp_path / "ok", max_bytes=31)


def _gzip_bomb(header: bytes, members: int = 128) -> bytes:
    """An IDX header followed by 128 x 16 MiB of zeros as concatenated gzip members (a valid gzip
    stream, as `cat a.gz b.gz` makes): about 2 MB on disk, 2 GiB decompressed."""
    zeros = gzip.compress(bytes(16 << 20), compresslevel=9)
    return gzip.compress(header) + zeros * members


@pytest.mark.parametrize("shape", [(60000, 28, 28), (10, 28, 28)])
def test_gzip_bomb_is_refused_fast_with_bounded_memory(tmp_path, shape):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(_gzip_bomb(struct.pack(">HBBiii", 0, 0x08, 3, *shape)))
    assert 1.9e6 < path.stat().st_size < 2.2e6
    declared = int(np.prod(shape))
    tracemalloc.start()
    start = time.process_time()  # CPU time: the shared test machine's load does not count
    try:
        with pytest.raises(DataError, match="unexpected bytes after the data") as err:
            read_idx(path)
        seconds = time.process_time() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(err.value)
    assert seconds < 1.0
    assert peak < declared + (8 << 20)  # the declared array plus a few read chunks, not the 2 GiB


def test_named_pipe_and_folder_do_not_block(tmp_path):
    fifo = tmp_path / "t10k-images-idx3-ubyte"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="named pipe") as err:
        read_idx(fifo)
    assert str(fifo) in str(err.value)
    with pytest.raises(DataError, match="directory"):
        read_idx(tmp_path)
    with pytest.raises(DataError, match="file not found"):  # a split ignores what is not a regular file
        load_split("test", tmp_path)


def test_empty_shape_with_huge_other_dimensions_and_too_many_dimensions_are_refused(tmp_path):
    # both found by tests/test_fuzz.py: numpy raised ValueError for these headers
    path = tmp_path / "odd-idx"
    path.write_bytes(struct.pack(">HBBiii", 0, 0x0C, 3, 0, 2**31 - 1, 2**31 - 1))
    with pytest.raises(DataError, match="shape .* is empty but its other dimensions exceed the limit") as err:
        read_idx(path)
    assert str(path) in str(err.value)
    path.write_bytes(struct.pack(">HBB", 0, 0x08, 65) + struct.pack(">65i", *[1] * 65) + b"\x07")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)
    path.write_bytes(struct.pack(">HBB", 0, 0x08, 64) + struct.pack(">64i", *[1] * 64) + b"\x07")
    assert read_idx(path).shape == (1,) * 64
    path.write_bytes(struct.pack(">HBBiii", 0, 0x08, 3, 0, 28, 28))
    assert read_idx(path).shape == (0, 28, 28)  # an empty array reads; load_split refuses it as a split


def test_binarize_draws_each_pixel_as_a_bernoulli_of_its_intensity_once_per_seed():
    from explorer.data import binarize
    levels = np.repeat(np.array([0, 1, 64, 128, 254, 255], np.uint8), 40_000).reshape(6, 200, 200)
    out = binarize(levels)
    assert out.dtype == np.uint8 and out.shape == levels.shape and set(np.unique(out)) == {0, 255}
    share = (out == 255).reshape(6, -1).mean(1)
    assert share[0] == 0 and share[-1] == 1  # black stays black, white stays white
    expected = levels[:, 0, 0] / 255
    assert np.all(np.abs(share - expected) <= 5 * np.sqrt(expected * (1 - expected) / 40_000) + 1e-12), share
    np.testing.assert_array_equal(binarize(levels), out)  # one draw per seed: every run scores the same images
    assert not np.array_equal(binarize(levels, seed=1), out)
    np.testing.assert_array_equal(binarize(out), out)  # 0/1 images are their own draw
    with pytest.raises(ValueError, match="binarize takes uint8 images, got float32"):
        binarize(levels.astype(np.float32))
