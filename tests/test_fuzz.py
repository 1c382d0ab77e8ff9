"""Fuzzing the readers of untrusted input: every input either loads or raises the reader's own
error naming the file, within the Hypothesis profile's deadline (tests/conftest.py).

Targets: the IDX reader (arbitrary bytes; crafted headers over raw and gzip data), load_split,
the checkpoint reader (arbitrary bytes; crafted safetensors headers; a valid file with its
metadata or one array mutated), and the plane component's event validators. Whatever loads is
checked for the invariants the app relies on, so a reader that lets a bad file through fails too.
"""
import dataclasses
import gzip
import json
import math
import struct

import numpy as np
import pytest
from hypothesis import currently_in_test_context, event, example, given
from hypothesis import strategies as st
from safetensors import numpy as st_numpy

from explorer import checkpoint as ckpt_io
from explorer.checkpoint import Checkpoint, CheckpointError, Embedding
from explorer.component.protocol import read_drag, read_pick, read_view
from explorer.config import TrainConfig
from explorer.data import N_CLASSES, DataError, load_split, read_idx
from explorer.evaluate import Metrics
from explorer.model import LOGVAR_MAX, LOGVAR_MIN, VAE, ModelConfig

IDX_TYPES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
# Training in other tests sets flush-to-zero for the whole process (torch.set_flush_denormal), where
# Hypothesis refuses to draw subnormal floats.
FLOATS = {"allow_subnormal": False}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


# IDX ------------------------------------------------------------------------------------------

@st.composite
def idx_files(draw) -> tuple[bytes, tuple[int, ...] | None]:
    """An IDX file, mostly well-formed in its header and perturbed in its size, type or
    compression; returns the bytes and the shape the header declares (None if no valid header)."""
    if draw(st.integers(0, 3)):  # mostly a valid magic number, so that the sizes get tested
        zero, type_code, ndim = 0, draw(st.sampled_from(sorted(IDX_TYPES))), draw(st.integers(1, 4))
    else:
        zero, type_code, ndim = draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 255)), draw(st.integers(0, 255))
    # mostly small sizes, so that many files are whole and load; sometimes huge or negative ones
    dim = st.one_of(*[st.integers(0, 5)] * 6, st.sampled_from([28, 60000, 2**31 - 1]), st.integers(-2**31, -1))
    shape = tuple(draw(st.lists(dim, min_size=min(ndim, 8), max_size=min(ndim, 8)))) + (1,) * max(0, ndim - 8)
    header = struct.pack(">HBB", zero, type_code, ndim) + struct.pack(f">{ndim}i", *shape)
    declared = math.prod(shape) * IDX_TYPES.get(type_code, 1) if min(shape, default=0) >= 0 else 0
    size = max(0, min(declared, 4096) + draw(st.sampled_from([0, 0, 0, -1, 1, 7])))
    blob = header + draw(st.binary(min_size=size, max_size=size))
    blob = blob[:draw(st.integers(0, len(blob)))] if draw(st.integers(0, 9)) == 0 else blob
    if draw(st.booleans()):
        blob = gzip.compress(blob, compresslevel=draw(st.integers(0, 9)))
        if draw(st.integers(0, 4)) == 0:  # corrupt or cut the compressed stream
            cut = draw(st.integers(0, len(blob)))
            blob = blob[:cut] + draw(st.binary(max_size=8)) + blob[cut + 1:]
        if draw(st.integers(0, 9)) == 0:  # a second gzip member, e.g. a small bomb
            blob += gzip.compress(bytes(draw(st.integers(0, 1 << 20))))
    valid_header = zero == 0 and type_code in IDX_TYPES and ndim > 0
    return blob, shape if valid_header else None


def _read_idx_or_error(path):
    try:
        array = read_idx(path)
    except DataError as e:
        assert str(e).startswith(f"{path}: ")
        event("refused")
        return None
    event("loads")
    return array


