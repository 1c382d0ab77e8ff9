"""The protocol between Python and the plane (explorer/component/protocol.py and protocol.js):
the two halves declare the same keys; what the page sends is well formed; whatever the browser
sends back is validated into well-formed values or None, never an exception."""
import dataclasses
import json
import math
import re

import pytest

from explorer.assets import JudgeAssets, PlaneAssets
from explorer.component import bundle, protocol
from explorer.component.protocol import (
    PALETTE,
    Command,
    Drag,
    Figures,
    Layers,
    ModelChoice,
    Pick,
    PlaneSettings,
    Samples,
    View,
    plane_data,
    read_drag,
    read_pick,
    read_view,
)

PROTOCOL_JS = bundle.HERE / "protocol.js"
PLANE = PlaneAssets(decoder_url="d", layer_sizes=[2, 4, 784], points_url="p", n_points=3, train_url="t", n_train=5,
                    test_images_url="ti", train_images_url="tri", image_shape=(28, 28), density_level=-5.0,
                    encoder_url="e", encoder_sizes=(784, 4, 4))


def declared(js: str, typedef: str) -> list[str]:
    """The @property names of a JSDoc `@typedef {Object} <typedef>` block, in order."""
    block = re.search(r"/\*\*\n \* @typedef \{Object\} " + typedef + r"\n(.*?)\*/", js, re.S)
    assert block, f"protocol.js declares no typedef {typedef}"
    return re.findall(r"@property \{.*?\} (\w+)", block.group(1))


def js_constant(js: str, name: str) -> str:
    return re.search(rf'^export const {name} = "(\w+)";', js, re.M).group(1)


def test_python_sends_exactly_the_keys_protocol_js_declares():
    js = PROTOCOL_JS.read_text()
    names = declared(js, "PlaneData")
    assert len(names) == len(set(names)), f"PlaneData declares a key twice: {names}"
    sent = plane_data(PLANE, PlaneSettings(samples=Samples()), Command(1, drag=((0, 0), (1, 1))), CHOICE)
    assert_same_keys(sent, names, "PlaneData")
    assert_same_keys(sent["command"], declared(js, "Command"), "Command")
    assert_same_keys(sent["choice"], declared(js, "ModelChoice"), "ModelChoice")
    judge = JudgeAssets("app/static/cache/judge-0.bin", (28, 28), (16, 32), 64, 10, 0.9)
    assert_same_keys(plane_data(PLANE, PlaneSettings(judge=judge))["judge"], declared(js, "JudgeData"), "JudgeData")


def assert_same_keys(sent, names, typedef: str) -> None:
    only_python, only_js = sorted(set(sent) - set(names)), sorted(set(names) - set(sent))
    assert not (only_python or only_js), (f"{typedef}: sent by Python but not declared in protocol.js: {only_python}; "
                                          f"declared but not sent: {only_js}")


def test_the_events_python_reads_are_the_ones_protocol_js_sends():
    js = PROTOCOL_JS.read_text()
    assert [f.name for f in dataclasses.fields(Drag)] == declared(js, "DragEvent")
    assert [f.name for f in dataclasses.fields(View)] == declared(js, "ViewState")
    assert [f.name for f in dataclasses.fields(Pick)] == declared(js, "PickEvent")
    assert [js_constant(js, name) for name in ("TRIGGER_DRAG", "TRIGGER_PICK", "STATE_VIEW")] == [
        protocol.TRIGGER_DRAG, protocol.TRIGGER_PICK, protocol.STATE_VIEW]


CHOICE = ModelChoice(lam=1.0, stops=(0.0, 0.5, 1.0, 2.0), models=(("lam-0.5", 0.5, "shipped", ()),
                                                                   ("lam-1", 1.0, "shipped", ("d", "p"))),
                     model_id="lam-1", title="shipped", figures=Figures(126.4, 7.33, 133.7))


def test_the_choice_travels_as_the_slider_reads_it():
    sent = plane_data(PLANE, PlaneSettings(), None, CHOICE)["choice"]
    assert sent["stops"] == [0.0, 0.5, 1.0, 2.0] and sent["models"][1] == {"id": "lam-1", "lam": 1.0,
                                                                           "title": "shipped", "urls": ["d", "p"]}
    assert sent["figures"] == {"recon": 126.4, "kl": 7.33, "neg_elbo": 133.7}
    assert plane_data(PLANE, PlaneSettings())["choice"] is None


@pytest.mark.parametrize("payload, pick", [
    ({"lam": 0.5, "seq": 1}, Pick(0.5, 1)), ({"lam": 0, "seq": 7}, Pick(0.0, 7)),
    ({"lam": 1e4, "seq": 2}, Pick(1e4, 2)),
    ({"lam": -0.1, "seq": 1}, None), ({"lam": 1e5, "seq": 1}, None), ({"lam": math.nan, "seq": 1}, None),
    ({"lam": True, "seq": 1}, None), ({"lam": "1", "seq": 1}, None), ({"lam": 10**400, "seq": 1}, None),
    ({"lam": 0.5}, None), ({"lam": 0.5, "seq": 0}, None), ({"lam": 0.5, "seq": 1.0}, None),
    ({"lam": 0.5, "seq": True}, None),
    ({"lam": 0.5, "seq": 2**60}, None), ({}, None), (None, None), ([0.5], None)])
