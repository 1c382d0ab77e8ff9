"""Command line: `python -m explorer train|eval|info|list|classifier ...`. Every failure prints one `error:`
line and exits 2; nothing is written unless a run succeeds."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt_io
from . import classifier, dial, files
from .classifier import CnnConfig, TrainSettings
from .config import DEVICES, DIAL_FILM_HIDDEN, DIAL_RANGE, TrainConfig, canonical, check_number
from .data import DEFAULT_DIR, binarize, load_split
from .device import resolve_device
from .dial import mu_step
from .evaluate import evaluate
from .library import ModelLibrary
from .model import RECONSTRUCTIONS, VAE, ModelConfig
from .pipeline import fit
from .train import EpochStats, Progress, images_to_tensor

IWAE_K_RANGE = (1, 1000)  # at 1000, one evaluation batch holds 500 x 1000 decoded images (1.6 GB)


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure is one `error:` line on stderr and exit status 2."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parser().parse_args(argv)
        return args.run(args, argv)
    except _UsageError as e:
        return _fail(f"{e} (see --help)")
    except ValueError as e:  # DataError, CheckpointError, DeviceError, LibraryError: bad input, named
        return _fail(str(e))
    except FloatingPointError as e:
        return _fail(f"{e}; nothing was saved")
    except torch._dynamo.exc.BackendCompilerFailed as e:  # --compile without a working C++ compiler, say
        return _fail(f"torch.compile failed ({str(e).strip().splitlines()[0]}); train without --compile")
    except (MemoryError, torch.OutOfMemoryError):
        return _fail("out of memory; try a smaller --batch-size, --k, --hidden or --iwae-k")
    except OSError as e:
        return _fail(f"{e.filename or ''}: {e.strerror or e}".lstrip(": "))
    except KeyboardInterrupt:
        print("\ninterrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as e:  # a user sees one line, never a traceback
        return _fail(f"unexpected {type(e).__name__}: {e}")


def _fail(message: str) -> int:
    print("error: " + " ".join(message.split()), file=sys.stderr)  # one line, whatever the message held
    return 2


class _UsageError(Exception):
    """argparse's complaint, turned into our one-line error."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m explorer", description="Train, evaluate and inspect 2-D VAEs.")
    sub = p.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)
    d = TrainConfig()

    t = sub.add_parser("train", help="train a VAE and save it as one checkpoint file")
    t.add_argument("--lam", type=float, default=d.lam,
                   help="KL weight lambda >= 0; with --dial, the lambda its figures are taken at (default %(default)s)")
    t.add_argument("--dial", action="store_true",
                   help="train one lambda-conditioned network for a whole range of lambdas (see --lam-range)")
    t.add_argument("--lam-range", type=_lam_range, default=None, metavar="LOW,HIGH",
                   help="the dial's lambdas, drawn log-uniformly per image "
                        f"(default {DIAL_RANGE[0]:g},{DIAL_RANGE[1]:g})")
    t.add_argument("--film-hidden", type=int, default=None,
                   help=f"width of the dial's FiLM networks (default {DIAL_FILM_HIDDEN})")
    t.add_argument("--init", type=Path, default=None, metavar="CHECKPOINT",
                   help="start from this checkpoint's weights (a model of the same layers); with --dial, from a "
                        "model trained at one lambda, whose FiLM starts at the identity")
    t.add_argument("--epochs", type=int, default=d.epochs, help="default %(default)s")
    t.add_argument("--out", type=Path, required=True, help="checkpoint path to write (.safetensors)")
    t.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    t.add_argument("--batch-size", type=int, default=d.batch_size, help="default %(default)s")
    t.add_argument("--lr", type=float, default=d.lr, help="peak learning rate, cosine-decayed (default %(default)s)")
    t.add_argument("--seed", type=int, default=d.seed, help="default %(default)s")
    t.add_argument("--recon", choices=RECONSTRUCTIONS, default=d.reconstruction,
                   help="reconstruction cost: Bernoulli cross-entropy or squared error (default %(default)s)")
    t.add_argument("--k", type=int, default=d.k, help="samples of z per image (default %(default)s)")
    t.add_argument("--hidden", type=_widths, default=d.model.hidden,
                   help="encoder widths, comma-separated; the decoder mirrors them (default 512,256)")
    t.add_argument("--dropout", type=float, default=d.model.dropout,
                   help="dropout on the decoder's hidden layers while training (default %(default)s)")
    t.add_argument("--encoder-noise", type=float, default=d.encoder_noise,
                   help="std of Gaussian noise on the encoder's input while training (default %(default)s)")
    t.add_argument("--fp32", action="store_true", help="train in fp32 instead of bf16 autocast")
    t.add_argument("--threads", type=int, default=d.threads, help="torch threads, 0 = torch's default")
    t.add_argument("--compile", action="store_true",
                   help="torch.compile the training step: faster epochs after a warm-up of seconds "
                        "(needs a C++ compiler)")
    t.add_argument("--binarize", action="store_true",
                   help="dynamically binarised images: each step draws every pixel as x ~ Bernoulli(intensity); "
                        "the test set is binarised once, with a fixed seed, for the figures")
    t.add_argument("--iwae-k", type=int, default=100, help="IWAE samples per test image (default %(default)s)")
    t.add_argument("--data", type=Path, default=DEFAULT_DIR, help="folder of IDX files (default: shipped MNIST)")
    t.add_argument("--device", choices=DEVICES, default=d.device,
                   help="where to train: auto takes a CUDA GPU if there is one (default %(default)s)")
    t.set_defaults(run=_train)

    e = sub.add_parser("eval", help="test-set neg-ELBO, IWAE log p(x) and active units of a checkpoint")
    e.add_argument("path", type=Path)
    e.add_argument("--lam", type=float, default=None,
                   help="a dial: the lambda to evaluate it at (default its own); a plain model: its lambda only")
    e.add_argument("--binarize", action=argparse.BooleanOptionalAction, default=None,
                   help="score the test set binarised once with a fixed seed (each pixel x ~ Bernoulli(intensity)), "
                        "or the grey-scale images (--no-binarize); default: as the model was trained")
    e.add_argument("--iwae-k", type=int, default=100, help="default %(default)s")
    e.add_argument("--limit", type=int, default=0, help="evaluate on the first N test images only")
    e.add_argument("--data", type=Path, default=DEFAULT_DIR, help="folder of IDX files (default: shipped MNIST)")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--device", choices=DEVICES, default="auto",
                   help="where to evaluate: auto takes a CUDA GPU if there is one (default %(default)s)")
    e.set_defaults(run=_eval)

    i = sub.add_parser("info", help="what a checkpoint holds")
    i.add_argument("path", type=Path)
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.set_defaults(run=_info)

    c = sub.add_parser("classifier", help="the digit classifier that judges whether a decode shows a digit")
    actions = c.add_subparsers(required=True, metavar="ACTION", parser_class=_Parser)
    s = TrainSettings()
    ct = actions.add_parser("train", help="train the classifier on the training set and score it on the test set")
    ct.add_argument("--out", type=Path, required=True, help="file to write (.safetensors)")
    ct.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    ct.add_argument("--epochs", type=int, default=s.epochs, help="default %(default)s")
    ct.add_argument("--batch-size", type=int, default=s.batch_size, help="default %(default)s")
    ct.add_argument("--lr", type=float, default=s.lr, help="peak learning rate, cosine-decayed (default %(default)s)")
    ct.add_argument("--shift", type=int, default=s.shift,
                    help="random shift of each training image, pixels per axis, either way (default %(default)s)")
    ct.add_argument("--seed", type=int, default=s.seed, help="default %(default)s")
    ct.add_argument("--threads", type=int, default=s.threads, help="torch threads, 0 = torch's default")
    ct.add_argument("--data", type=Path, default=DEFAULT_DIR, help="folder of IDX files (default: shipped MNIST)")
    ct.set_defaults(run=_classifier_train)
    ce = actions.add_parser("eval", help="a classifier file's test accuracy and how much of the test set it recognises")
    ce.add_argument("path", type=Path)
    ce.add_argument("--data", type=Path, default=DEFAULT_DIR, help="folder of IDX files (default: shipped MNIST)")
    ce.add_argument("--json", action="store_true", help="print one JSON object")
    ce.set_defaults(run=_classifier_eval)

    ls = sub.add_parser("list", help="the model library as the app sees it, with the files it skips and why")
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    ls.set_defaults(run=_list)
    return p


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    return widths  # TrainConfig checks their range


