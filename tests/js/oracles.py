"""The oracles of the Node unit tests (tests/js/*.test.js): what the project's Python code and scipy say
the pure modules of explorer/component should compute, written to tests/js/oracles.json.

The same oracles as the browser tests (tests/browser): torch's VAE.decode + sigmoid and VAE.encode of
the shipped lambda = 1 and lambda = 0 models and of the shipped dial at several lambdas (and its grid
of codes), explorer.density (log q, the holes mask, log interval
masses), scipy.special (erfc, ndtr, log_ndtr, ndtri), explorer.latent (point_stats, NeighbourIndex,
quantile_centres/edges) and explorer.drawing.to_mnist. Weights, codes and MNIST images are not copied
here: the Node tests read them from pretrained/*.safetensors and data/mnist themselves.

Large float arrays are stored as base64 of little-endian bytes ({"dtype", "shape", "b64"}) to keep
the file small; tests/test_js.py recomputes everything and checks the committed file still matches.

    python tests/js/oracles.py        # rewrites tests/js/oracles.json
"""
from __future__ import annotations

import base64
import json
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = Path(__file__).with_name("oracles.json")
MODELS = ("1", "0")  # pretrained/lam-<lam>.safetensors
N_ENCODE = 300  # first test images, as tests/browser/test_inputs.py
HOLE_CELLS = 160  # density.js's HOLE_CELLS
PAD = 224  # drawpad.js's PAD
PEN = 18  # drawpad.js's pen width in ink pixels
K_NEAREST = (1, 8, 25)


def pack(array, dtype: str, deflate: bool = False) -> dict:
    """A numeric array as base64 of its little-endian bytes (zlib-compressed with `deflate`)."""
    a = np.ascontiguousarray(array, np.dtype(dtype).newbyteorder("<"))
    raw = zlib.compress(a.tobytes(), 9) if deflate else a.tobytes()
    return {"dtype": dtype, "shape": list(a.shape), "deflate": deflate, "b64": base64.b64encode(raw).decode()}


def unpack(d: dict) -> np.ndarray:
    raw = base64.b64decode(d["b64"])
    raw = zlib.decompress(raw) if d["deflate"] else raw
    return np.frombuffer(raw, np.dtype(d["dtype"]).newbyteorder("<")).reshape(d["shape"])


def floats(a) -> list[float]:
    return [float(v) for v in np.asarray(a, np.float64).ravel()]


def _normal_functions() -> dict:
    from scipy import special
    x_erfc = np.concatenate([np.linspace(-6, 26.5, 326), [0.0, 1e-12, 1e-6, 0.3, 1.999999, 2.0, 2.000001,
                                                          2.4999, 2.5, 2.9999, 3.0, 3.9999, 4.0, 5.9999, 6.0,
                                                          -1e-6, -2.0, -3.5, -26.0]])
    x_ndtr = np.concatenate([np.linspace(-37.5, 8.5, 461), [0.0, -1e-9, 1e-9, -2.8284271247461903,
                                                            2.8284271247461903]])
    x_log = np.concatenate([np.linspace(-60, 12, 721), [-1e3, -1e5, -1e8, -2.8284271247461903, 1e-9, -1e-9, 30.0]])
    p = np.concatenate([[1e-300, 1e-20, 1e-8, 1e-3, 0.02425], np.linspace(0.01, 0.99, 99), [1 - 1e-9],  # the browser's
                        [1e-100, 1e-12, 0.075, 0.0751, 0.5, 0.925, 0.9249, 1 - 1e-12, 1 - 2 ** -53]])
    rng = np.random.default_rng(3)
    a = np.concatenate([[-3.0, 2.9, -0.1, 40.0, -80.0, 1e-3, -1e-3, -9.0, 0.0, -38.0, 37.5],
                        rng.normal(scale=5, size=40)])
    width = np.concatenate([[0.1, 0.1, 0.2, 0.5, 0.1, 1e-3, 2e-3, 18.0, 1e-9, 0.25, 0.05],
                            rng.uniform(1e-4, 2, size=40)])
    b = a + width
    from explorer import density
    f8 = lambda v: pack(v, "f8")  # noqa: E731
    return {
        "erfc": {"x": f8(x_erfc), "y": f8(special.erfc(x_erfc))},
        "ndtr": {"x": f8(x_ndtr), "y": f8(special.ndtr(x_ndtr))},
        "logNdtr": {"x": f8(x_log), "y": f8(special.log_ndtr(x_log))},
        "ndtri": {"p": f8(p), "y": f8(special.ndtri(p))},
        "logIntervalMass": {"a": f8(a), "b": f8(b), "y": f8(density._log_interval_mass(a, b))},
        "logPrior": (lambda z: {"z": z.tolist(), "y": floats(density.log_prior(z))})(
            np.random.default_rng(4).normal(scale=4, size=(20, 2))),
        "holeRatio": density.HOLE_RATIO,
    }