@given(blob=st.binary(max_size=2048) | st.binary(max_size=2048).map(lambda b: b"\x1f\x8b" + b))
def test_idx_reader_on_arbitrary_bytes(folder, blob):
    path = folder / "any-idx"
    path.write_bytes(blob)
    array = _read_idx_or_error(path)
    assert array is None or array.dtype.isnative


@given(idx_files())
def test_idx_reader_on_crafted_headers(folder, case):
    blob, shape = case
    path = folder / "crafted-idx.gz"
    path.write_bytes(blob)
    array = _read_idx_or_error(path)
    if array is not None:
        assert shape is not None and array.shape == shape and array.dtype.isnative


@given(n_images=st.integers(0, 6), extra_labels=st.sampled_from([0, 0, 0, -1, 1]), rows=st.integers(0, 3),
       labels=st.lists(st.integers(0, 9) | st.integers(10, 255), max_size=6), wide_labels=st.integers(0, 4),
       compress=st.booleans())
def test_load_split_on_crafted_pairs(folder, n_images, extra_labels, rows, labels, wide_labels, compress):
    n_labels, wide_labels = max(0, n_images + extra_labels), wide_labels == 0
    images = np.zeros((n_images, rows, 3), np.uint8)
    labels = np.resize(np.array(labels or [0], np.uint8), n_labels)
    label_blob = struct.pack(">HBBi", 0, 0x0C if wide_labels else 0x08, 1, n_labels) + \
        labels.astype(">i4" if wide_labels else np.uint8).tobytes()
    image_blob = struct.pack(">HBBiii", 0, 0x08, 3, *images.shape) + images.tobytes()
    split_dir = folder / "split"
    split_dir.mkdir(exist_ok=True)
    for name, blob in (("t10k-images-idx3-ubyte", image_blob), ("t10k-labels-idx1-ubyte", label_blob)):
        (split_dir / name).write_bytes(gzip.compress(blob) if compress else blob)
    try:
        split = load_split("test", split_dir)
    except DataError as e:
        assert str(e).startswith(str(split_dir))
        event("refused")
        return
    event("loads")
    assert len(split) >= 1 and len(split.images) == len(split.labels) and split.images.shape[1:] == (rows, 3)
    assert split.labels.dtype == np.uint8 and split.labels.max() < N_CLASSES


# Checkpoints ----------------------------------------------------------------------------------

TINY = TrainConfig(epochs=1, model=ModelConfig(image_shape=(4, 4), hidden=(8,), latent_dim=2))


@pytest.fixture(scope="module")
def tiny_parts():
    """The arrays and metadata of a valid checkpoint of a tiny untrained model: small files, fast examples."""
    rng = np.random.default_rng(0)
    n_test, n_train = 5, 6
    embedding = Embedding(
        test_mu=rng.normal(size=(n_test, 2)).astype(np.float32), test_logvar=np.zeros((n_test, 2), np.float32),
        test_labels=np.arange(n_test, dtype=np.uint8), test_recon=np.ones(n_test, np.float32),
        test_kl=np.ones(n_test, np.float32), test_log_px=-np.ones(n_test, np.float32),
        train_mu=rng.normal(size=(n_train, 2)).astype(np.float32), train_labels=np.arange(n_train, dtype=np.uint8))
    history = [{"epoch": 1, "recon": 10.0, "kl": 1.0, "loss": 11.0, "elapsed_s": 0.5}]
    ckpt = Checkpoint(VAE(TINY.model), TINY, embedding, Metrics(11.0, 10.0, 1.0, -10.5, 10, 2, n_test),
                      history, "fuzz", "mnist")
    blob = ckpt_io.to_bytes(ckpt)
    n = int.from_bytes(blob[:8], "little")
    return st_numpy.load(blob), json.loads(json.loads(blob[8:8 + n])["__metadata__"]["explorer"])


TINY_DIAL = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, film_hidden=3), lam_range=(0.1, 10.0))


