"""The story's measures (explorer.story) against oracles worked out by hand: aggregate posteriors
whose holes are known in closed form, and stand-in decoders and judges whose verdicts are known."""
import dataclasses
import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import stats

from explorer import checkpoint as ckpt_io
from explorer import classifier, story
from explorer.classifier import ClassifierError, CnnConfig, TrainSettings
from explorer.data import Split


def within(estimate, expected, sigmas=4.0):
    """The Monte Carlo estimate is within `sigmas` of its standard error of the exact value."""
    return abs(estimate.value - expected) <= sigmas * estimate.se


def test_the_hole_mass_of_the_prior_itself_is_zero_and_of_a_far_spike_is_one():
    same = story.prior_hole_mass(np.zeros((1, 2)), np.zeros((1, 2)), n=20_000)
    assert (same.value, same.se, same.n) == (0.0, 0.0, 20_000)
    far = story.prior_hole_mass(np.array([[40.0, -40.0]]), np.full((1, 2), 2 * math.log(1e-3)), n=20_000)
    assert far.value == 1.0


def test_the_hole_mass_of_a_narrow_gaussian_is_the_prior_mass_outside_its_circle():
    """q = N(0, s^2 I): q < 1% p where |z|^2 > r^2 = 2 ln(100 / s^2) / (1 / s^2 - 1), and under the
    prior |z|^2 is chi-squared with 2 degrees of freedom: P = exp(-r^2 / 2)."""
    for s in (0.5, 0.8):
        r2 = 2 * math.log(100 / s**2) / (1 / s**2 - 1)
        estimate = story.prior_hole_mass(np.zeros((1, 2)), np.full((1, 2), 2 * math.log(s)))
        assert estimate.n == story.HOLE_SAMPLES and within(estimate, math.exp(-r2 / 2)), (s, estimate)
        assert estimate.se == pytest.approx(math.sqrt(estimate.value * (1 - estimate.value) / estimate.n))
    # an equal mixture of two such Gaussians far apart: each holds half of q, so q < 1% p where the
    # nearer one alone is below 2% of p, and the far one adds nothing there
    mu, lv = np.array([[0.0, 0.0], [60.0, 0.0]]), np.full((2, 2), 2 * math.log(0.5))
    r2 = 2 * math.log(50 / 0.25) / (1 / 0.25 - 1)
    assert within(story.prior_hole_mass(mu, lv), math.exp(-r2 / 2))


def test_the_hole_mass_is_one_number_per_seed():
    mu, lv = np.random.default_rng(0).normal(size=(50, 2)), np.full((50, 2), -3.0)
    assert story.prior_hole_mass(mu, lv, n=5000) == story.prior_hole_mass(mu, lv, n=5000)
    assert len({story.prior_hole_mass(mu, lv, n=5000, seed=seed).value for seed in range(4)}) > 1


class FirstAxisDecoder:
    """Stands in for a VAE: every pixel's logit is z's first coordinate, so sigmoid gives it back."""

    config = SimpleNamespace(latent_dim=2)

    def decode(self, z, lam=None):
        return z[:, :1].expand(-1, 784).clone()


class Judge:
    """Stands in for the classifier: reads z's first coordinate from the decode's first pixel and
    gives its verdict by rules whose probabilities under N(0, 1) are known."""

    record = SimpleNamespace(architecture=SimpleNamespace(classes=10))

    def __init__(self, rule):
        self.rule = rule

    def probabilities(self, images):
        u = np.clip(np.asarray(images, np.float64)[:, 0], 1e-12, 1 - 1e-12)
        out = np.zeros((len(u), 10))
        for row, z0 in enumerate(np.log(u / (1 - u))):
            digit, confidence = self.rule(z0)
            out[row] = (1 - confidence) / 9
            out[row, digit] = confidence
        return out


def regions(z0):
    if z0 > 2.6:
        return 2, 0.99  # P = 0.0047: recognised, but under 1% of the samples: not covered
    if z0 < -2.0:
        return 3, 0.95  # P = 0.0228: covered
    if abs(z0) < 0.5:
        return 7, 0.92  # P = 0.3829: covered
    if abs(z0) < 1.0:
        return 8, 0.85  # below the threshold: no digit
    return 0, 0.1


