"""The digits' colours told apart by a class in which about one man in twelve has a colour-vision
deficiency: every pair of the colour-blind-safe palette stays far apart in CAM02-UCS under simulated
protanopia, deuteranopia and tritanopia (Machado, Oliveira & Fernandes 2009, severity 100, as
colorspacious implements it), where tab10 has a pair that a protanope barely tells apart."""
import itertools

import numpy as np
import pytest
from colorspacious import cspace_convert

from explorer.component import bundle
from explorer.component.protocol import PALETTES

VISIONS = {"normal": None, "deuteranopia": "deuteranomaly", "protanopia": "protanomaly", "tritanopia": "tritanomaly"}
SAFE = 10.0  # least CAM02-UCS distance between two digits' colours; about 2 is a just-noticeable difference


def least_distance(palette, vision: str) -> float:
    rgb = np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in palette])
    if VISIONS[vision]:
        rgb = np.clip(cspace_convert(rgb, {"name": "sRGB1+CVD", "cvd_type": VISIONS[vision], "severity": 100},
                                     "sRGB1"), 0, 1)
    ucs = cspace_convert(rgb, "sRGB1", "CAM02-UCS")
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(ucs, 2))


@pytest.mark.parametrize("vision", VISIONS)
def test_the_colour_blind_safe_palette_keeps_every_pair_apart(vision):
    assert least_distance(PALETTES["cvd"], vision) >= SAFE


def test_tab10_has_a_pair_a_protanope_barely_tells_apart():
    assert least_distance(PALETTES["tab10"], "protanopia") < 3 < SAFE


def test_every_palette_has_ten_distinct_colours_dark_enough_for_dots_on_white_and_none_in_the_js():
    js = bundle.join()
    for name, palette in PALETTES.items():
        assert len(palette) == 10 and len(set(palette)) == 10, name
        lightness = cspace_convert(np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in palette]),
                                   "sRGB1", "CAM02-UCS")[:, 0]
        assert lightness.max() < 95, name  # white is 100
        assert not any(c.lower() in js.lower() for c in palette), "palettes travel in the data, not in the JS"
