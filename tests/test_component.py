"""The plane's Python side: its messages from the browser are validated into well-formed values or
None, never an exception; its JS modules join into one ES module."""
import json
import math
import shutil
import subprocess

import pytest

from explorer import assets
from explorer.component import MODULES, Drag, Layers, View, join_modules, layer_settings, read_drag, read_view

N = 10  # test digits


def test_layer_settings_pass_valid_values_and_default_the_rest():
    assert layer_settings("quantile", Layers(ellipses=True, holes=True)) == {
        "grid_spacing": "quantile", "layers": {"ellipses": True, "prior": False, "holes": True}}
    off = {"ellipses": False, "prior": False, "holes": False}
    for spacing in ("Quantile", "", None, 3, ["even"], "log"):
        assert layer_settings(spacing, Layers()) == {"grid_spacing": "even", "layers": off}
    for layers in (None, {"holes": True}, "holes", True, Layers(prior="yes", holes=1)):
        assert layer_settings("even", layers)["layers"] == off


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


def test_the_modules_join_into_one_module_with_one_export():
    js = join_modules()
    assert js.count("export ") == 1 and "export default function" in js
    assert "\nimport " not in js and not js.startswith("import ")
    assert js.index("// ---- protocol.js") < js.index("// ---- plane.js") < js.index("// ---- index.js")


def test_a_module_imported_before_it_is_joined_is_refused(tmp_path):
    (tmp_path / "a.js").write_text('import { b } from "./b.js";\nexport const a = b;\n')
    (tmp_path / "b.js").write_text("export const b = 1;\n")
    assert "const a = b;" in join_modules(tmp_path, ("b.js", "a.js"))
    with pytest.raises(ValueError, match="a.js imports b.js"):
        join_modules(tmp_path, ("a.js", "b.js"))


@pytest.mark.skipif(shutil.which("node") is None, reason="node checks the joined module's syntax")
def test_the_joined_module_parses(tmp_path):
    path = tmp_path / "plane.mjs"
    path.write_text(join_modules())
    result = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_module_is_joined_and_small():
    folder = assets.Path(__file__).resolve().parents[1] / "explorer" / "component"
    assert sorted(p.name for p in folder.glob("*.js")) == sorted(MODULES)
    sizes = {name: len((folder / name).read_text().splitlines()) for name in MODULES}
    assert max(sizes.values()) <= 300, sizes


def test_the_palette_has_one_colour_per_digit():
    assert len(assets.PALETTE) == 10 and len(set(assets.PALETTE)) == 10
    assert all(len(c) == 7 and c.startswith("#") for c in assets.PALETTE)
    js = join_modules()
    assert not any(c in js for c in assets.PALETTE), "the palette travels in the data, not in the JS"
