"""The train config: every rule of what a valid training setting is, and when two configs are
the same model (`TrainConfig.key`)."""
from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass, field

from .model import RECONSTRUCTIONS, ModelConfig
from .typed_json import short

_FLOAT_DIGITS = 10  # in a config's identity, 0.1 * 3 and 0.3 are the same lambda

# Each numeric setting: its name in messages, its type, and its valid [low, high]: wide enough
# for any sensible run, narrow enough that no value overflows float32 or allocates without bound.
SETTINGS = {
    "lam": ("lambda", float, 0.0, 1e4),
    "epochs": ("epochs", int, 1, 100_000),
    "batch_size": ("batch size", int, 1, 1 << 20),
    "lr": ("learning rate", float, 1e-8, 1.0),
    "seed": ("seed", int, 0, 2**63 - 1),
    "k": ("samples per image K", int, 1, 1024),
    "encoder_noise": ("encoder noise", float, 0.0, 10.0),
    "threads": ("threads", int, 0, 1024),
}
DEVICES = ("auto", "cpu", "cuda", "mps")  # "auto": a CUDA GPU if torch sees one, else the CPU
MAX_SAMPLES_PER_STEP = 1 << 20  # K x batch size: the decoder's output alone is this many images
MAX_WIDTH, MAX_LAYERS, MAX_LATENT, MAX_SIDE = 16384, 8, 64, 1024
MAX_PARAMETERS = 50_000_000  # 200 MB of fp32 weights; the shipped network has 0.8 M
# A dial (one network for a range of lambdas, see explorer.model): the range `train --dial` takes by
# default, the width of its FiLM networks, and the narrowest range a dial may cover.
DIAL_RANGE = (0.01, 100.0)
DIAL_FILM_HIDDEN = 64
MIN_DIAL_RATIO = 1.01


def check_setting(name: str, value, limits: tuple[float, float] | None = None):
    """`value` as the type of setting `name` of SETTINGS, if it is one and lies in its range, or
    in the narrower `limits` a caller sets (the app's); ValueError in the user's words otherwise."""
    label, kind, low, high = SETTINGS[name]
    return check_number(label, value, kind, *(limits or (low, high)))