def _quantile() -> dict:
    from explorer import latent
    return {str(n): {"centres": floats(latent.quantile_centres(n)), "edges": floats(latent.quantile_edges(n))}
            for n in (*range(1, 13), 30)}


def _stroke_ink(strokes, size: int = PAD, pen: float = PEN) -> np.ndarray:
    """Round-capped polylines of width `pen` (fractions of the pad, as tests/browser/drawing_helpers.py
    gives them), anti-aliased by one pixel and stored as a canvas stores alpha: uint8."""
    yy, xx = np.mgrid[:size, :size] + 0.5
    dist = np.full((size, size), np.inf)
    for stroke in strokes:
        pts = np.asarray(stroke, np.float64) * size
        if len(pts) == 1:
            pts = np.concatenate([pts, pts])
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
            dist = np.minimum(dist, np.hypot(xx - x0 - t * dx, yy - y0 - t * dy))
    return np.round(np.clip(pen / 2 + 0.5 - dist, 0, 1) * 255).astype(np.uint8)


def _drawing() -> dict:
    from explorer import drawing
    from tests.browser.drawing_helpers import FOUR, ONE, SEVEN
    inks = {"seven": _stroke_ink(SEVEN), "one": _stroke_ink(ONE), "four": _stroke_ink(FOUR),
            "dash": _stroke_ink([[(0.3, 0.5), (0.7, 0.52)]]),  # wider than tall
            "dot": _stroke_ink([[(0.02, 0.97)]]),  # one press in a corner
            "empty": np.zeros((PAD, PAD), np.uint8)}
    blocks = np.zeros((PAD, PAD), np.uint8)  # grey levels and hard edges, as tests/test_drawing.py draws
    blocks[40:120, 50:60] = 255
    blocks[40:50, 50:110] = 128
    inks["blocks"] = blocks
    out = {}
    for name, ink in inks.items():
        mnist = drawing.to_mnist(ink / 255)
        out[name] = {"size": PAD, "ink": base64.b64encode(zlib.compress(ink.tobytes(), 9)).decode(),
                     "mnist": None if mnist is None else pack(mnist, "f8", deflate=True)}
    return out


def _nearest_queries(mu: np.ndarray, train_mu: np.ndarray, index, rng) -> list[dict]:
    """k nearest training codes of some z (test codes, points between, far away), by NeighbourIndex;
    only z whose k-th and (k+1)-th neighbours are not tied, so the answer is unique."""
    spread = train_mu.std(0)
    candidates = np.concatenate([mu[:4], mu[[10, 20]] + rng.normal(size=(2, 2)) * spread * 0.05,
                                 rng.normal(size=(4, 2)) * spread, [[0.0, 0.0], 6 * spread]]).astype(np.float32)
    queries = []
    for z in candidates:
        for k in K_NEAREST:
            idx, dist = index.query(z, k + 1)
            if dist[k] == dist[k - 1]:
                continue
            queries.append({"z": floats(z), "k": k, "indices": [int(i) for i in idx[:k]],
                            "distances": floats(dist[:k])})
    return queries