def test_a_pick_is_a_lambda_in_range_with_its_count_or_none(payload, pick):
    assert read_pick(payload) == pick


def test_the_data_is_json_as_the_browser_parses_it():
    sent = plane_data(PLANE, PlaneSettings(), None)
    assert json.loads(json.dumps(sent)) == sent
    assert sent["palette"] == list(PALETTE) and sent["strip_frames"] == protocol.STRIP_FRAMES
    assert (sent["samples"], sent["command"], sent["link"]) == (None, None, None)


def test_settings_pass_valid_values_and_default_the_rest():
    data = PlaneSettings(grid_spacing="quantile", layers=Layers(ellipses=True, holes=True)).to_data()
    on = {"ellipses": True, "prior": False, "holes": True, "decodability": False}
    assert (data["grid_spacing"], data["layers"]) == ("quantile", on)
    off = {"ellipses": False, "prior": False, "holes": False, "decodability": False}
    for spacing in ("Quantile", "", None, 3, ["even"], "log"):
        data = PlaneSettings(grid_spacing=spacing).to_data()
        assert (data["grid_spacing"], data["layers"]) == ("even", off)
    for layers in (None, {"holes": True}, "holes", True, Layers(prior="yes", holes=1)):
        assert PlaneSettings(layers=layers).to_data()["layers"] == off


def test_samples_default_to_sixteen_mean_images():
    assert Samples().to_data() == {"n": 16, "seed": 0, "bernoulli": False}
    assert Samples(n=64, seed=2**32 - 1, bernoulli=True).to_data() == {"n": 64, "seed": 2**32 - 1, "bernoulli": True}
    assert PlaneSettings(samples=Samples(4, 9, True)).to_data()["samples"] == {"n": 4, "seed": 9, "bernoulli": True}


@pytest.mark.parametrize("bad", [dict(n=0), dict(n=65), dict(n=True), dict(n=2.0), dict(seed=-1), dict(seed=2**32),
                                 dict(seed="1"), dict(bernoulli=1), dict(bernoulli=None)])
def test_bad_samples_settings_are_refused_with_the_field_named(bad):
    with pytest.raises(ValueError, match=f"samples: {next(iter(bad))}"):
        Samples(**bad)


def test_samples_of_the_wrong_type_are_refused():
    with pytest.raises(TypeError, match="Samples"):
        PlaneSettings(samples={"n": 4})


N = 10  # test digits


def test_well_formed_events_are_read():
    assert read_drag({"start": [0, 0], "end": [1, 2.5], "start_index": None, "end_index": 9}, N) == \
        Drag((0.0, 0.0), (1.0, 2.5), None, 9)
    assert read_drag({"start": [-1e38, 3e38], "end": [0.5, -0.5], "start_index": 0, "end_index": None}, N) == \
        Drag((-1e38, 3e38), (0.5, -0.5), 0, None)
    assert read_view({"x": [-1, 1], "y": [-2.5, 2]}) == View((-1.0, 1.0), (-2.5, 2.0))
    assert read_view(json.loads('{"x": [-1.25, 1e-3], "y": [0, 1]}')) == View((-1.25, 1e-3), (0.0, 1.0))


BAD_NUMBERS = [1e308, -1e308, 3.5e38, 10**400, -(10**400), 2**128, math.nan, math.inf, -math.inf, True, False,
               "1", None, [1], {"v": 1}]


@pytest.mark.parametrize("bad", BAD_NUMBERS, ids=repr)
def test_a_number_that_is_not_a_finite_float32_drops_the_event(bad):
    good = {"start": [0, 0], "end": [1, 2], "start_index": None, "end_index": None}
    for key, position in (("start", 0), ("start", 1), ("end", 0), ("end", 1)):
        pair = list(good[key])
        pair[position] = bad
        assert read_drag({**good, key: pair}, N) is None
    for key in ("x", "y"):
        assert read_view({"x": [0, 1], "y": [0, 1], key: [-1, bad]}) is None
        assert read_view({"x": [0, 1], "y": [0, 1], key: [bad, 1]}) is None


@pytest.mark.parametrize("bad", [[], [1], [1, 2, 3], "12", (1,), None, 5, {"0": 1, "1": 2}], ids=repr)
def test_a_pair_of_the_wrong_shape_drops_the_event(bad):
    assert read_drag({"start": bad, "end": [1, 2]}, N) is None
    assert read_drag({"start": [1, 2], "end": bad}, N) is None
    assert read_view({"x": bad, "y": [0, 1]}) is None


@pytest.mark.parametrize("bad", [-1, N, 10**400, 2.0, True, "3", [3], math.nan])
def test_an_index_that_is_not_one_of_the_test_digits_drops_the_drag(bad):
    assert read_drag({"start": [0, 0], "end": [1, 1], "start_index": bad, "end_index": None}, N) is None
    assert read_drag({"start": [0, 0], "end": [1, 1], "start_index": 3, "end_index": bad}, N) is None


@pytest.mark.parametrize("payload", [None, 3, "view", [], {}, {"x": [0, 1]}, {"x": [1, -1], "y": [0, 1]},
                                     {"x": [0, 1], "y": [1, 1]}])
def test_malformed_or_empty_views_are_none(payload):
    assert read_view(payload) is None
    assert read_drag(payload, N) is None
