"""The digit classifier's verdict on a decode, in the panel: what explorer/classifier.py says of
torch's decode at the same z, for a point where it recognises a digit and one where it does not."""
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.harness import PLANE, by_test_id, wait_idle
from tests.browser.page_helpers import client_xy, drag_between, pointer_away, torch_decode

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def judge():
    from explorer import classifier
    from explorer.library import SHIPPED_DIR
    path = SHIPPED_DIR / "classifier.safetensors"
    if not path.is_file():
        pytest.skip(f"needs the shipped classifier, {path}")
    return classifier.load(path)


def test_the_panel_says_what_the_classifier_sees_in_the_decode(page, checkpoint, judge):
    view = page.evaluate(f"{PLANE}.view()")
    (x0, x1), (y0, y1) = view["x"], view["y"]
    spots = np.stack(np.meshgrid(np.linspace(x0, x1, 14)[2:-2], np.linspace(y0, y1, 14)[2:-2]), -1).reshape(-1, 2)
    probs = judge.probabilities(torch_decode(checkpoint, spots))
    top = probs.max(1)
    assert (top >= 0.95).any() and (top < 0.8).any(), "the view holds decodes the classifier is sure of and unsure of"
    for i in (int(np.argmax(top)), int(np.argmin(top))):
        page.mouse.click(*client_xy(page, spots[i]))
        z = page.evaluate(f"{PLANE}.lastClick")["z"]
        pointer_away(page)
        wait_idle(page)
        p = judge.probabilities(torch_decode(checkpoint, [z]))[0]
        label, pct = int(p.argmax()), round(100 * p.max())
        expected = f"Classifier: a {label} ({pct}%)" if p.max() >= 0.9 else \
            f"Classifier: no digit (likeliest {label}, {pct}%)"
        expect(by_test_id(page, "decode-judge")).to_have_text(expected)


def test_the_decodability_layer_shows_what_the_classifier_recognises_cell_by_cell(page, checkpoint, judge):
    from tests.browser.page_helpers import canvas_pixels, toggle
    toggle(page, "Decodability: what a classifier sees")
    key = page.locator("[data-testid=latent-plane] [data-testid=layers-key]")
    expect(key).to_contain_text("Judging the decodes…")  # seconds of work: the key says how far it has got
    wait_idle(page, timeout=60_000)
    expect(key).to_have_text("Tinted: the digit a classifier recognises in the decode there (90% sure or more); "
                             "hatched: no digit.")
    layer = page.evaluate(f"{PLANE}.decodability()")
    n, (x0, x1), (y0, y1) = layer["cells"], layer["range"]["x"], layer["range"]["y"]
    # Row 0 is the top of the view; each cell is judged at its centre.
    centres = np.array([(x0 + (c + 0.5) / n * (x1 - x0), y1 - (r + 0.5) / n * (y1 - y0))
                        for r in range(n) for c in range(n)])
    probs = judge.probabilities(torch_decode(checkpoint, centres))
    expected = np.where(probs.max(1) >= 0.9, probs.argmax(1), -1)
    labels = np.array(layer["labels"])
    borderline = np.abs(probs.max(1) - 0.9) < 1e-4  # float32 against float64 sums may fall either side
    assert (labels == expected)[~borderline].all()
    assert (labels == -1).sum() > 10 and len(set(labels[labels >= 0])) >= 8  # both kinds of cell on the plane
    np.testing.assert_allclose(layer["confidence"], probs.max(1), atol=1e-4)
    # On the canvas: a recognised cell far from every code shows its digit's colour, a "no digit" one its hatching.
    codes = checkpoint.embedding.test_mu
    far = np.array([np.linalg.norm(codes - z, axis=1).min() for z in centres]) > 0.25 * (x1 - x0) / n
    palette = page.evaluate(f"{PLANE}.settings()")["palette"]
    image = canvas_pixels(page, "[data-testid=plane-canvas]").astype(float)
    box = page.locator("[data-testid=latent-plane] [data-testid=plane-canvas]").first.bounding_box()
    scale = image.shape[1] / box["width"]
    shown = {"digit": 0, "none": 0}
    for k in np.flatnonzero(far):
        sx, sy = client_xy(page, centres[k])
        px, py = int((sx - box["x"]) * scale), int((sy - box["y"]) * scale)
        patch = image[py - 2: py + 3, px - 2: px + 3].reshape(-1, 3)
        if labels[k] >= 0:
            colour = np.array([int(palette[labels[k]][i: i + 2], 16) for i in (1, 3, 5)])
            tint = 255 + 0.28 * (colour - 255)
            assert np.abs(np.median(patch, 0) - tint).max() < 4, (k, patch, tint)  # the median: a dot may reach in
            shown["digit"] += 1
        else:
            assert patch.sum(1).min() < 3 * 160 < patch.sum(1).max(), (k, patch)  # dark lines on a light wash
            shown["none"] += 1
    assert shown["digit"] > 5 and shown["none"] > 0, shown