def _model(lam: str, test_images: np.ndarray) -> dict:
    import torch

    from explorer import checkpoint as ckpt_io
    from explorer import density, formats, latent
    from explorer.library import SHIPPED_DIR
    path = SHIPPED_DIR / f"lam-{lam}.safetensors"
    ckpt = ckpt_io.load(path)
    arrays = formats.read_plane_arrays(path)
    mu, logvar = arrays.test_mu, arrays.test_logvar
    rng = np.random.default_rng(0)
    # Random z, as tests/browser/test_plane.py draws them (fewer: their decodes are stored), and codes.
    if lam == "1":
        z = np.concatenate([rng.normal(scale=2.0, size=(20, 2)), rng.uniform(-8, 8, size=(4, 2)), [[0.0, 0.0]],
                            mu[:1]])
    else:
        z = np.concatenate([rng.normal(scale=30.0, size=(8, 2)), mu[:4]])
    z = z.astype(np.float32)
    decoded = latent.decode(ckpt.model, z).reshape(len(z), -1)
    images = test_images[:N_ENCODE].reshape(N_ENCODE, -1).astype(np.float32) / 255
    with torch.no_grad():
        e_mu, e_logvar = ckpt.model.encode(torch.as_tensor(images))
    # log q near the data and far from it, as tests/browser/test_layers.py
    zq = np.concatenate([mu[:5] + rng.normal(scale=0.05, size=(5, 2)), rng.normal(scale=3, size=(5, 2)), mu[5:7]])
    low, high = mu.min(0).astype(np.float64), mu.max(0).astype(np.float64)
    ranges = [("data box", (low[0], high[0]), (low[1], high[1])), ("prior 3 sigma", (-3.0, 3.0), (-3.0, 3.0))]
    if lam == "0":  # zoomed in around a code: sigmas of 1e-7 among cells of 1e-2
        c = mu[0].astype(np.float64)
        ranges.append(("zoom", (c[0] - 0.8, c[0] + 0.8), (c[1] - 0.8, c[1] + 0.8)))
    holes = []
    for name, xr, yr in ranges:
        mask = density.hole_mask(mu, logvar, xr, yr, HOLE_CELLS)
        holes.append({"name": name, "x": floats(xr), "y": floats(yr), "cells": HOLE_CELLS,
                      "mask": base64.b64encode(np.packbits(mask.ravel())).decode(), "share": float(mask.mean())})
    sigma_max = int(np.argmax(np.exp(0.5 * logvar).min(1)))
    stats = []
    for i in (0, 1, 7, 123, 9999, sigma_max):
        s = latent.point_stats(mu[i], logvar[i])
        m64, lv64 = mu[i].astype(np.float64), logvar[i].astype(np.float64)
        closed = float(0.5 * (m64 ** 2 + np.exp(lv64) - lv64 - 1).sum())
        stats.append({"i": i, "mu": floats(s.mu), "sigma": floats(s.sigma), "kl": s.kl, "klFloat64": closed})
    index = latent.NeighbourIndex(arrays.train_mu)
    return {
        "file": path.name,
        "decode": {"z": z.tolist(), "pixels": pack(decoded, "f4")},
        "encode": {"n": N_ENCODE, "mu": pack(e_mu.numpy(), "f4"), "logvar": pack(e_logvar.numpy(), "f4")},
        "logq": {"z": zq.tolist(), "y": floats(density.log_aggregate_posterior(zq, mu, logvar))},
        "holes": holes,
        "stats": stats,
        "nearest": _nearest_queries(mu, arrays.train_mu, index, rng),
    }


DIAL_DECODE_LAMS = (0.01, 0.1, 0.37, 1.0, 4.2, 30.0, 100.0)  # grid lambdas and lambdas between them
DIAL_ENCODE_LAMS = (0.01, 1.0, 100.0)
DIAL_BETWEEN_LAMS = (0.05, 0.37, 3.3, 20.0)  # off the grid: the browser interpolates its codes there
N_DIAL = 1000  # first test digits whose codes are compared


