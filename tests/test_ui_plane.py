"""The plane's sidebar widgets, run by Streamlit's AppTest: each reaches the component's data
under the name the component reads (explorer/component/protocol.js), and the compare view draws
a second plane, linked to the first, with each model's figures under it."""
import json

import pytest

from explorer import checkpoint
from explorer.library import SHIPPED_DIR
from tests.browser.harness import SHIPPED_MODEL
from tests.test_ui_page import _open, manager_for, splits  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="needs the shipped lambda = 1 model")


def plane_data(at, key: str = "plane") -> dict:
    """The JSON data the page sent to the plane with this key in the last run."""
    [element] = [e for e in at.get("bidi_component") if e.proto.id.endswith(f"-{key}")]
    return json.loads(element.proto.bytes)


def test_the_layer_grid_samples_and_axes_widgets_reach_the_plane(manager_for, tmp_path):  # noqa: F811
    manager_for(tmp_path / "models")
    at = _open()
    data = plane_data(at)
    assert data["layers"] == {"ellipses": False, "prior": False, "holes": False}
    assert (data["grid_spacing"], data["samples"], data["keep_axes"], data["command"]) == ("even", None, False, None)
    assert (data["link"], data["lock_axes"], data["compact"]) == (None, False, False)

    for key in ("layer_ellipses", "layer_prior", "layer_holes", "keep_axes", "grid_show"):
        at.sidebar.toggle(key=key).set_value(True).run()
    at.sidebar.radio(key="grid_spacing").set_value("quantile").run()
    data = plane_data(at)
    assert data["layers"] == {"ellipses": True, "prior": True, "holes": True}
    assert (data["grid_show"], data["grid_spacing"], data["keep_axes"]) == (True, "quantile", True)

    assert at.sidebar.button(key="samples_new").disabled
    at.sidebar.toggle(key="samples_show").set_value(True).run()
    assert plane_data(at)["samples"] == {"n": 16, "seed": 0, "bernoulli": False}
    at.sidebar.button(key="samples_new").click().run()
    at.sidebar.button(key="samples_new").click().run()
    at.sidebar.toggle(key="samples_bernoulli").set_value(True).run()
    assert plane_data(at)["samples"] == {"n": 16, "seed": 2, "bernoulli": True}
    at.sidebar.toggle(key="samples_show").set_value(False).run()
    assert plane_data(at)["samples"] is None
    assert not at.exception


def test_the_compare_view_draws_a_second_linked_plane_with_both_models_figures(manager_for, tmp_path):  # noqa: F811
    manager_for(tmp_path / "models")
    at = _open()
    assert not [s for s in at.sidebar.selectbox if s.key == "compare_id"], "no second model outside the compare view"
    at.sidebar.toggle(key="compare").set_value(True).run()
    assert not at.exception
    a, b = plane_data(at, "plane"), plane_data(at, "plane_b")
    for data in (a, b):
        assert (data["link"], data["lock_axes"], data["compact"]) == ("compare", True, True)
    # Beside lambda = 1 the second plane shows the other end of lambda, the shipped lambda = 0.
    assert at.session_state["compare_id"] == "lam-0"
    assert a["decoder_url"] != b["decoder_url"]
    texts = [c.value for c in at.caption]
    for name in ("lam-1", "lam-0"):
        m = checkpoint.read_header(SHIPPED_DIR / f"{name}.safetensors").metrics
        assert any(t.startswith(f"`{name}` · λ = {name[4:]} · KL {m.kl:.2f} nats · recon {m.recon:.1f} nats")
                   for t in texts), texts

    at.sidebar.selectbox(key="compare_id").set_value("lam-5").run()
    assert plane_data(at, "plane_b")["decoder_url"] not in (a["decoder_url"], b["decoder_url"])
    at.sidebar.toggle(key="lock_axes").set_value(False).run()
    assert not plane_data(at, "plane")["lock_axes"] and not plane_data(at, "plane_b")["lock_axes"]
    at.sidebar.toggle(key="compare").set_value(False).run()
    assert [e.proto.id.rsplit("-", 1)[1] for e in at.get("bidi_component")] == ["plane"]
    assert plane_data(at)["compact"] is False and plane_data(at)["link"] is None