@pytest.fixture(scope="module")
def tiny_dial_parts(tiny_parts):
    """The same tiny checkpoint as a dial: its FiLM weights, a grid of 3 lambdas and a curve of 2."""
    from explorer.dial import DeltaCoded, Dial
    arrays, info = tiny_parts
    rng = np.random.default_rng(1)
    grid = DeltaCoded.encode(rng.normal(size=(3, 5, 2)))
    dial = Dial(np.array([0.1, 1.0, 10.0], np.float32), grid, DeltaCoded.encode(np.zeros((3, 5, 2))),
                np.array([0.1, 10.0], np.float32), np.array([10.0, 12.0], np.float32), np.array([2.0, 0.5], np.float32))
    base = Checkpoint(VAE(TINY_DIAL.model), TINY_DIAL, Embedding(
        **{k: arrays[k] for k in ("test_mu", "test_logvar", "test_labels", "test_recon", "test_kl", "test_log_px",
                                  "train_mu", "train_labels")}), None, [], "fuzz", "mnist", dial)
    blob = ckpt_io.to_bytes(base)
    n = int.from_bytes(blob[:8], "little")
    return st_numpy.load(blob), json.loads(json.loads(blob[8:8 + n])["__metadata__"]["explorer"])


@given(data=st.data())
def test_checkpoint_reader_on_mutated_dials(folder, tiny_dial_parts, data):
    arrays, info = tiny_dial_parts
    if data.draw(st.booleans()):
        info = data.draw(mutated_metadata(info))
    else:
        arrays = data.draw(mutated_arrays(arrays))
    path = folder / "mutated-dial.safetensors"
    path.write_bytes(st_numpy.save(arrays, metadata={"format": ckpt_io.FORMAT, "explorer": json.dumps(info)}))
    _read_ckpt_or_error(path)


def test_unmutated_tiny_dial_loads(folder, tiny_dial_parts):
    arrays, info = tiny_dial_parts
    path = folder / "tiny-dial.safetensors"
    path.write_bytes(st_numpy.save(arrays, metadata={"format": ckpt_io.FORMAT, "explorer": json.dumps(info)}))
    assert _read_ckpt_or_error(path).config == TINY_DIAL


def _read_ckpt_or_error(path):
    """Both readers on one file: each gives a checkpoint or CheckpointError naming it, and they agree."""
    results = []
    for read in (ckpt_io.read_header, ckpt_io.load):
        try:
            results.append(read(path))
        except CheckpointError as e:
            assert str(e).startswith(f"{path}: ")
            results.append(None)
    header, full = results
    if currently_in_test_context():
        event("loads" if full is not None else "header only" if header is not None else "refused")
    if full is not None:
        assert header is not None
        e = full.embedding
        assert len(e.test_mu) >= 1 and len(e.train_mu) >= ckpt_io.MIN_TRAIN_POINTS
        assert e.test_logvar.shape == e.test_mu.shape == (len(e.test_labels), full.config.model.latent_dim)
        assert all(np.isfinite(a).all() for a in (e.test_mu, e.test_logvar, e.train_mu, e.test_log_px))
        assert e.test_logvar.min() >= LOGVAR_MIN and e.test_logvar.max() <= LOGVAR_MAX
        assert max(e.test_labels.max(), e.train_labels.max()) < N_CLASSES
        assert all(isinstance(row["elapsed_s"], (int, float)) for row in full.history)
        assert (full.dial is not None) == full.config.dial
        if full.dial is not None:
            d, (low, high) = full.dial, full.config.lam_range
            mu, logvar = d.mu.decode(), d.logvar.decode()
            assert mu.shape == logvar.shape == (len(d.lams), len(e.test_mu), full.config.model.latent_dim)
            assert np.isfinite(mu).all() and LOGVAR_MIN <= logvar.min() and logvar.max() <= LOGVAR_MAX
            for lams in (d.lams, d.curve_lams):
                assert len(lams) >= 2 and np.all(np.diff(lams) > 0) and low * 0.99 <= lams[0] <= lams[-1] <= high * 1.01
    return full