def test_prior_samples_are_recognised_and_digits_covered_by_the_rules():
    result = story.prior_samples_recognised(FirstAxisDecoder(), Judge(regions), n=40_000)
    p2, p3, p7 = 1 - stats.norm.cdf(2.6), stats.norm.cdf(-2.0), stats.norm.cdf(0.5) - stats.norm.cdf(-0.5)
    assert within(result.recognised, p2 + p3 + p7) and result.recognised.n == 40_000
    n = 40_000
    for digit, p in ((2, p2), (3, p3), (7, p7), (8, 0.0), (0, 0.0)):
        assert abs(result.per_digit[digit] - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-12, digit
    assert result.digits_covered == 2  # 3 and 7; 2 falls short of 1%


def test_paths_run_between_different_digits_and_are_judged_point_by_point():
    labels = np.array([0, 0, 1, 1, 2])
    pairs = story.path_pairs(labels, n=200, seed=4)
    assert pairs.shape == (200, 2) and np.all(labels[pairs[:, 0]] != labels[pairs[:, 1]])
    assert np.array_equal(pairs, story.path_pairs(labels, n=200, seed=4))
    with pytest.raises(ValueError, match="at least two labels"):
        story.path_pairs(np.zeros(5, int))
    # codes at z0 = -1 and 1: confidence 0.5 + 0.5 |z0| along the path, recognised where |z0| >= 0.8
    mu = np.array([[-1.0, 3.0], [1.0, -2.0]])
    judge = Judge(lambda z0: (4, 0.5 + 0.5 * min(abs(z0), 1.0)))
    result = story.path_decodability(FirstAxisDecoder(), judge, mu, np.array([[0, 1], [1, 0]]))
    t = np.linspace(-1, 1, 16)
    assert result.confidence.value == pytest.approx(np.mean(0.5 + 0.5 * np.abs(t)), abs=1e-6)
    assert result.confidence.se == pytest.approx(0.0, abs=1e-6) and result.confidence.n == 2
    assert result.recognised == 4 / 16 and result.points == 16  # t = +-1 and +-13/15
    with pytest.raises(ValueError, match="at least 2 points"):
        story.path_decodability(FirstAxisDecoder(), judge, mu, np.array([[0, 1]]), points=1)


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory, mnist_test):
    threads = torch.get_num_threads()
    fitted = classifier.fit(Split(mnist_test.images[:2000], mnist_test.labels[:2000]),
                            Split(mnist_test.images[2000:2500], mnist_test.labels[2000:2500]),
                            TrainSettings(epochs=1, batch_size=64, lr=1e-2, threads=1), CnnConfig(channels=(4, 8),
                                                                                                hidden=16))
    torch.set_num_threads(threads)
    return classifier.save(tmp_path_factory.mktemp("judge") / "judge.safetensors", fitted)


def test_a_models_story_is_computed_once_per_file(tmp_path, small_checkpoint, tiny_judge):
    path = ckpt_io.save(tmp_path / "m.safetensors", small_checkpoint)
    first = story.model_story(path, tiny_judge)
    assert first.prior_recognised.n == story.LIBRARY_PRIOR_SAMPLES
    assert first.prior_hole_mass.n == story.LIBRARY_HOLE_SAMPLES and first.path_confidence.n == story.PATH_PAIRS
    for e in (first.prior_hole_mass, first.prior_recognised, first.path_confidence):
        assert 0 <= e.value <= 1 and e.se >= 0
    assert 0 <= first.digits_covered <= 10 and first.seconds > 0
    assert story.model_story(path, tiny_judge) is first  # cached
    st = path.stat()
    ckpt = dataclasses.replace(small_checkpoint, embedding=dataclasses.replace(
        small_checkpoint.embedding, test_mu=small_checkpoint.embedding.test_mu * 50))
    ckpt_io.save(path, ckpt)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = story.model_story(path, tiny_judge)
    assert again is not first and again.prior_hole_mass.value > first.prior_hole_mass.value  # codes spread out
    assert set(again.to_dict()) == {"prior_hole_mass", "prior_recognised", "digits_covered", "path_confidence",
                                    "path_recognised", "seconds"}
    with pytest.raises(ckpt_io.CheckpointError, match="file not found"):
        story.model_story(tmp_path / "none.safetensors", tiny_judge)
    with pytest.raises(ClassifierError, match="file not found"):
        story.model_story(path, tmp_path / "none.safetensors")


def test_a_models_story_is_kept_on_disk_and_read_back_by_a_fresh_process(tmp_path, monkeypatch):
    from explorer import story
    from explorer.library import SHIPPED_DIR
    path, judge = SHIPPED_DIR / "lam-1.safetensors", SHIPPED_DIR / "classifier.safetensors"
    if not (path.is_file() and judge.is_file()):
        pytest.skip("needs the shipped lambda = 1 model and classifier")
    monkeypatch.setattr(story, "_cache", {})  # measured by this process's other tests: forgotten
    first = story.model_story(path, judge, tmp_path)
    [stored] = tmp_path.glob("story-*.json")
    monkeypatch.setattr(story, "_cache", {})  # a fresh process: nothing in memory
    monkeypatch.setattr(story, "prior_hole_mass", lambda *a, **k: pytest.fail("measured again"))
    assert story.model_story(path, judge, tmp_path) == first
    stored.write_text("{not json")  # a damaged file is measured again, not trusted
    monkeypatch.setattr(story, "_cache", {})
    with pytest.raises(pytest.fail.Exception, match="measured again"):
        story.model_story(path, judge, tmp_path)
