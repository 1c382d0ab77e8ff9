"""Every shipped model loads, says how it was made, and reproduces its recorded test figures; the
shipped dial (one network for every lambda of its range) meets its targets."""
from pathlib import Path

import numpy as np
import pytest

from explorer import checkpoint as ckpt_io
from explorer import classifier
from explorer.data import binarize
from explorer.evaluate import evaluate_images
from explorer.train import images_to_tensor

PRETRAINED = sorted(p for p in (Path(__file__).resolve().parent.parent / "pretrained").glob("*.safetensors")
                    if p != classifier.SHIPPED)  # the judge of decodes, tested in tests/test_classifier.py
SUBSET = 1000  # the first two evaluation batches: their noise does not depend on the set's size


DIAL = Path(__file__).resolve().parent.parent / "pretrained" / "dial.safetensors"


def test_the_lambda_sweep_is_shipped():
    lams = sorted(h.config.lam for h in map(ckpt_io.read_header, PRETRAINED)
                  if not h.config.dial and not h.config.binarize)
    assert lams == [0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 100.0]


@pytest.mark.parametrize("path", PRETRAINED, ids=lambda p: p.stem)
def test_shipped_model_reproduces_recorded_metrics(path, mnist_test):
    ckpt = ckpt_io.load(path)
    assert ckpt.command.startswith("python -m explorer train")
    assert f"--out {path.parent.name}/{path.name}" in ckpt.command
    emb, m = ckpt.embedding, ckpt.metrics
    assert m.n_images == len(emb.test_mu) == 10_000
    # The recorded figures are the means of the recorded per-image figures...
    assert m.recon == pytest.approx(emb.test_recon.mean(), abs=1e-3)
    assert m.kl == pytest.approx(emb.test_kl.mean(), abs=1e-3)
    assert m.neg_elbo == pytest.approx(m.recon + m.kl)
    assert m.log_px_iwae == pytest.approx(emb.test_log_px.mean(), abs=1e-3)
    # ...and this model, run again on real test images, gives those per-image figures (a dial's at its lambda).
    images = binarize(mnist_test.images) if ckpt.config.binarize else mnist_test.images  # the whole set's one draw
    again = evaluate_images(ckpt.model, images_to_tensor(images[:SUBSET]), iwae_k=m.iwae_k, lam=ckpt.config.model_lam)
    np.testing.assert_allclose(again.mu, emb.test_mu[:SUBSET], atol=1e-4)
    np.testing.assert_allclose(again.logvar, emb.test_logvar[:SUBSET], atol=1e-4)
    np.testing.assert_allclose(again.kl, emb.test_kl[:SUBSET], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(again.recon, emb.test_recon[:SUBSET], rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(again.log_px, emb.test_log_px[:SUBSET], rtol=1e-4, atol=1e-2)
    np.testing.assert_array_equal(emb.test_labels, mnist_test.labels)


def lambda_one():
    (ckpt,) = [c for c in map(ckpt_io.load, PRETRAINED) if c.lam == 1.0 and not c.config.dial and not c.config.binarize]
    return ckpt


def test_shipped_lambda_one_model_reaches_136_nats():
    m = lambda_one().metrics
    assert m.neg_elbo <= 136.0  # the project's target for lambda = 1; the shipped file records 133.70
    assert m.log_px_iwae >= -m.neg_elbo  # the IWAE bound is tighter than the ELBO
    assert m.active_units == 2


@pytest.fixture(scope="module")
def dial():
    if not DIAL.is_file():
        pytest.skip(f"needs {DIAL}")
    return ckpt_io.load(DIAL)


# The dial's targets (pretrained/README.md): a test neg-ELBO at lambda = 1 of at most 134.7, and the
# separate models' objectives recon + lambda KL matched within 1 nat.
def test_the_shipped_dial_meets_the_targets(dial):
    assert dial.metrics.neg_elbo <= 134.7
    d = dial.dial
    for lam in (0.1, 1.0):  # lambdas the curve holds exactly (bench/dial.py measures all five)
        (i,) = np.flatnonzero(np.isclose(d.curve_lams, lam))
        separate = ckpt_io.read_header(DIAL.parent / f"lam-{lam:g}.safetensors").metrics
        assert d.curve_recon[i] + lam * d.curve_kl[i] <= separate.recon + lam * separate.kl + 1.0


def test_the_shipped_dial_covers_its_range_and_collapses_at_its_end(dial):
    assert dial.config.dial and dial.config.lam_range == (0.01, 100.0) and dial.lam == 1.0
    assert dial.metrics.active_units == 2
    d = dial.dial
    assert d.curve_lams[-1] == pytest.approx(100.0) and d.curve_kl[-1] < 1.0  # posterior collapse
    assert np.all(np.diff(d.curve_kl) < 0.05)  # the rate falls as lambda rises, up to sampling noise
    assert np.all(np.diff(d.curve_recon) > -0.05)  # and the distortion rises


def test_the_shipped_dials_grid_moves_in_small_steps_and_its_file_stays_small(dial):
    from explorer.dial import GRID_MAX_STEP, mu_step
    mu = dial.dial.mu.decode()
    steps = [mu_step(a, b) for a, b in zip(mu, mu[1:])]
    assert len(mu) >= 64 and max(steps) <= GRID_MAX_STEP + 0.005  # refined on exact codes, stored in one byte
    # a plain model's 5.2 MB, the FiLM weights' 0.8 MB and the grid at one byte per value (4.3 MB at 107 lambdas)
    assert DIAL.stat().st_size < 11e6
