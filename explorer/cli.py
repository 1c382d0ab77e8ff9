"""Command line: `python -m explorer train|eval|info ...`. Bad input prints one line and exits 2."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from . import checkpoint as ckpt_io
from .data import DEFAULT_DIR, DataError, load_split
from .device import DEVICES, resolve_device
from .evaluate import evaluate
from .model import RECONSTRUCTIONS, ModelConfig
from .pipeline import fit
from .train import EpochStats, Progress, TrainConfig, images_to_tensor



def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    try:
        return args.run(args, argv)
    except (DataError, ckpt_io.CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except torch._dynamo.exc.BackendCompilerFailed as e:  # --compile without a working C++ compiler, say
        print(f"error: torch.compile failed ({str(e).strip().splitlines()[0]}); train without --compile",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; nothing was written", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explorer", description="Train, evaluate and inspect 2-D VAEs.")
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    d = TrainConfig()

    t = sub.add_parser("train", help="train a VAE and save it as one checkpoint file")
    t.add_argument("--lam", type=float, default=d.lam, help="KL weight lambda >= 0 (default %(default)s)")
    t.add_argument("--epochs", type=int, default=d.epochs, help="default %(default)s")
    t.add_argument("--out", type=Path, required=True, help="checkpoint path to write (.safetensors)")
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
                   help="torch.compile the training step: faster epochs after a warm-up of seconds (needs a C++ compiler)")
    t.add_argument("--iwae-k", type=int, default=100, help="IWAE samples per test image (default %(default)s)")
    t.add_argument("--data", type=Path, default=DEFAULT_DIR, help="folder of IDX files (default: shipped MNIST)")
    t.add_argument("--device", choices=DEVICES, default=d.device,
                   help="where to train: auto takes a CUDA GPU if there is one (default %(default)s)")
    t.set_defaults(run=_train)

    e = sub.add_parser("eval", help="test-set neg-ELBO, IWAE log p(x) and active units of a checkpoint")
    e.add_argument("path", type=Path)
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
    return p


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be >= 1, got {text!r}")
    return widths


def _train(args, argv) -> int:
    config = TrainConfig(lam=args.lam, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         reconstruction=args.recon, k=args.k, encoder_noise=args.encoder_noise, bf16=not args.fp32,
                         compile=args.compile, threads=args.threads, device=resolve_device(args.device).type,
                         model=ModelConfig(hidden=args.hidden, dropout=args.dropout))
    if args.iwae_k < 1:
        raise ValueError(f"--iwae-k must be >= 1, got {args.iwae_k}")
    if args.out.suffix != ckpt_io.EXTENSION:
        raise ValueError(f"--out must end in {ckpt_io.EXTENSION}, got {args.out}")
    bar = _ProgressBar()
    result = fit(config, data_dir=args.data, on_progress=bar, iwae_k=args.iwae_k,
                 command="python -m explorer " + shlex.join(argv), on_phase=bar.phase, on_eval_progress=bar.images)
    bar.close()
    path = ckpt_io.save(args.out, result)
    m = result.metrics
    print(f"saved {path}: test neg-ELBO {m.neg_elbo:.2f} = recon {m.recon:.2f} + KL {m.kl:.2f} nats, "
          f"IWAE log p(x) {m.log_px_iwae:.2f} (k={m.iwae_k}), active units {m.active_units}; "
          f"on {config.device}: training {bar.seconds['training']:.1f} s, evaluation {bar.seconds['evaluating']:.1f} s")
    return 0


def _eval(args, argv) -> int:
    device = resolve_device(args.device)
    ckpt = ckpt_io.load(args.path)
    test = load_split("test", args.data)
    x = images_to_tensor(test.images[: args.limit or None])
    bar = _ProgressBar()
    bar.phase("evaluating")
    m = evaluate(ckpt.model.to(device), x, iwae_k=args.iwae_k, on_progress=bar.images)
    bar.close()
    seconds = round(bar.seconds["evaluating"], 2)
    if args.json:
        print(json.dumps({"path": str(args.path), "lam": ckpt.lam, **m.to_dict(), "device": device.type,
                          "seconds": seconds}))
    else:
        print(f"{args.path} (lambda {ckpt.lam:g}), {m.n_images} test images, {seconds:.1f} s on {device.type}:\n"
              f"  neg-ELBO      {m.neg_elbo:9.3f} nats = recon {m.recon:.3f} + KL {m.kl:.3f}\n"
              f"  log p(x)      {m.log_px_iwae:9.3f} nats (IWAE, k={m.iwae_k})\n"
              f"  active units  {m.active_units} of {ckpt.config.model.latent_dim}")
    return 0


def _info(args, argv) -> int:
    ckpt = ckpt_io.load(args.path)
    info = {"path": str(args.path), "lam": ckpt.lam, "dataset": ckpt.dataset, "command": ckpt.command,
            "config": ckpt.config.to_dict(), "metrics": ckpt.metrics.to_dict() if ckpt.metrics else None,
            "epochs_trained": len(ckpt.history),
            "train_seconds": round(EpochStats.from_dict(ckpt.history[-1]).elapsed_s, 1) if ckpt.history else None,
            "parameters": sum(p.numel() for p in ckpt.model.parameters()),
            "test_images_embedded": len(ckpt.embedding.test_mu)}
    if args.json:
        print(json.dumps(info))
        return 0
    for key, value in info.items():
        print(f"{key:22} {value}")
    return 0


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