def _verdict_words(p) -> str:
    label, pct = int(p.argmax()), round(100 * p.max())
    return f"a {label} ({pct}%)" if p.max() >= 0.9 else f"no digit (likeliest {label}, {pct}%)"


def _tags(probs) -> list[str]:
    """What a small image's corner shows: the digit recognised, or a dash for none."""
    return [str(int(p.argmax())) if p.max() >= 0.9 else "–" for p in probs]


def test_every_sample_and_every_frame_of_a_strip_carries_the_classifiers_verdict(page, checkpoint, judge):
    page.evaluate(f"{PLANE}.update({{samples: {{n: 16, seed: 7, bernoulli: false}}}})")
    wait_idle(page)
    samples = page.evaluate(f"{PLANE}.samples()")
    probs = judge.probabilities(torch_decode(checkpoint, [s["z"] for s in samples]))
    assert [s["verdict"]["label"] for s in samples] == probs.argmax(1).tolist()
    assert [s["verdict"]["recognised"] for s in samples] == (probs.max(1) >= 0.9).tolist()
    recognised = int((probs.max(1) >= 0.9).sum())
    expect(by_test_id(page, "samples-caption")).to_contain_text(f"recognises a digit in {recognised} of 16 means")
    cells = by_test_id(page, "sample-image")
    for i in (0, 7):
        expect(cells.nth(i)).to_have_attribute("title", f"z = ({samples[i]['z'][0]:.2f}, {samples[i]['z'][1]:.2f}) · "
                                                        + _verdict_words(probs[i]))
    # A drag from a 0 (test #3) to a 1 (test #2): each frame judged once the strip is finished.
    drag_between(page, 3, 2)
    wait_idle(page)
    frames = page.evaluate(f"{PLANE}.strip()")
    probs = judge.probabilities(np.array([f["pixels"] for f in frames]))
    verdicts = page.evaluate(f"{PLANE}.stripVerdicts()")
    assert [v["label"] for v in verdicts] == probs.argmax(1).tolist()
    np.testing.assert_allclose([v["confidence"] for v in verdicts], probs.max(1), atol=1e-4)
    assert verdicts[0]["label"] == 0 and verdicts[-1]["label"] == 1
    expect(by_test_id(page, "strip-frame").nth(4)).to_have_attribute("title", _verdict_words(probs[4]))


def test_the_verdicts_show_in_the_corner_of_every_sample_and_strip_frame(page, checkpoint, judge):
    page.evaluate(f"{PLANE}.update({{samples: {{n: 16, seed: 3, bernoulli: false}}}})")
    wait_idle(page)
    samples = page.evaluate(f"{PLANE}.samples()")
    probs = judge.probabilities(torch_decode(checkpoint, [s["z"] for s in samples]))
    assert by_test_id(page, "sample-tag").all_inner_texts() == _tags(probs)
    drag_between(page, 3, 2)
    wait_idle(page)
    frames = judge.probabilities(np.array([f["pixels"] for f in page.evaluate(f"{PLANE}.strip()")]))
    expect(by_test_id(page, "strip-tag")).to_have_text(_tags(frames))
