"""The IDX reader on crafted good and bad files, and the shipped MNIST copy."""
import gzip
import hashlib

import numpy as np
import pytest

from explorer.data import DEFAULT_DIR, DataError, load_split, read_idx
from conftest import idx_bytes


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
    with pytest.raises(DataError, match="5 test images but 4 labels"):
        load_split("test", tmp_path)
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