def _lam_range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two comma-separated numbers LOW,HIGH, got {text!r}") from None
    return low, high  # TrainConfig checks them


def _train(args, argv) -> int:
    if not args.dial and (args.lam_range is not None or args.film_hidden is not None):
        raise _UsageError("--lam-range and --film-hidden are settings of a dial: add --dial")
    config = TrainConfig(lam=args.lam, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         reconstruction=args.recon, k=args.k, encoder_noise=args.encoder_noise, bf16=not args.fp32,
                         compile=args.compile, threads=args.threads, device=resolve_device(args.device).type,
                         binarize=args.binarize,
                         model=ModelConfig(hidden=args.hidden, dropout=args.dropout,
                                           film_hidden=(args.film_hidden or DIAL_FILM_HIDDEN) if args.dial else 0),
                         lam_range=(args.lam_range or DIAL_RANGE) if args.dial else None)
    check_number("--iwae-k", args.iwae_k, int, *IWAE_K_RANGE)
    _check_out(args.out, args.force)
    init = None if args.init is None else _init_model(args.init, config.model)
    files.sweep_temp_files(args.out.parent)  # what killed saves left there; young ones may be live
    bar = _ProgressBar()
    result = fit(config, data_dir=args.data, on_progress=bar, iwae_k=args.iwae_k, init=init,
                 command="python -m explorer " + shlex.join(argv), on_phase=bar.phase, on_eval_progress=bar.images)
    bar.close()
    m = result.metrics
    if not all(map(math.isfinite, (m.neg_elbo, m.log_px_iwae))):
        raise FloatingPointError(f"training diverged: test neg-ELBO {m.neg_elbo}; try a smaller learning rate")
    path = ckpt_io.save(args.out, result)
    at = f" at lambda {config.lam:g}" if config.dial else ""
    print(f"saved {path}: test neg-ELBO{at} {m.neg_elbo:.2f} = recon {m.recon:.2f} + KL {m.kl:.2f} nats, "
          f"IWAE log p(x) {m.log_px_iwae:.2f} (k={m.iwae_k}), active units {m.active_units}; "
          f"on {config.device}: training {bar.seconds['training']:.1f} s, evaluation {bar.seconds['evaluating']:.1f} s")
    if result.dial is not None:
        print(f"a dial for lambda {config.lam_range[0]:g} to {config.lam_range[1]:g}: grid of {len(result.dial.lams)} "
              f"lambdas, test curve at {len(result.dial.curve_lams)} ({bar.seconds['dial']:.1f} s); "
              f"`python -m explorer eval {args.out} --lam X` evaluates it at X")
    return 0


