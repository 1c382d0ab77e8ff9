"""The component's `samples` setting: validated where it is made, sent to the browser as the
protocol says (explorer/component/protocol.js, PlaneData.samples)."""
import json

import pytest

from explorer import component
from explorer.assets import PlaneAssets
from explorer.component import Samples

PLANE = PlaneAssets(decoder_url="d", layer_sizes=[2, 4, 784], points_url="p", n_points=3, train_url="t", n_train=5,
                    test_images_url="ti", train_images_url="tri", image_shape=(28, 28), density_level=-5.0,
                    encoder_url="e", encoder_sizes=(784, 4, 4))


def test_samples_default_to_sixteen_mean_images():
    assert Samples().to_data() == {"n": 16, "seed": 0, "bernoulli": False}
    assert Samples(n=64, seed=2**32 - 1, bernoulli=True).to_data() == {"n": 64, "seed": 2**32 - 1, "bernoulli": True}


@pytest.mark.parametrize("bad", [dict(n=0), dict(n=65), dict(n=True), dict(n=2.0), dict(seed=-1), dict(seed=2**32),
                                 dict(seed="1"), dict(bernoulli=1), dict(bernoulli=None)])
def test_bad_samples_settings_are_refused_with_the_field_named(bad):
    with pytest.raises(ValueError, match=f"samples: {next(iter(bad))}"):
        Samples(**bad)


@pytest.fixture
def sent(monkeypatch):
    """The data latent_plane would send to the browser."""
    calls = []
    monkeypatch.setattr(component, "_plane", lambda **kw: calls.append(json.loads(kw["data"])) or {})
    return calls


@pytest.mark.parametrize("samples, expected", [(None, None), (Samples(4, 9, True), {"n": 4, "seed": 9, "bernoulli": True})])
def test_samples_reach_the_browser_in_the_data(sent, samples, expected):
    component.latent_plane(PLANE, samples=samples)
    assert sent[-1]["samples"] == expected
    assert sent[-1]["encoder_url"] == "e" and sent[-1]["encoder_sizes"] == [784, 4, 4]


def test_samples_of_the_wrong_type_are_refused(sent):
    with pytest.raises(TypeError, match="Samples"):
        component.latent_plane(PLANE, samples={"n": 4})
