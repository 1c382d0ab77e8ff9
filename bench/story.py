"""What the shipped models show of the VAE's story, in figures: posterior widths, holes, collapse,
and the digit classifier's verdicts on what the decoders draw.

    python bench/story.py [--json] [--drawings 20] [--no-browser] [--iwae-k 500] [--threads 1]

- sigma_mean_lamL: the mean posterior standard deviation, over the 10,000 test digits and both
  latent axes, of the shipped lambda = L model (Kingma & Welling 2014's q(z|x) = N(mu, sigma^2)).
- hole_fraction_lamL (the baseline of prior_hole_mass): the share of the data's bounding box (the
  test codes' min to max on each axis, 200 x 200 cells) where the aggregate posterior
  q(z) = (1/N) sum_n N(z; mu_n, sigma_n^2) is below 1% of the prior p(z) = N(0, I), as cell
  averages (`explorer.density.hole_fraction`; the app's holes layer draws the same cells).
- classifier_test_accuracy: the shipped digit classifier (`pretrained/classifier.safetensors`,
  `explorer.classifier`) on the 10,000 MNIST test digits, recomputed here; the judge of the
  figures below, which call a decode *recognised* when its largest softmax probability is >= 0.9.
- prior_hole_mass_lamL (and _se_): P over z ~ N(0, I) that q(z) < 1% p(z), by 100,000 prior
  samples (`explorer.story.prior_hole_mass`): the holes weighed by the prior, where the baseline
  weighs them by the area of a box that lambda = 0's spread makes ever larger.
- prior_samples_recognised_lamL: the share of 10,000 decodes of z ~ N(0, I) the classifier
  recognises; prior_samples_digits_covered_lamL: how many of the ten digits at least 1% of them
  are recognised as.
- path_confidence_lamL: the classifier's mean confidence along straight paths (16 points, both
  ends) between the codes (mu) of 100 pairs of test digits of different labels;
  path_recognised_lamL: the share of those points recognised.
  Every shipped model of one lambda is measured (the lambda-conditioned dial is left out: its
  own figures are `bench/dial.py`'s); all draws have fixed seeds.
- binarised_log_px_iwae_lam1, binarised_iwae_k: the importance-weighted log p(x) (Burda et al.
  2016) of `pretrained/lam-1-binarized.safetensors` on the test set binarised once with the fixed
  seed `explorer.data.binarize` uses, the numbers `python -m explorer eval FILE --iwae-k K` prints;
  the published 2-D figures (Davidson et al. 2018, table 1) are on dynamically binarised MNIST with
  500 importance samples.
- off_share_*: the share of 20,000 points drawn uniformly in lambda = 0's bounding box that the click
  panel calls "off the data", by the density rule the app uses (log q(z) below the level 99% of q's
  mass lies above) beside the baseline rule it replaced (the nearest training code farther than the
  spacing 99% of training codes have to their own nearest).
- collapse_*: the shipped model with the largest lambda: its lambda, active units and test KL (from
  its file), and how far its decodes of 16 prior samples are from the mean training digit (mean
  absolute pixel difference), beside the same figure for lambda = 1.
- draw_to_point_ms p50/p95: in Chromium against `streamlit run app.py`, from the pen-up event of a
  digit drawn on the pad to the end of the animation frame that first draws its point on the plane
  (the pad's MNIST-like preprocessing and the encoder run in the browser); beside it, torch's
  encode of one image in this process (what the server would spend before any round trip).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from explorer import checkpoint, classifier, density, formats, story  # noqa: E402
from explorer.checkpoint import read_header  # noqa: E402
from explorer.data import binarize, load_split  # noqa: E402
from explorer.evaluate import evaluate  # noqa: E402
from explorer.library import ModelLibrary  # noqa: E402
from explorer.train import images_to_tensor  # noqa: E402

PRETRAINED = ROOT / "pretrained"
BINARIZED = PRETRAINED / "lam-1-binarized.safetensors"
# (comparison, bound) per figure that has a target
TARGETS = {"draw_to_point_ms_p50": ("<=", 100), "collapse_active_units": ("<=", 1),
           "classifier_test_accuracy": (">=", 0.99)}


def decode_np(layers, z: np.ndarray) -> np.ndarray:
    """The decoder (Linear, ReLU between, sigmoid after the last) in numpy: (K, 2) -> (K, H*W)."""
    h = np.asarray(z, np.float64)
    for i, (weight, bias) in enumerate(layers):
        h = h @ weight.T.astype(np.float64) + bias
        h = np.maximum(h, 0) if i + 1 < len(layers) else 1 / (1 + np.exp(-h))
    return h


def gap_off_share(train_mu: np.ndarray, points: np.ndarray) -> float:
    """The baseline verdict: off the data when the nearest training code is farther than the
    99th percentile of training codes' distance to their own nearest other."""
    from scipy.spatial import cKDTree
    tree = cKDTree(train_mu)
    sample = train_mu[:: max(1, len(train_mu) // 2000)]
    wide = np.percentile(tree.query(sample, k=2)[0][:, 1], 99)
    return float((tree.query(points, k=1)[0] > wide).mean())


def model_figures(library: ModelLibrary) -> dict:
    shipped = {e.lam: e for e in library.entries() if e.shipped}
    arrays = {lam: formats.read_plane_arrays(shipped[lam].path) for lam in (0.0, 1.0)}
    out = {}
    for lam, a in arrays.items():
        out[f"sigma_mean_lam{lam:g}"] = float(np.exp(0.5 * a.test_logvar.astype(np.float64)).mean())
    a0 = arrays[0.0]
    rng = np.random.default_rng(0)
    low, high = a0.test_mu.min(0), a0.test_mu.max(0)
    points = rng.uniform(low, high, size=(20_000, 2))
    level = density.density_level(a0.test_mu, a0.test_logvar)
    log_q = density.log_aggregate_posterior(points, a0.test_mu, a0.test_logvar)
    out["off_share_density_lam0"] = round(float((log_q < level).mean()), 4)
    out["off_share_gap_lam0"] = round(gap_off_share(a0.train_mu, points), 4)

    top = max(shipped)
    collapse = shipped[top]
    metrics = read_header(collapse.path).metrics
    out.update(collapse_lam=top, collapse_active_units=metrics.active_units, collapse_kl=float(f"{metrics.kl:.3g}"),
               collapse_recon=round(metrics.recon, 2))
    mean_digit = load_split("train").images.reshape(60_000, -1).mean(0) / 255.0
    z = rng.standard_normal((16, 2))
    for name, entry in (("collapse", collapse), ("lam1", shipped[1.0])):
        decoded = decode_np(formats.read_plane_arrays(entry.path).decoder, z)
        out[f"decode_vs_mean_digit_{name}"] = round(float(np.abs(decoded - mean_digit).mean()), 4)
    return out


def shipped_models() -> list[checkpoint.Checkpoint]:
    """The shipped grey-scale models of one lambda each, by lambda (the dial and binarised models left out)."""
    models = [checkpoint.load(path) for path in PRETRAINED.glob("*.safetensors") if path != classifier.SHIPPED]
    return sorted((m for m in models if not m.config.dial and not m.config.binarize), key=lambda m: m.lam)


def judged_figures(judge_path: Path) -> dict:
    """The classifier's accuracy, then per shipped model: the box hole fraction (the baseline) beside
    the prior's hole mass, and the classifier's verdicts on prior samples and on paths."""
    judge = classifier.load(judge_path)
    test = load_split("test")
    out = {"classifier_test_accuracy": round(classifier.accuracy(judge.model, test.images, test.labels), 4)}
    for ckpt in shipped_models():
        tag, emb = f"lam{ckpt.lam:g}", ckpt.embedding
        t0 = time.perf_counter()
        out[f"hole_fraction_{tag}"] = round(density.hole_fraction(emb.test_mu, emb.test_logvar), 4)
        out[f"hole_fraction_ms_{tag}"] = round(1e3 * (time.perf_counter() - t0))
        holes = story.prior_hole_mass(emb.test_mu, emb.test_logvar)
        out[f"prior_hole_mass_{tag}"], out[f"prior_hole_mass_se_{tag}"] = round(holes.value, 4), round(holes.se, 4)
        prior = story.prior_samples_recognised(ckpt.model, judge, story.PRIOR_SAMPLES)
        out[f"prior_samples_recognised_{tag}"] = round(prior.recognised.value, 4)
        out[f"prior_samples_digits_covered_{tag}"] = prior.digits_covered
        paths = story.path_decodability(ckpt.model, judge, emb.test_mu, story.path_pairs(emb.test_labels))
        out[f"path_confidence_{tag}"] = round(paths.confidence.value, 4)
        out[f"path_recognised_{tag}"] = round(paths.recognised, 4)
    return out


def binarized_figures(iwae_k: int) -> dict:
    """IWAE log p(x) of the binarised lambda = 1 model on the once-binarised test set, as `eval` computes it."""
    if not BINARIZED.exists():
        return {"binarised_log_px_iwae_lam1": None, "binarised_iwae_k": iwae_k}
    ckpt = checkpoint.load(BINARIZED)
    t0 = time.perf_counter()
    m = evaluate(ckpt.model, images_to_tensor(binarize(load_split("test").images)), iwae_k=iwae_k)
    return {"binarised_log_px_iwae_lam1": round(m.log_px_iwae, 2), "binarised_iwae_k": m.iwae_k,
            "binarised_neg_elbo_lam1": round(m.neg_elbo, 2), "binarised_eval_s": round(time.perf_counter() - t0)}


def draw_figures(drawings: int) -> dict:
    """Pen-up to point in Chromium, and torch's encode of one image for reference."""
    from playwright.sync_api import sync_playwright

    from explorer import checkpoint
    from tests.browser import harness
    from tests.browser.drawing_helpers import FOUR, ONE, SEVEN, draw_digit

    model = checkpoint.load(harness.model_path()).model
    image = load_split("test").images[:1].reshape(1, -1).astype(np.float32) / 255.0
    import torch
    x = torch.from_numpy(image)
    with torch.inference_mode():
        model.encode(x)
        t0 = time.perf_counter()
        for _ in range(50):
            model.encode(x)
    torch_ms = 1e3 * (time.perf_counter() - t0) / 50

    times = []
    with harness.app_server(harness.model_path()) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(harness.CHROMIUM), args=harness.CHROMIUM_ARGS)
        page = browser.new_page(viewport=harness.VIEWPORT)
        harness.open_app(page, url)
        for i in range(drawings):
            times.append(draw_digit(page, (SEVEN, ONE, FOUR)[i % 3])["draw_to_point_ms"])
        browser.close()
    return {"draw_to_point_ms_p50": round(float(np.percentile(times, 50)), 2),
            "draw_to_point_ms_p95": round(float(np.percentile(times, 95)), 2), "drawings": len(times),
            "torch_encode_one_ms": round(torch_ms, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON object on the last line")
    parser.add_argument("--drawings", type=int, default=20, help="digits drawn on the pad in Chromium")
    parser.add_argument("--no-browser", action="store_true", help="skip the drawing pad's timing")
    parser.add_argument("--classifier", type=Path, default=classifier.SHIPPED, help="the judge of the decodes")
    parser.add_argument("--iwae-k", type=int, default=500, help="importance samples for the binarised model")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    library = ModelLibrary(PRETRAINED, ROOT / ".cache" / "bench-story-models")
    result = model_figures(library)
    result.update(judged_figures(args.classifier))
    result.update(binarized_figures(args.iwae_k))
    if not args.no_browser:
        result.update(draw_figures(args.drawings))
    width = max(len(k) for k in result)
    print(f"{'measure':<{width}}  {'value':>10}  target")
    for key, value in result.items():
        comparison, bound = TARGETS.get(key, ("", ""))
        shown = f"{value:.5g}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown:>10}  {comparison} {bound}".rstrip())
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
