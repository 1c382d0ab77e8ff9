"""The tour's claims as measures: how much of the prior is a hole, whether the prior's samples
decode to digits, and whether a straight path between two digits stays on digits.

Each measure is a pure function of a model's arrays (the test digits' codes), its network and
the digit classifier (`explorer.classifier`: a decode is *recognised* as a digit when the
classifier's largest softmax probability is at least CONFIDENT = 0.9). Every random draw comes
from a fixed seed, so a measure of one model is one number; each is reported with its standard
error, the spread its Monte Carlo draw leaves. `model_story` computes all of them for one model
file with fewer draws, cached by file, for showing beside a model's other figures;
`bench/story.py` computes them for the shipped models with the full sample sizes.

- `prior_hole_mass`: P over z ~ p(z) = N(0, I) that q(z) < 1% p(z), q the test digits' aggregate
  posterior and "1%" the holes' rule of `explorer.density` (there compared cell by cell, here at
  each sampled point: a Monte Carlo estimate of the prior's mass in the holes). It is the share
  of prior samples that land where the encoder puts (almost) no test digit.
- `prior_samples_recognised`: the share of decodes of z ~ N(0, I) that the classifier recognises,
  and which digits they cover: a digit counts as covered when at least COVERED_SHARE (1%) of the
  samples are recognised as it.
- `path_decodability`: the classifier's mean confidence (its largest probability) along straight
  paths between pairs of test digits' codes (mu of q(z|x)), both ends included; pairs of different
  labels (`path_pairs`).
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt_io
from . import classifier as judge_io
from . import density
from .classifier import Classifier
from .files import write_atomic
from .model import VAE

SEED = 0
HOLE_SAMPLES = 100_000  # z ~ N(0, I) for the hole mass: its standard error is at most 0.0016
PRIOR_SAMPLES = 10_000  # decodes judged for the prior's samples: standard error at most 0.005
COVERED_SHARE = 0.01  # a digit is covered when at least this share of the prior's samples is recognised as it
PATH_PAIRS, PATH_POINTS = 100, 16
# `model_story`'s sample sizes: fewer draws, for a model measured while someone waits; standard
# errors at most 0.005 (hole mass) and 0.011 (prior samples recognised).
LIBRARY_HOLE_SAMPLES, LIBRARY_PRIOR_SAMPLES = 10_000, 2_000


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean and its standard error over n draws. For a share of 0 or 1 the binomial
    standard error is 0; the share's one-sided 95% bound is then 3/n (the rule of three)."""

    value: float
    se: float
    n: int


def _share(hits: np.ndarray) -> Estimate:
    p = float(np.mean(hits))
    return Estimate(p, math.sqrt(p * (1 - p) / len(hits)), len(hits))


def prior_hole_mass(test_mu, test_logvar, n: int = HOLE_SAMPLES, seed: int = SEED) -> Estimate:
    """P over z ~ N(0, I) that q(z) < HOLE_RATIO p(z), by n samples drawn with `seed`."""
    z = np.random.default_rng(seed).standard_normal((n, 2))
    log_q = density.log_aggregate_posterior(z, test_mu, test_logvar)
    return _share(log_q < math.log(density.HOLE_RATIO) + density.log_prior(z))


@torch.inference_mode()
def decode(model: VAE, z: np.ndarray, lam: float | None = None) -> np.ndarray:
    """The decoder's mean images (N, H*W) in [0, 1] of codes z (N, L), float32; a dial's at `lam`."""
    logits = model.decode(torch.as_tensor(np.asarray(z, np.float32)), lam)
    return torch.sigmoid(logits.float()).numpy()


@dataclass(frozen=True)
class PriorSamples:
    recognised: Estimate  # share of the samples the classifier recognises as a digit
    per_digit: tuple[float, ...]  # share of the samples recognised as each digit 0-9
    digits_covered: int  # digits with at least COVERED_SHARE of the samples


def prior_samples_recognised(model: VAE, judge: Classifier, n: int = PRIOR_SAMPLES, seed: int = SEED,
                             lam: float | None = None) -> PriorSamples:
    """Decodes of n codes z ~ N(0, I) (drawn with `seed`) judged by the classifier."""
    z = np.random.default_rng(seed).standard_normal((n, model.config.latent_dim))
    verdict = judge_io.verdicts(judge.probabilities(decode(model, z, lam)))
    per_digit = np.bincount(verdict[verdict >= 0], minlength=judge.record.architecture.classes) / n
    return PriorSamples(_share(verdict >= 0), tuple(float(v) for v in per_digit),
                        int((per_digit >= COVERED_SHARE).sum()))