def _init_model(path: Path, config: ModelConfig) -> VAE:
    """The model `train --init` starts from, checked against the one it will train."""
    start = ckpt_io.load(path).model
    if config.film_hidden:
        try:
            return dial.start_from(start, config)
        except ValueError as e:
            raise ValueError(f"--init {path}: {e}") from None
    if dataclasses.replace(start.config, dropout=config.dropout) != config:  # dropout holds no weights
        raise ValueError(f"--init {path}: its model ({_describe(start.config)}) is not the one to train "
                         f"({_describe(config)})")
    return start


def _describe(m: ModelConfig) -> str:
    kind = f", a dial (FiLM {m.film_hidden})" if m.film_hidden else ""
    return f"layers {','.join(map(str, m.hidden))}, {m.latent_dim}-d{kind}"


def _classifier_train(args, argv) -> int:
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, shift=args.shift,
                             seed=args.seed, threads=args.threads)
    _check_out(args.out, args.force)
    train_split, test_split = load_split("train", args.data), load_split("test", args.data)
    config = CnnConfig(image_shape=tuple(train_split.images.shape[1:]))
    started = time.monotonic()

    def on_epoch(epoch: int, loss: float) -> None:
        print(f"epoch {epoch}/{settings.epochs}: training loss {loss:.4f}, {time.monotonic() - started:.0f} s",
              file=sys.stderr)

    result = classifier.fit(train_split, test_split, settings, config, "python -m explorer " + shlex.join(argv),
                            on_epoch)
    path = classifier.save(args.out, result)
    r = result.record
    print(f"saved {path}: test accuracy {r.test_accuracy:.4f} on {r.test_images:,} images; "
          f"{r.architecture.multiply_adds:,} multiply-adds per image; training {r.train_seconds:.0f} s")
    return 0