@given(blob=st.binary(max_size=512) | st.binary(max_size=64).map(lambda b: len(b).to_bytes(8, "little") + b))
def test_checkpoint_reader_on_arbitrary_bytes(folder, blob):
    path = folder / "any.safetensors"
    path.write_bytes(blob)
    assert _read_ckpt_or_error(path) is None


_DTYPES = ["F32", "U8", "F64", "I64", "BOOL", "F16", "BF16", "F8_E4M3", "xx"]


@st.composite
def safetensors_files(draw) -> bytes:
    """A safetensors container with a crafted header: tensor entries with any dtype, shape and
    offsets, and metadata of any JSON value."""
    names = st.sampled_from(["test_mu", "train_mu", "test_labels", "model.to_stats.weight"]) | st.text(max_size=8)
    dims = st.lists(st.integers(0, 4) | st.sampled_from([-1, 2**40, 2**64]), max_size=3)
    entries = {}
    offset = 0
    for name in draw(st.lists(names, max_size=4, unique=True)):
        shape = draw(dims)
        end = offset + draw(st.integers(0, 64))
        entries[name] = {"dtype": draw(st.sampled_from(_DTYPES)), "shape": shape,
                         "data_offsets": draw(st.sampled_from([[offset, end], [end, offset], [0, 2**64]]))}
        offset = end
    meta = {"format": draw(st.sampled_from([ckpt_io.FORMAT, "other"])),
            "explorer": draw(st.text(max_size=40) | json_values.map(json.dumps))}
    if draw(st.booleans()):
        entries["__metadata__"] = meta if draw(st.integers(0, 3)) else draw(json_values)
    header = json.dumps(entries).encode()
    header += b" " * draw(st.integers(0, 8))
    return len(header).to_bytes(8, "little") + header + draw(st.binary(min_size=offset, max_size=offset + 8))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([10**400, -2**63, 2**63, 1e308]) |
    st.floats(allow_nan=False, allow_infinity=False, **FLOATS) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@given(safetensors_files())
def test_checkpoint_reader_on_crafted_safetensors_headers(folder, blob):
    path = folder / "crafted.safetensors"
    path.write_bytes(blob)
    assert _read_ckpt_or_error(path) is None


def _paths(value, prefix=()):
    """Every path to a value inside a JSON tree (the root included)."""
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_metadata(draw, info):
    info = json.loads(json.dumps(info))
    where = draw(st.sampled_from(list(_paths(info))))
    if not where:
        return draw(json_values)
    parent = info
    for key in where[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "replace", "delete", "nest"]))
    if action == "delete":
        del parent[where[-1]]
    elif action == "nest":
        depth = draw(st.integers(1, 200))
        parent[where[-1]] = json.loads("[" * depth + json.dumps(parent[where[-1]]) + "]" * depth)
    else:
        parent[where[-1]] = draw(json_values)
    return info


@st.composite
def mutated_arrays(draw, arrays):
    arrays = dict(arrays)
    key = draw(st.sampled_from(sorted(arrays)))
    a = arrays[key]
    action = draw(st.sampled_from(["value", "rows", "dtype", "drop", "keep"]))
    if action == "value" and a.size:
        a = a.copy()
        values = {"f": [np.nan, np.inf, -np.inf, 1e30, -1e30, 50.0, -50.0, 0.0],
                  "i": [127, -128, 9, 0]}.get(a.dtype.kind, [255, 10, 9, 0])  # int8: a dial's steps
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(values))
    elif action == "rows":
        a = np.resize(a, (draw(st.integers(0, 7)), *a.shape[1:]))
    elif action == "dtype":
        a = a.astype(draw(st.sampled_from([np.float64, np.float16, np.int64, np.uint8, np.float32])))
    elif action == "drop":
        del arrays[key]
        return arrays
    arrays[key] = np.ascontiguousarray(a)
    return arrays


@given(data=st.data())
def test_checkpoint_reader_on_mutated_checkpoints(folder, tiny_parts, data):
    arrays, info = tiny_parts
    if data.draw(st.booleans()):
        info = data.draw(mutated_metadata(info))
    else:
        arrays = data.draw(mutated_arrays(arrays))
    path = folder / "mutated.safetensors"
    path.write_bytes(st_numpy.save(arrays, metadata={"format": ckpt_io.FORMAT, "explorer": json.dumps(info)}))
    _read_ckpt_or_error(path)