def path_pairs(labels: np.ndarray, n: int = PATH_PAIRS, seed: int = SEED) -> np.ndarray:
    """n pairs (n, 2) of test digits' indices, each two different digits, drawn with `seed`."""
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        raise ValueError("paths between different digits need test digits of at least two labels")
    rng, pairs = np.random.default_rng(seed), []
    while len(pairs) < n:
        i, j = rng.integers(len(labels), size=2)
        if labels[i] != labels[j]:
            pairs.append((i, j))
    return np.array(pairs, np.int64)


@dataclass(frozen=True)
class Paths:
    confidence: Estimate  # mean largest probability over each path's points; its standard error over the pairs
    recognised: float  # share of all the paths' points recognised as a digit
    points: int  # per path, both ends included


def path_decodability(model: VAE, judge: Classifier, test_mu: np.ndarray, pairs: np.ndarray,
                      points: int = PATH_POINTS, lam: float | None = None) -> Paths:
    """The classifier on `points` evenly spaced decodes of the segment from test_mu[i] to test_mu[j],
    for each pair (i, j)."""
    if points < 2:
        raise ValueError(f"a path needs at least 2 points, got {points}")
    mu = np.asarray(test_mu, np.float64)
    t = np.linspace(0.0, 1.0, points)[None, :, None]
    z = (1 - t) * mu[pairs[:, 0]][:, None] + t * mu[pairs[:, 1]][:, None]  # (P, points, L)
    probs = judge.probabilities(decode(model, z.reshape(-1, mu.shape[1]), lam))
    confidence = probs.max(1).reshape(len(pairs), points)
    per_path = confidence.mean(1)
    se = float(per_path.std(ddof=1) / math.sqrt(len(pairs))) if len(pairs) > 1 else math.nan
    return Paths(Estimate(float(per_path.mean()), se, len(pairs)),
                 float((judge_io.verdicts(probs) >= 0).mean()), points)


@dataclass(frozen=True)
class StoryFigures:
    """The measures of one model, as the library's table and the chart's hover show them."""

    prior_hole_mass: Estimate
    prior_recognised: Estimate
    digits_covered: int
    path_confidence: Estimate
    path_recognised: float
    seconds: float  # what computing them took

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> StoryFigures:
        return cls(Estimate(**d["prior_hole_mass"]), Estimate(**d["prior_recognised"]), int(d["digits_covered"]),
                   Estimate(**d["path_confidence"]), float(d["path_recognised"]), float(d["seconds"]))


_cache: dict[tuple, StoryFigures] = {}
_cache_lock = threading.Lock()


def model_story(path: str | Path, judge_path: str | Path = judge_io.SHIPPED,
                cache_dir: str | Path | None = None, measure: bool = True) -> StoryFigures | None:
    """The three measures of the model in a checkpoint file, judged by the classifier in
    `judge_path`, with LIBRARY_HOLE_SAMPLES and LIBRARY_PRIOR_SAMPLES draws; cached by both files
    (path, size and modification time), so a file saved anew is measured anew: in memory, and in
    `cache_dir` (a JSON file per key) where given, so a restarted server does not measure again.
    A dial is measured at its own lambda, where its file's codes are. With `measure` False, only what
    is cached: None for a model not measured yet."""
    path, judge_path = Path(path), Path(judge_path)
    key = (_stamp(path, ckpt_io.CheckpointError), _stamp(judge_path, judge_io.ClassifierError))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    name = f"story-{hashlib.sha256(repr(key).encode()).hexdigest()[:20]}.json"
    stored = Path(cache_dir) / name if cache_dir else None
    if stored is not None:
        try:
            figures = StoryFigures.from_dict(json.loads(stored.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            figures = None  # not measured yet, or a file this code cannot read: measure again
        if figures is not None:
            with _cache_lock:
                _cache[key] = figures
            return figures
    if not measure:
        return None
    started = time.perf_counter()
    ckpt, judge = ckpt_io.load(path), judge_io.load(judge_path)
    lam, emb = ckpt.config.model_lam, ckpt.embedding
    holes = prior_hole_mass(emb.test_mu, emb.test_logvar, LIBRARY_HOLE_SAMPLES)
    prior = prior_samples_recognised(ckpt.model, judge, LIBRARY_PRIOR_SAMPLES, lam=lam)
    paths = path_decodability(ckpt.model, judge, emb.test_mu, path_pairs(emb.test_labels), lam=lam)
    figures = StoryFigures(holes, prior.recognised, prior.digits_covered, paths.confidence, paths.recognised,
                           round(time.perf_counter() - started, 2))
    if stored is not None:
        write_atomic(stored, json.dumps(figures.to_dict()).encode())
    with _cache_lock:
        _cache[key] = figures
    return figures


def _stamp(path: Path, error: type[ValueError]) -> tuple:
    try:
        st = path.stat()
    except OSError as e:
        raise error(f"{path}: {'file not found' if isinstance(e, FileNotFoundError) else e.strerror}") from None
    return str(path.resolve()), st.st_size, st.st_mtime_ns