def _dial(test_images: np.ndarray) -> dict:
    """The shipped dial: torch's decode and encode at several lambdas, its grid's rows as
    DeltaCoded.decode adds them, its codes between grid lambdas, and the density level of the codes
    of its own lambda (explorer.density.density_level, for dial.js's estimate)."""
    import torch

    from explorer import checkpoint as ckpt_io
    from explorer import density, latent
    from explorer.dial import encode_at
    from explorer.library import SHIPPED_DIR
    ckpt = ckpt_io.load(SHIPPED_DIR / "dial.safetensors")
    model, dial = ckpt.model, ckpt.dial
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.normal(scale=2.0, size=(9, 2)), [[0.0, 0.0]]]).astype(np.float32)
    pixels = np.stack([latent.decode(model, z, lam).reshape(len(z), -1) for lam in DIAL_DECODE_LAMS])
    x = torch.as_tensor(test_images[:N_ENCODE].reshape(N_ENCODE, -1).astype(np.float32) / 255)
    e_mu, e_logvar = encode_at(model, x, np.array(DIAL_ENCODE_LAMS))
    first = torch.as_tensor(test_images[:N_DIAL].reshape(N_DIAL, -1).astype(np.float32) / 255)
    between_mu, _ = encode_at(model, first, np.array(DIAL_BETWEEN_LAMS))
    g = len(dial.lams)
    rows = [0, 1, g // 2, g - 1]
    mu_rows, logvar_rows = dial.mu.decode()[rows, :N_DIAL], dial.logvar.decode()[rows, :N_DIAL]
    e = ckpt.embedding
    return {
        "decode": {"lams": list(DIAL_DECODE_LAMS), "z": z.tolist(), "pixels": pack(pixels, "f4", deflate=True)},
        "encode": {"lams": list(DIAL_ENCODE_LAMS), "n": N_ENCODE,
                   "mu": pack(e_mu, "f4"), "logvar": pack(e_logvar, "f4")},
        "grid": {"rows": rows, "n": N_DIAL, "mu": pack(mu_rows, "f4"), "logvar": pack(logvar_rows, "f4")},
        "between": {"lams": list(DIAL_BETWEEN_LAMS), "n": N_DIAL, "mu": pack(between_mu, "f4")},
        "level": density.density_level(e.test_mu, e.test_logvar),
    }


N_JUDGE = 200  # first test images the classifier is run on
N_JUDGE_DECODES = 30  # decodes of lam-1 at z ~ N(0, 2^2 I), some far off the data


def _judge(test_images: np.ndarray) -> dict:
    """The shipped digit classifier (explorer.classifier) on test images and on decodes: torch's
    probabilities, and the published file's rule."""
    from explorer import checkpoint as ckpt_io
    from explorer import classifier, formats, latent
    from explorer.library import SHIPPED_DIR
    judge = classifier.load(SHIPPED_DIR / "classifier.safetensors")
    images = test_images[:N_JUDGE].reshape(N_JUDGE, -1).astype(np.float32) / 255
    z = np.random.default_rng(11).normal(scale=2.0, size=(N_JUDGE_DECODES, 2)).astype(np.float32)
    decodes = latent.decode(ckpt_io.load(SHIPPED_DIR / "lam-1.safetensors").model, z).reshape(len(z), -1)
    return {"confident": formats.JUDGE_CONFIDENT, "n": N_JUDGE, "probs": pack(judge.probabilities(images), "f8"),
            "z": z.tolist(), "decode_probs": pack(judge.probabilities(decodes), "f8")}


def compute() -> dict:
    from explorer.data import load_split
    test_images = load_split("test").images
    return {"normal": _normal_functions(), "quantile": _quantile(), "drawing": _drawing(),
            "models": {lam: _model(lam, test_images) for lam in MODELS}, "dial": _dial(test_images),
            "judge": _judge(test_images)}


def main() -> None:
    oracles = compute()
    OUT.write_text(json.dumps(oracles, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {OUT.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main()