def check_number(label: str, value, kind: type, low: float, high: float):
    """value as `kind` (int or float) if it is one and lies in [low, high]; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if kind is int else numbers.Real):
        raise ValueError(f"{label} must be {'a whole number' if kind is int else 'a number'}, "
                         f"got {type(value).__name__} {short(value)}")
    between = f"between {low} and {high}" if kind is int else f"between {low:g} and {high:g}"
    try:
        value = kind(value)
    except OverflowError:  # a 400-digit integer as a float
        raise ValueError(f"{label} must be {between}, got {short(value)}") from None
    if not low <= value <= high:  # also refuses nan
        raise ValueError(f"{label} must be {between}, got {short(value)}")
    return value


@dataclass(frozen=True)
class TrainConfig:
    lam: float = 1.0  # weight of the KL term (Kingma & Welling 2014); 0 is a plain autoencoder
    epochs: int = 100
    batch_size: int = 1024
    lr: float = 3e-3  # peak learning rate, decayed to 0 on a cosine
    seed: int = 0
    reconstruction: str = "bce"  # "bce" (Bernoulli, nats) or "mse" (squared error)
    k: int = 1  # samples of z per image in the expectation of the reconstruction term
    # Std of Gaussian noise added to the encoder's input (not the decoder's target) in training:
    # amortised inference regularisation (Shu et al. 2018). At lambda = 1, 400 epochs, it gave
    # test neg-ELBO 133.7 nats (the shipped model) against 136.3 without: the encoder overfits.
    encoder_noise: float = 0.15
    bf16: bool = True  # bf16 autocast for the matmuls
    # torch.compile the CPU loop's loss and its backward: fused elementwise kernels, faster steps
    # after a first-call warm-up of seconds. For long CLI runs, not the app's short jobs.
    compile: bool = False
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    device: str = "auto"  # "auto" (a CUDA GPU if there is one, else the CPU), "cpu", "cuda" or "mps"
    model: ModelConfig = field(default_factory=ModelConfig)
    # A dial: every training image gets its own lambda, drawn log-uniformly from [low, high] at each
    # step, and the model (FiLM-conditioned, model.film_hidden > 0) learns the whole range at once
    # (Dosovitskiy & Djolonga 2020). `lam` is then the lambda its recorded figures are taken at.
    # None: a plain model of the one lambda `lam`.
    lam_range: tuple[float, float] | None = None
    # Dynamically binarised MNIST, the benchmark of the VAE literature (pixels drawn stochastically:
    # Salakhutdinov & Murray 2008; afresh at each use: Burda et al. 2016), so that figures compare
    # with published ones: each training step draws every pixel afresh as
    # x ~ Bernoulli(intensity) (the image a pixel's intensity stands for, a new draw every time the
    # image comes round), and the test set is binarised once, with a fixed seed
    # (`explorer.data.binarize`), for the checkpoint's figures and embedding and for `eval`.
    binarize: bool = False

    def __post_init__(self):
        for name in SETTINGS:
            object.__setattr__(self, name, check_setting(name, getattr(self, name)))
        if self.k * self.batch_size > MAX_SAMPLES_PER_STEP:
            raise ValueError(f"samples per image K x batch size must be at most {MAX_SAMPLES_PER_STEP:,}, "
                             f"got {self.k} x {self.batch_size}")
        for name, choices in (("reconstruction", RECONSTRUCTIONS), ("device", DEVICES)):
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {short(getattr(self, name))}")
        for name in ("bf16", "compile", "binarize"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {short(getattr(self, name))}")
        if not isinstance(self.model, ModelConfig):
            raise ValueError(f"model must be a ModelConfig, got {type(self.model).__name__}")
        object.__setattr__(self, "model", _checked_model(self.model))
        object.__setattr__(self, "lam_range", _checked_dial(self.lam_range, self.lam, self.model))

    @property
    def dial(self) -> bool:
        """Whether this trains one network for a range of lambdas (see `lam_range`)."""
        return self.lam_range is not None

    @property
    def model_lam(self) -> float | None:
        """The lambda its trained network's encode and decode take: a dial's `lam`; None for a plain model."""
        return self.lam if self.dial else None

    @property
    def key(self) -> str:
        """What "the same model" means: every setting that changes the trained model.

        `threads`, `compile` and `device` change how a run is computed, not what it trains
        (results differ only in floating-point and random-stream detail), so they are left out;
        floats are rounded to 10 significant digits so that a slider's 0.30000000000000004 is
        lambda 0.3.
        """
        identity = dataclasses.replace(self, threads=0, compile=False).to_dict()
        del identity["device"]  # absent, not fixed: keys (and file names) of configs from before the field stay
        if not self.dial:  # likewise: a plain model's key is what it was before dials
            del identity["lam_range"], identity["model"]["film_hidden"]
        if not self.binarize:  # and a grey-scale model's what it was before binarised ones
            del identity["binarize"]
        return json.dumps(canonical(identity), sort_keys=True)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """A config as `to_dict` wrote it; ValueError (or TypeError for unknown fields) if not one."""
        if not isinstance(d, dict) or not isinstance(d.get("model"), dict):
            raise ValueError("a train config must be an object with a model object")
        d = dict(d)
        d.setdefault("encoder_noise", 0.0)  # files from before the field trained without it
        d.setdefault("compile", False)
        d.setdefault("device", "cpu")  # files from before the field were trained on the CPU
        d.setdefault("binarize", False)  # files from before the field trained on grey-scale images
        return cls(model=ModelConfig.from_dict(d.pop("model")), **d)


def _checked_model(m: ModelConfig) -> ModelConfig:
    """The network's settings, checked before anything is allocated for them."""
    if not isinstance(m.image_shape, tuple) or len(m.image_shape) != 2:
        raise ValueError(f"image shape must be (rows, cols), got {short(m.image_shape)}")
    if not isinstance(m.hidden, tuple) or not 1 <= len(m.hidden) <= MAX_LAYERS:
        raise ValueError(f"hidden must list 1 to {MAX_LAYERS} layer widths, got {short(m.hidden)}")
    m = ModelConfig(image_shape=tuple(check_number("image side", s, int, 1, MAX_SIDE) for s in m.image_shape),
                    hidden=tuple(check_number("hidden width", w, int, 1, MAX_WIDTH) for w in m.hidden),
                    latent_dim=check_number("latent dimensions", m.latent_dim, int, 1, MAX_LATENT),
                    dropout=check_number("dropout", m.dropout, float, 0.0, 0.99),
                    film_hidden=check_number("FiLM width", m.film_hidden, int, 0, MAX_WIDTH))
    if m.parameter_count > MAX_PARAMETERS:
        raise ValueError(f"the network would have {m.parameter_count:,} parameters; at most {MAX_PARAMETERS:,}")
    return m


def _checked_dial(lam_range, lam: float, model: ModelConfig) -> tuple[float, float] | None:
    """A dial's lambda range as two floats (JSON gives a list), checked against its model and `lam`."""
    if lam_range is None:
        if model.film_hidden:
            raise ValueError(f"a lambda-conditioned model (FiLM width {model.film_hidden}) trains only as a dial: "
                             f"give it a lambda range")
        return None
    if not isinstance(lam_range, (tuple, list)) or len(lam_range) != 2:
        raise ValueError(f"lambda range must be two numbers (low, high), got {short(lam_range)}")
    low, high = (check_number("lambda range", v, float, SETTINGS["lam"][3] ** -1, SETTINGS["lam"][3])
                 for v in lam_range)
    if not high >= low * MIN_DIAL_RATIO:
        raise ValueError(f"lambda range must rise from low to high by at least {MIN_DIAL_RATIO}x, "
                         f"got {low:g} to {high:g}")
    if not model.film_hidden:
        raise ValueError("a dial (a lambda range) needs a lambda-conditioned model: FiLM width > 0")
    if not low <= lam <= high:
        raise ValueError(f"lambda {lam:g}, where a dial's figures are taken, must lie in its range {low:g} to {high:g}")
    return low, high


def canonical(value):
    """Floats rounded to 10 significant digits, containers as lists: the form identities compare."""
    if isinstance(value, float):
        return float(f"{value:.{_FLOAT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value