def test_unmutated_tiny_checkpoint_loads(folder, tiny_parts):
    """The mutation fuzz starts from a file that loads, so what it refuses is the mutation."""
    arrays, info = tiny_parts
    path = folder / "tiny.safetensors"
    path.write_bytes(st_numpy.save(arrays, metadata={"format": ckpt_io.FORMAT, "explorer": json.dumps(info)}))
    assert _read_ckpt_or_error(path).config == TINY


# Pointer events -------------------------------------------------------------------------------
# The plane's event validators (explorer/component/protocol.py). Whatever a browser sends, each
# gives None or values that are float32-finite, with indices in range; none raises.

F32_MAX = float(np.finfo(np.float32).max)
# Values on both sides of every edge a validator must hold: beyond float32 but finite as a float64,
# integers beyond float64, the non-finite, and what JSON can carry that is no number.
_EDGES = [1e308, -1e308, 3.5e38, -3.5e38, F32_MAX, -F32_MAX, math.inf, -math.inf, math.nan, 10**400,
          -(10**400), 2**64, True, False, None, "1", [1]]
_coords = st.one_of(st.floats(-10, 10, **FLOATS), st.integers(-5, 5), st.sampled_from(_EDGES), st.floats(**FLOATS))
_pairs = st.one_of(*[st.lists(_coords, min_size=2, max_size=2)] * 3, json_values)
_indices = st.none() | st.integers(-3, 12) | st.sampled_from([10**400, 2**63, 2.0, True, "1"])
_payloads = st.fixed_dictionaries({"start": _pairs, "end": _pairs, "x": _pairs, "y": _pairs}, optional={
    "start_index": _indices, "end_index": _indices, "lam": _coords, "seq": _indices}) | json_values


def _float32_pair(pair) -> bool:
    return isinstance(pair, tuple) and len(pair) == 2 and \
        all(isinstance(v, float) and math.isfinite(v) and abs(v) <= F32_MAX for v in pair)


def _index_ok(index, n) -> bool:
    return index is None or (type(index) is int and 0 <= index < n)


@given(payload=_payloads, n=st.integers(0, 10))
@example(payload={"start": [1e308, 0], "end": [0, 0], "x": [0, 1], "y": [-3.5e38, 1]}, n=1)
@example(payload={"start": [0, 0], "end": [10**400, 0], "x": [-1e308, 1e308], "y": [0, 1]}, n=1)
@example(payload={"start": [0, 0], "end": [1, 1], "start_index": True, "x": [0, math.inf], "y": [math.nan, 1]}, n=3)
@example(payload={"start": [0, 0], "end": [1, 1], "end_index": 2.0, "x": [1, 0], "y": [0, 1]}, n=3)
@example(payload={"start": [0], "end": [1, 1], "x": [1, 0], "y": [0, 1], "lam": 1e308}, n=0)
@example(payload={"start": [0], "end": [1, 1], "x": [1, 0], "y": [0, 1], "lam": -1}, n=0)
def test_event_validators_give_float32_values_or_none(payload, n):
    drag = read_drag(payload, n)
    assert drag is None or (_float32_pair(drag.start) and _float32_pair(drag.end)
                            and _index_ok(drag.start_index, n) and _index_ok(drag.end_index, n))
    view = read_view(payload)
    pick = read_pick(payload)
    assert pick is None or (type(pick.lam) is float and 0 <= pick.lam <= 1e4 and type(pick.seq) is int and pick.seq > 0)
    event(f"drag {'read' if drag else 'dropped'}, view {'read' if view else 'dropped'}, "
          f"pick {'read' if pick is not None else 'dropped'}")
    assert view is None or (_float32_pair(view.x) and _float32_pair(view.y) and view.x[0] < view.x[1]
                            and view.y[0] < view.y[1])