def _classifier_eval(args, argv) -> int:
    judge = classifier.load(args.path)
    test = load_split("test", args.data)
    if tuple(test.images.shape[1:]) != judge.record.architecture.image_shape:
        raise ValueError(f"{args.data}: test images are {'x'.join(map(str, test.images.shape[1:]))}, the classifier "
                         f"expects {'x'.join(map(str, judge.record.architecture.image_shape))}")
    started = time.monotonic()
    probs = judge.probabilities(test.images.astype(np.float32) / 255)
    verdict = classifier.verdicts(probs)
    recognised = verdict >= 0
    figures = {"path": str(args.path), "test_accuracy": float((probs.argmax(1) == test.labels).mean()),
               "recorded_test_accuracy": judge.record.test_accuracy, "confident": classifier.CONFIDENT,
               "recognised_share": float(recognised.mean()),
               "recognised_accuracy": float((verdict[recognised] == test.labels[recognised]).mean())
               if recognised.any() else None,
               "n_images": len(test), "multiply_adds": judge.record.architecture.multiply_adds,
               "seconds": round(time.monotonic() - started, 2)}
    if args.json:
        print(_json(figures))
        return 0
    print(f"{args.path}, {figures['n_images']:,} test images, {figures['seconds']:.1f} s:\n"
          f"  accuracy     {figures['test_accuracy']:.4f} (recorded {figures['recorded_test_accuracy']:.4f})\n"
          f"  recognised   {figures['recognised_share']:.4f} (largest probability >= {classifier.CONFIDENT:g}), "
          f"{figures['recognised_accuracy'] or 0:.4f} of them correctly")
    return 0


def _check_out(out: Path, force: bool) -> None:
    """Refuse, before any training, an --out that could not be written at the end."""
    if out.suffix != ckpt_io.EXTENSION:
        raise ValueError(f"--out must end in {ckpt_io.EXTENSION}, got {out}")
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file path ending in {ckpt_io.EXTENSION}")
    if out.exists() or out.is_symlink():
        if not out.is_file():
            raise ValueError(f"--out {out} exists and is not a regular file")
        if not force:
            raise ValueError(f"--out {out} exists; add --force to overwrite it")
    try:  # the folder (made if missing, as saving would) must take a file: try one, named as save's temp files
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        os.unlink(probe)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"--out {out}: a file is in the way of its folder {out.parent}") from None
    except OSError as e:
        raise ValueError(f"--out {out}: cannot write in {out.parent} ({e.strerror or e})") from None


