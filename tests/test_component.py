"""The plane's messages from the browser: whatever arrives, the app gets well-formed values or None."""
import math

from explorer.component import Click, Drag, View, _click, _drag, _view


def test_well_formed_events_are_read():
    assert _click({"z": [1, -2.5], "index": 3}, n=10) == Click((1.0, -2.5), 3)
    assert _drag({"start": [0, 0], "end": [1, 2], "start_index": None, "end_index": 9}, n=10) == \
        Drag((0.0, 0.0), (1.0, 2.0), None, 9)
    assert _view({"x": [-1, 1], "y": [-2, 2]}) == View((-1.0, 1.0), (-2.0, 2.0))


def test_malformed_events_become_none_or_drop_the_bad_part():
    bad = [None, 3, "z", [], {}, {"z": None}, {"z": [1]}, {"z": [1, 2, 3]}, {"z": ["1", 2]},
           {"z": [math.nan, 0]}, {"z": [math.inf, 0]}, {"z": [True, 0]}]
    assert all(_click(p, n=10) is None for p in bad)
    assert _click({"z": [0, 0], "index": 10}, n=10).index is None  # out of range
    assert _click({"z": [0, 0], "index": 2.0}, n=10).index is None  # not an int
    assert _click({"z": [0, 0], "index": -1}, n=10).index is None
    assert _drag({"start": [0, 0]}, n=10) is None
    assert _drag({"start": [0, 0], "end": [0, "x"]}, n=10) is None
    assert _view({"x": [1, -1], "y": [0, 1]}) is None  # empty range
    assert _view({"x": [0, 1]}) is None
