"""The judge of "decodes to a digit": a small CNN trained on MNIST, its rule, and its file.

The story's claims (holes decode to no digit, the prior's samples do or do not, a straight path
between two digits stays on digits) need a judge that is not a person looking. It is this
classifier, applied to the decoder's mean image (pixels in [0, 1]):

    a decode is *recognised* as digit d when the classifier's largest softmax probability is at
    least CONFIDENT = 0.9 and d is its class; otherwise it is "no digit".

An image the classifier gives no class 90% to is one it was not trained to see: a blend of two
digits, a smudge. Softmax confidence is a known-imperfect detector of such inputs (Hendrycks &
Gimpel 2017, "A baseline for detecting misclassified and out-of-distribution examples"), so the
figures built on it are this judge's verdicts, not ground truth.

The network (LeCun et al. 1998's convolution-and-pooling pattern, kept small enough for a browser
to run once per decode): conv 3x3 1->16, ReLU, max-pool 2, conv 3x3 16->32, ReLU, max-pool 2,
Linear -> 64, ReLU, Linear -> 10; both convolutions zero-padded by one pixel. About 1.1 M
multiply-adds per 28x28 image and 0.1 M weights.

Its file is safetensors: the weights (float32, torch's state-dict names) and, in the metadata, a
JSON header: the architecture, the test accuracy, the training settings and the command that made
it. `read_file` validates it the way `explorer.checkpoint` validates a VAE's: a regular file, a
bounded header, the metadata typed field by field, every tensor's shape checked against the
architecture before anything is read, then every value finite; whatever a file holds, it loads or
raises `ClassifierError` naming the file.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save as st_save
from torch import nn

from .config import check_number
from .data import N_CLASSES
from .files import reading_safetensors, write_atomic
from .formats import JUDGE_CONFIDENT as CONFIDENT
from .formats import JUDGE_FORMAT as FORMAT
from .typed_json import Invalid, build, load_metadata, short

# The rule (a decode is recognised as a digit when the largest softmax probability reaches
# CONFIDENT) and the file's format tag live with the torch-free reader the page
# publishes the judge with (explorer.formats.read_judge).
SHIPPED = Path(__file__).resolve().parent.parent / "pretrained" / "classifier.safetensors"
MAX_HEADER_BYTES = 1 << 20  # the weights' index and a short JSON header need a few kB
MAX_JSON_DEPTH = 8
MAX_CHANNELS, MAX_HIDDEN, MAX_SIDE = 256, 4096, 1024
# A judge run once per decode, on a browser's frame path, must stay cheap: this bounds its cost.
MAX_MULTIPLY_ADDS = 20_000_000


class ClassifierError(ValueError):
    """A classifier file is missing, corrupt, truncated or not one of ours."""


@dataclass(frozen=True)
class CnnConfig:
    """The architecture; the shapes of every weight follow from it."""

    image_shape: tuple[int, int] = (28, 28)
    channels: tuple[int, int] = (16, 32)  # of the two convolutions
    hidden: int = 64  # units of the first Linear layer
    classes: int = N_CLASSES

    def __post_init__(self):
        if not isinstance(self.image_shape, (tuple, list)) or len(self.image_shape) != 2:
            raise ValueError(f"image shape must be (rows, cols), got {short(self.image_shape)}")
        if not isinstance(self.channels, (tuple, list)) or len(self.channels) != 2:
            raise ValueError(f"channels must be two numbers, one per convolution, got {short(self.channels)}")
        object.__setattr__(self, "image_shape", tuple(check_number("image side", s, int, 4, MAX_SIDE)
                                                      for s in self.image_shape))
        object.__setattr__(self, "channels", tuple(check_number("channels", c, int, 1, MAX_CHANNELS)
                                                   for c in self.channels))
        object.__setattr__(self, "hidden", check_number("hidden units", self.hidden, int, 1, MAX_HIDDEN))
        object.__setattr__(self, "classes", check_number("classes", self.classes, int, 2, N_CLASSES))
        if self.multiply_adds > MAX_MULTIPLY_ADDS:
            raise ValueError(f"the network would take {self.multiply_adds:,} multiply-adds per image; "
                             f"at most {MAX_MULTIPLY_ADDS:,}")

    @property
    def pooled_shape(self) -> tuple[int, int]:
        """The feature map's (rows, cols) after both poolings (each floors an odd side)."""
        return tuple(s // 4 for s in self.image_shape)

    @property
    def flat(self) -> int:
        """Inputs of the first Linear layer: the second convolution's pooled map, (channel, row, col)."""
        return self.channels[1] * math.prod(self.pooled_shape)

    @property
    def multiply_adds(self) -> int:
        h, w = self.image_shape
        c1, c2 = self.channels
        return 9 * h * w * c1 + 9 * (h // 2) * (w // 2) * c1 * c2 + self.flat * self.hidden + self.hidden * self.classes

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CnnConfig:
        return cls(**d)


class DigitCNN(nn.Module):
    """conv-ReLU-pool twice, then two Linear layers: logits over the classes."""

    def __init__(self, config: CnnConfig = CnnConfig()):
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc1 = nn.Linear(config.flat, config.hidden)
        self.fc2 = nn.Linear(config.hidden, config.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes) of images (N, H*W) or (N, 1, H, W) in [0, 1]."""
        x = x.reshape(-1, 1, *self.config.image_shape)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


@dataclass(frozen=True)
class TrainSettings:
    """How a classifier was trained (recorded in its file)."""

    epochs: int = 12
    batch_size: int = 128
    lr: float = 2e-3  # Adam's peak, decayed to 0 on a cosine
    shift: int = 2  # each training image moved by up to this many pixels either way, per axis, every step
    seed: int = 0
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default

    def __post_init__(self):
        for name, low, high in (("epochs", 1, 1000), ("batch_size", 1, 1 << 16), ("shift", 0, 8),
                                ("seed", 0, 2**63 - 1), ("threads", 0, 1024)):
            object.__setattr__(self, name, check_number(name.replace("_", " "), getattr(self, name), int, low, high))
        object.__setattr__(self, "lr", check_number("learning rate", self.lr, float, 1e-8, 1.0))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Record:
    """What a classifier file says about itself."""

    architecture: CnnConfig
    settings: TrainSettings
    test_accuracy: float  # share of the test set whose largest logit is its label
    test_images: int
    train_seconds: float
    command: str

    def to_dict(self) -> dict:
        return {"architecture": self.architecture.to_dict(), "settings": self.settings.to_dict(),
                "test_accuracy": self.test_accuracy, "test_images": self.test_images,
                "train_seconds": self.train_seconds, "command": self.command}

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        return cls(build(CnnConfig, d["architecture"], "architecture"),
                   build(TrainSettings, d["settings"], "settings"),
                   check_number("test accuracy", d["test_accuracy"], float, 0.0, 1.0),
                   check_number("test images", d["test_images"], int, 1, 2**31),
                   check_number("train seconds", d["train_seconds"], float, 0.0, 1e9), d["command"])


@dataclass(frozen=True)
class Classifier:
    """A trained judge and its record."""

    model: DigitCNN
    record: Record

    def probabilities(self, images, batch_size: int = 2000) -> np.ndarray:
        """Softmax probabilities (N, classes), float64, of images (N, H*W) or (N, H, W) in [0, 1]."""
        return probabilities(self.model, images, batch_size)


@torch.inference_mode()
def probabilities(model: DigitCNN, images, batch_size: int = 2000) -> np.ndarray:
    """Softmax probabilities (N, classes), float64, of images (N, H*W) or (N, H, W) in [0, 1], in fp32."""
    x = torch.as_tensor(np.asarray(images, np.float32)).reshape(-1, math.prod(model.config.image_shape))
    model.eval()
    parts = [torch.softmax(model(xb), dim=1) for xb in x.split(batch_size)]
    return torch.cat(parts).double().numpy() if parts else np.zeros((0, model.config.classes))


def verdicts(probs: np.ndarray) -> np.ndarray:
    """The rule, per image: its class where the largest probability is at least CONFIDENT, -1 ("no digit") elsewhere."""
    probs = np.asarray(probs)
    return np.where(probs.max(1) >= CONFIDENT, probs.argmax(1), -1)


def accuracy(model: DigitCNN, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of uint8 images (N, H, W) whose most probable class is their label."""
    probs = probabilities(model, images.reshape(len(images), -1).astype(np.float32) / 255)
    return float((probs.argmax(1) == labels).mean())


def shifted(x: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Each image (N, 1, H, W) moved by its own whole-pixel offset in [-shift, shift] per axis, zeros
    shifted in: MNIST's digits are centred by their centre of mass, so small shifts are the
    variation a decode can show that the training set lacks."""
    if shift == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (shift, shift, shift, shift))
    dy, dx = (torch.randint(0, 2 * shift + 1, (n,), generator=gen) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h))[:, :, None]  # (N, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, :]  # (N, 1, W)
    return padded[torch.arange(n)[:, None, None], 0, rows, cols][:, None]


def train(images: np.ndarray, labels: np.ndarray, settings: TrainSettings = TrainSettings(),
          config: CnnConfig = CnnConfig(), on_epoch: Callable[[int, float], None] | None = None) -> DigitCNN:
    """A classifier trained on uint8 images (N, H, W) with labels (N,): Adam, cross-entropy, random
    shifts, a fixed seed; `on_epoch(epoch, mean loss)` after each epoch."""
    if tuple(images.shape[1:]) != config.image_shape or len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"images {images.shape} and labels {labels.shape} do not fit a classifier of "
                         f"{config.image_shape[0]}x{config.image_shape[1]} images")
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    model = DigitCNN(config).train()
    x = torch.from_numpy(images).float().div_(255)[:, None]  # (N, 1, H, W)
    y = torch.from_numpy(labels.astype(np.int64))
    steps = math.ceil(len(x) / settings.batch_size) * settings.epochs
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    for epoch in range(1, settings.epochs + 1):
        total = 0.0
        for idx in torch.randperm(len(x), generator=gen).split(settings.batch_size):
            loss = F.cross_entropy(model(shifted(x[idx], settings.shift, gen)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if not math.isfinite(total):
            raise FloatingPointError(f"classifier training diverged at epoch {epoch}; try a smaller learning rate")
        if on_epoch is not None:
            on_epoch(epoch, total / len(x))
    return model.eval()


def fit(train_split, test_split, settings: TrainSettings = TrainSettings(), config: CnnConfig = CnnConfig(),
        command: str = "", on_epoch: Callable[[int, float], None] | None = None) -> Classifier:
    """Train on one split, score on the other: a classifier with its record."""
    start = time.perf_counter()
    model = train(train_split.images, train_split.labels, settings, config, on_epoch)
    seconds = time.perf_counter() - start
    record = Record(config, settings, accuracy(model, test_split.images, test_split.labels), len(test_split),
                    round(seconds, 1), command)
    return Classifier(model, record)


# The file -------------------------------------------------------------------------------------

def to_bytes(classifier: Classifier) -> bytes:
    tensors = {k: v.detach().float().contiguous() for k, v in classifier.model.state_dict().items()}
    if not all(torch.isfinite(t).all() for t in tensors.values()):
        raise ClassifierError("not saved: the classifier's weights hold NaN or infinite values")
    return st_save(tensors, metadata={"format": FORMAT, "explorer": json.dumps(classifier.record.to_dict(),
                                                                              allow_nan=False)})


def save(path: str | Path, classifier: Classifier) -> Path:
    """Write atomically; returns the path."""
    return write_atomic(path, to_bytes(classifier))


def read_file(path: str | Path) -> tuple[Record, dict[str, np.ndarray]]:
    """The record and the weights (float32 numpy, by state-dict name) of a classifier file, validated."""
    path = Path(path)
    with reading_safetensors(path, ClassifierError, "classifier file", MAX_HEADER_BYTES, "numpy") as f:
        record = _record(f.metadata() or {})
        expected = _shapes(record.architecture)
        specs = {k: (f.get_slice(k).get_dtype(), tuple(f.get_slice(k).get_shape())) for k in f.keys()}
        for key in expected.keys() - specs.keys():
            raise Invalid(f"tensor {key} is missing")
        for key in specs.keys() - expected.keys():
            raise Invalid(f"unexpected tensor {short(key)}")
        for key, want in expected.items():
            if specs[key] != ("F32", want):
                raise Invalid(f"tensor {key} is {specs[key][0]} {list(specs[key][1])}, the architecture "
                              f"implies F32 {list(want)}")
        arrays = {k: f.get_tensor(k) for k in expected}
        for key, a in arrays.items():
            if not np.isfinite(a).all():
                raise Invalid(f"tensor {key} holds {a.size - np.isfinite(a).sum()} NaN or infinite values")
    return record, arrays


def load(path: str | Path) -> Classifier:
    record, arrays = read_file(path)
    model = DigitCNN(record.architecture)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    return Classifier(model.eval(), record)


def _record(meta: dict) -> Record:
    if meta.get("format") != FORMAT:
        raise Invalid(f"not a VAE Latent Explorer classifier (format {short(meta.get('format'))})")
    return build(Record, load_metadata(meta.get("explorer"), MAX_JSON_DEPTH), "metadata")


def _shapes(config: CnnConfig) -> dict[str, tuple[int, ...]]:
    """The weights a network of this architecture has, built on the meta device (no memory)."""
    with torch.device("meta"):
        network = DigitCNN(config)
    return {k: tuple(v.shape) for k, v in network.state_dict().items()}