def _eval(args, argv) -> int:
    check_number("--iwae-k", args.iwae_k, int, *IWAE_K_RANGE)
    check_number("--limit", args.limit, int, 0, 2**31)
    device = resolve_device(args.device)
    ckpt = ckpt_io.load(args.path)
    lam = _eval_lam(ckpt, args.lam)
    test = load_split("test", args.data)
    if tuple(test.images.shape[1:]) != ckpt.config.model.image_shape:
        raise ValueError(f"{args.data}: test images are {'x'.join(map(str, test.images.shape[1:]))}, "
                         f"the model expects {'x'.join(map(str, ckpt.config.model.image_shape))}")
    binarized = ckpt.config.binarize if args.binarize is None else args.binarize
    images = binarize(test.images) if binarized else test.images  # the whole set's one draw, whatever --limit
    x = images_to_tensor(images[: args.limit or None])
    bar = _ProgressBar()
    bar.phase("evaluating")
    m = evaluate(ckpt.model.to(device), x, iwae_k=args.iwae_k, on_progress=bar.images,
                 lam=lam if ckpt.config.dial else None)
    bar.close()
    seconds = round(bar.seconds["evaluating"], 2)
    if args.json:
        print(_json({"path": str(args.path), "lam": lam, "dial": ckpt.config.dial, "binarized": binarized,
                     **m.to_dict(), "device": device.type, "seconds": seconds}))
    else:
        kind = f"a dial at lambda {lam:g}" if ckpt.config.dial else f"lambda {lam:g}"
        images = "binarised test images (fixed seed)" if binarized else "test images"
        print(f"{args.path} ({kind}), {m.n_images} {images}, {seconds:.1f} s on {device.type}:\n"
              f"  neg-ELBO      {m.neg_elbo:9.3f} nats = recon {m.recon:.3f} + KL {m.kl:.3f}\n"
              f"  log p(x)      {m.log_px_iwae:9.3f} nats (IWAE, k={m.iwae_k})\n"
              f"  active units  {m.active_units} of {ckpt.config.model.latent_dim}")
    return 0


def _eval_lam(ckpt: ckpt_io.Checkpoint, lam: float | None) -> float:
    """The lambda to evaluate at: any within a dial's range (its own by default); a plain model's own only."""
    if lam is None:
        return ckpt.lam
    if ckpt.config.dial:
        low, high = ckpt.config.lam_range
        return check_number("--lam for this dial", lam, float, low, high)
    if canonical(float(lam)) != canonical(ckpt.lam):
        raise ValueError(f"--lam {lam:g}: this is a plain model of lambda {ckpt.lam:g}, evaluated at its own "
                         f"lambda only (a dial, `train --dial`, takes any lambda of its range)")
    return ckpt.lam


def _dial_info(ckpt: ckpt_io.Checkpoint) -> dict | None:
    d = ckpt.dial
    if d is None:
        return None
    mu = d.mu.decode()
    steps = [mu_step(a, b) for a, b in zip(mu, mu[1:])]
    return {"lam_range": list(ckpt.config.lam_range), "film_hidden": ckpt.config.model.film_hidden,
            "grid_lambdas": len(d.lams), "grid_max_mu_step": round(max(steps), 4),
            "curve_lambdas": len(d.curve_lams)}


def _info(args, argv) -> int:
    ckpt = ckpt_io.load(args.path)
    info = {"path": str(args.path), "lam": ckpt.lam, "dataset": ckpt.dataset, "command": ckpt.command,
            "config": ckpt.config.to_dict(), "metrics": ckpt.metrics.to_dict() if ckpt.metrics else None,
            "epochs_trained": len(ckpt.history),
            "train_seconds": round(EpochStats.from_dict(ckpt.history[-1]).elapsed_s, 1) if ckpt.history else None,
            "parameters": sum(p.numel() for p in ckpt.model.parameters()),
            "test_images_embedded": len(ckpt.embedding.test_mu), "dial": _dial_info(ckpt)}
    if args.json:
        print(_json(info))
        return 0
    for key, value in info.items():
        print(f"{key:22} {value}")
    return 0


