"""The digit classifier's verdict on a decode, in the panel: what explorer/classifier.py says of
torch's decode at the same z, for a point where it recognises a digit and one where it does not."""
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.harness import PLANE, by_test_id, wait_idle
from tests.browser.page_helpers import client_xy, pointer_away, torch_decode

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
