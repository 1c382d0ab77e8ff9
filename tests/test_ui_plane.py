"""The plane's sidebar widgets, run by Streamlit's AppTest: each reaches the component's data
under the name the component reads (explorer/component/protocol.js), and the compare view draws
a second plane, linked to the first, with each model's figures under it."""

import pytest

from explorer import checkpoint
from explorer.library import SHIPPED_DIR
from tests.browser.harness import SHIPPED_MODEL
from tests.test_ui_page import _open, _pick, manager_for, picks, plane_data, splits  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="needs the shipped lambda = 1 model")


def test_the_layer_grid_samples_and_axes_widgets_reach_the_plane(manager_for, tmp_path):  # noqa: F811
    manager_for(tmp_path / "models")
    at = _open()
    data = plane_data(at)
    assert data["layers"] == {"ellipses": False, "prior": False, "holes": False, "decodability": False}
    assert data["judge"]["url"].startswith("app/static/cache/judge-") and data["judge"]["confident"] == 0.9
    assert (data["grid_spacing"], data["samples"], data["keep_axes"], data["command"]) == ("even", None, False, None)
    assert (data["link"], data["lock_axes"], data["compact"]) == (None, False, False)

    drawn = lambda: {w.key for kind in (at.sidebar.button, at.sidebar.toggle, at.sidebar.slider, at.sidebar.radio)  # noqa: E731
                     for w in kind}
    assert not drawn() & {"grid_n", "grid_spacing", "samples_new", "samples_bernoulli", "lock_axes"}  # while off
    at.sidebar.radio(key="neighbours_k").set_value(16).run()
    assert plane_data(at)["neighbours_k"] == 16
    for key in ("layer_ellipses", "layer_prior", "layer_holes", "layer_decodability", "keep_axes", "grid_show"):
        at.sidebar.toggle(key=key).set_value(True).run()
    at.sidebar.radio(key="grid_spacing").set_value("quantile").run()
    data = plane_data(at)
    assert data["layers"] == {"ellipses": True, "prior": True, "holes": True, "decodability": True}
    assert (data["grid_show"], data["grid_spacing"], data["keep_axes"]) == (True, "quantile", True)

    assert {"grid_n", "grid_spacing"} <= drawn() and "samples_new" not in drawn()
    at.sidebar.toggle(key="samples_show").set_value(True).run()
    assert plane_data(at)["samples"] == {"n": 16, "seed": 0, "bernoulli": False}
    at.sidebar.button(key="samples_new").click().run()
    at.sidebar.button(key="samples_new").click().run()
    at.sidebar.toggle(key="samples_bernoulli").set_value(True).run()
    assert plane_data(at)["samples"] == {"n": 16, "seed": 2, "bernoulli": True}
    at.sidebar.toggle(key="samples_show").set_value(False).run()
    assert plane_data(at)["samples"] is None
    assert not at.exception


def test_the_compare_view_draws_a_second_linked_plane_each_naming_its_model(manager_for, tmp_path, picks):  # noqa: F811
    manager_for(tmp_path / "models")
    at = _open()
    at.sidebar.toggle(key="compare").set_value(True).run()
    assert not at.exception
    a, b = plane_data(at, "plane"), plane_data(at, "plane_b")
    for data in (a, b):
        assert (data["link"], data["lock_axes"], data["compact"]) == ("compare", True, True)
    # Beside lambda = 1 the second plane shows the other end of lambda, the shipped lambda = 0.
    assert at.session_state["compare_id"] == "lam-0"
    assert a["decoder_url"] != b["decoder_url"]
    for data, name in ((a, "lam-1"), (b, "lam-0")):  # each plane names its model and its figures above its plot
        m = checkpoint.read_header(SHIPPED_DIR / f"{name}.safetensors").metrics
        choice = data["choice"]
        assert (choice["model_id"], choice["lam"], choice["title"]) == (name, float(name[4:]), "shipped")
        assert choice["figures"] == {"recon": m.recon, "kl": m.kl, "neg_elbo": m.neg_elbo}

    _pick(at, picks, 5.0, key="plane_b")  # the second plane's own slider picks its model
    assert at.session_state["compare_id"] == "lam-5" and at.session_state["model"] is None
    assert plane_data(at, "plane_b")["decoder_url"] not in (a["decoder_url"], b["decoder_url"])
    at.sidebar.toggle(key="lock_axes").set_value(False).run()
    assert not plane_data(at, "plane")["lock_axes"] and not plane_data(at, "plane_b")["lock_axes"]
    at.sidebar.toggle(key="compare").set_value(False).run()
    assert [e.proto.id.rsplit("-", 1)[1] for e in at.get("bidi_component")] == ["plane"]
    assert plane_data(at)["compact"] is False and plane_data(at)["link"] is None