def _list(args, argv) -> int:
    library = ModelLibrary()
    listing = library.listing()
    models = [{"id": e.id, "lam": e.lam, "shipped": e.shipped, "epochs": e.epochs_trained,
               "reconstruction": e.config.reconstruction, "k": e.config.k, "seed": e.config.seed,
               **({k: getattr(e.metrics, k) for k in ("neg_elbo", "recon", "kl", "log_px_iwae")} if e.metrics else {}),
               "train_seconds": e.train_seconds, "path": str(e.path)} for e in listing.entries]
    skipped = [{"name": p.name, "reason": p.message} for p in listing.problems]
    dials = [{"id": e.id, "lam_range": list(e.config.lam_range), "shipped": e.shipped, "epochs": e.epochs_trained,
              "train_seconds": e.train_seconds, "path": str(e.path)} for e in listing.dials]
    binarized = [{"id": e.id, "lam": e.lam, "shipped": e.shipped, "epochs": e.epochs_trained,
                  **({k: getattr(e.metrics, k) for k in ("neg_elbo", "log_px_iwae", "iwae_k")} if e.metrics else {}),
                  "train_seconds": e.train_seconds, "path": str(e.path)} for e in listing.binarized]
    if args.json:
        print(_json({"shipped_dir": str(library.shipped_dir), "user_dir": str(library.user_dir),
                     "models": models, "dials": dials, "binarized": binarized, "skipped": skipped}))
        return 0
    print(f"{len(models)} models (shipped: {library.shipped_dir}, yours: {library.user_dir})")
    print(f"  {'id':40} {'lambda':>7} {'epochs':>6} {'neg-ELBO':>9} {'KL':>7}  kind")
    for row in models:
        print(f"  {row['id']:40} {row['lam']:>7g} {row['epochs']:>6} {row.get('neg_elbo', math.nan):>9.2f} "
              f"{row.get('kl', math.nan):>7.2f}  {'shipped' if row['shipped'] else 'trained here'}")
    for row in dials:
        print(f"dial {row['id']}: one network for lambda {row['lam_range'][0]:g} to {row['lam_range'][1]:g}, "
              f"{row['epochs']} epochs ({'shipped' if row['shipped'] else 'trained here'})")
    for row in binarized:
        print(f"binarised {row['id']}: lambda {row['lam']:g} on binarised MNIST, {row['epochs']} epochs, "
              f"neg-ELBO {row.get('neg_elbo', math.nan):.2f} ({'shipped' if row['shipped'] else 'trained here'})")
    for row in skipped:
        print(f"skipped {row['name']}: {row['reason']}")
    return 0


def _json(value) -> str:
    """One line of valid JSON: NaN and infinities (not JSON) become null."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(value), allow_nan=False)


class _ProgressBar:
    """A one-line terminal progress bar on stderr: training epochs, then the test images' evaluation."""

    def __init__(self, width: int = 30):
        self.width, self.last, self.started = width, 0.0, time.monotonic()
        self.drawn, self.phase_name = False, None
        self.seconds: dict[str, float] = {}  # wall time of each finished phase

    def __call__(self, p: Progress) -> None:
        eta = p.elapsed_s / max(p.fraction, 1e-9) * (1 - p.fraction)
        self._draw(p.fraction, p.step == p.steps, f"epoch {p.epoch}/{p.epochs} loss {p.loss:7.2f} "
                   f"recon {p.recon:7.2f} KL {p.kl:5.2f}  {p.elapsed_s:5.0f}s elapsed, {eta:4.0f}s left ")

    def phase(self, name: str) -> None:
        now = time.monotonic()
        if self.phase_name is not None:
            self.seconds[self.phase_name] = now - self.started
        self.close()
        self.phase_name, self.started = name, now
        if name == "dial":  # no bar: a few minutes of encoding and evaluating at each lambda
            print("the dial's grid and test curve: encoding and evaluating the test images at each lambda...",
                  file=sys.stderr)

    def images(self, done: int, total: int) -> None:
        self._draw(done / total, done == total, f"evaluating {done:,}/{total:,} test images  "
                   f"{time.monotonic() - self.started:5.0f}s ")

    def _draw(self, fraction: float, last: bool, text: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and not last:
            return
        self.last, self.drawn = now, True
        filled = int(self.width * fraction)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {text}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.phase_name is not None and self.phase_name not in self.seconds:
            self.seconds[self.phase_name] = time.monotonic() - self.started
        if self.drawn:
            sys.stderr.write("\n")
            self.drawn = False
