"""How much faster is the project's training loop than the pytorch/examples VAE loop?

Trains the same VAE on the same MNIST data, in one process with the same torch threads:
  ours:          explorer.train as the app runs it (resident fp32 tensor, shuffled index batches,
                 bf16 autocast, batch 1024, Adam 3e-3 with cosine decay, fused optimiser step);
  ours compiled: the same with TrainConfig.compile (`train --compile`), its warm-up untimed;
  baseline:      the pytorch/examples vae/main.py setup (torchvision's MNIST + ToTensor through
                 a DataLoader, batch 128, sigmoid + BCE summed, Adam 1e-3, fp32).
Speed comes from short interleaved rounds (median of per-round ratios: this shared machine's
speed drifts by 2x over minutes); then each loop trains for the same wall-clock budget and we
print samples/s, the ratios, achieved GFLOP/s against this machine's measured matmul peak, and
test neg-ELBO at the end of the budget.

    python bench/train_speed.py [--seconds 30] [--rounds 5] [--threads N] [--batch-size B] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer.data import load_split  # noqa: E402
from explorer.evaluate import evaluate  # noqa: E402
from explorer.model import VAE, ModelConfig, kl_to_standard_normal  # noqa: E402
from explorer.train import TrainConfig, images_to_tensor, train  # noqa: E402

ROUND_EPOCHS = 2  # per loop per speed round: about 2-3 s each
ROUND_SECONDS = 3.0  # the baseline's share of a round


class TorchvisionMNIST(Dataset):
    """torchvision.datasets.MNIST with transform=transforms.ToTensor(), as pytorch/examples loads
    it: each item becomes a PIL image, then a float tensor. torchvision has no CPU build here, so
    its two steps are written out; they cost about 33 us per image, against 9 us for a direct
    uint8 -> float conversion (measured here)."""

    def __init__(self, images, labels):
        self.data, self.targets = torch.from_numpy(images), torch.from_numpy(labels)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        img, target = self.data[i], int(self.targets[i])
        img = Image.fromarray(img.numpy(), mode="L")  # MNIST.__getitem__
        pixels = torch.from_numpy(np.array(img, np.uint8, copy=True))  # ToTensor, for a mode "L" image
        pixels = pixels.view(img.size[1], img.size[0], 1).permute(2, 0, 1).contiguous()
        return pixels.to(dtype=torch.get_default_dtype()).div(255), target


def baseline_train(model: VAE, split, seconds: float) -> tuple[int, float]:
    """pytorch/examples vae/main.py's train(), stopped at the time budget. Returns (samples, wall s)."""
    loader = DataLoader(TorchvisionMNIST(split.images, split.labels), batch_size=128, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    seen, start = 0, time.perf_counter()
    while True:
        for data, _ in loader:
            x = data.view(-1, model.config.x_dim)
            mu, logvar = model.encode(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            recon = torch.sigmoid(model.decode(z))
            loss = F.binary_cross_entropy(recon, x, reduction="sum") + kl_to_standard_normal(mu, logvar).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(x)
            if time.perf_counter() - start >= seconds:
                return seen, time.perf_counter() - start


def matmul_peak_gflops(dtype: torch.dtype, n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2):
        a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def flops_per_sample(config: ModelConfig) -> float:
    """Matmul FLOPs of one training sample: 2 per weight forward, 2 for its gradient, and 2 for
    the gradient of the layer's input, which the first layer (its input is the image) skips."""
    model = VAE(config)
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    return 6.0 * weights - 2.0 * model.encoder[0].weight.numel()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="wall-clock budget per loop (default 30)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved speed rounds (default 5)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="ours (default %(default)s)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    train_split, test_split = load_split("train"), load_split("test")
    images, n = train_split.images, len(train_split)
    x_test = images_to_tensor(test_split.images)
    defaults = TrainConfig(batch_size=args.batch_size, threads=args.threads)
    configs = {"ours": defaults, "ours compiled": dataclasses.replace(defaults, compile=True)}
    names = [*configs, "baseline"]
    flops = flops_per_sample(defaults.model)

    warm_up = {"baseline": 0.0}  # untimed below: the compiled loop compiles here
    for name, config in configs.items():
        start = time.perf_counter()
        train(dataclasses.replace(config, epochs=1), images[:5_000])
        warm_up[name] = time.perf_counter() - start

    # Speed: short interleaved rounds, so that the loops see the same machine (its speed drifts
    # by 2x over minutes); ours from the loop's own clock (history's elapsed_s: set-up excluded).
    rates: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.rounds):
        for name, config in configs.items():
            _, history = train(dataclasses.replace(config, epochs=ROUND_EPOCHS), images)
            rates[name].append(ROUND_EPOCHS * n / history[-1]["elapsed_s"])
        seen, seconds = baseline_train(VAE(defaults.model), train_split, seconds=ROUND_SECONDS)
        rates["baseline"].append(seen / seconds)
    sps = {name: statistics.median(rates[name]) for name in names}
    ratio = {name: statistics.median(o / b for o, b in zip(rates[name], rates["baseline"])) for name in names}

    # Quality: each loop trains for the same wall time (ours: a full cosine run sized to it).
    models, wall, epochs = {}, {}, {}
    for name, config in configs.items():
        epochs[name] = max(1, round(args.seconds * sps[name] / n))
        start = time.perf_counter()
        models[name], _ = train(dataclasses.replace(config, epochs=epochs[name]), images)
        wall[name] = time.perf_counter() - start
    torch.manual_seed(0)
    models["baseline"] = VAE(defaults.model)
    seen, wall["baseline"] = baseline_train(models["baseline"], train_split, seconds=wall["ours compiled"])
    epochs["baseline"] = seen / n
    neg_elbo = {name: evaluate(model, x_test, iwae_k=1).neg_elbo for name, model in models.items()}

    peak_bf16, peak_fp32 = matmul_peak_gflops(torch.bfloat16), matmul_peak_gflops(torch.float32)
    peak = {"ours": peak_bf16, "ours compiled": peak_bf16, "baseline": peak_fp32}
    gflops = {name: sps[name] * flops / 1e9 for name in names}

    def row(label: str, cell) -> None:
        print(f"  {label:26}" + "".join(f"{cell(name):>20}" for name in names))

    print(f"train speed, {args.threads} thread(s), same model {defaults.model.hidden}, "
          f"{args.rounds} interleaved rounds (median), then {args.seconds:.0f} s each")
    row("", lambda name: name)
    row("precision", lambda name: "fp32" if name == "baseline" else "bf16 autocast")
    row("batch", lambda name: "128" if name == "baseline" else str(defaults.batch_size))
    row("warm-up, untimed (s)", lambda name: f"{warm_up[name]:.1f}")
    row("samples/s", lambda name: f"{sps[name]:,.0f}")
    row("rounds' samples/s", lambda name: "-".join(f"{r / 1000:.0f}" for r in (min(rates[name]), max(rates[name]))) + "k")
    row("ratio to baseline", lambda name: f"{ratio[name]:.1f}x")
    row("GFLOP/s (matmul)", lambda name: f"{gflops[name]:.0f}")
    row("share of peak", lambda name: f"{gflops[name] / peak[name]:.0%} of {peak[name]:.0f}")
    row("equal-time run: wall (s)", lambda name: f"{wall[name]:.1f}")
    row("  epochs", lambda name: f"{epochs[name]:.2f}")
    row("  test neg-ELBO (nats)", lambda name: f"{neg_elbo[name]:.2f}")
    print("  peak: a 2048^3 matmul measured after the runs, bf16 for ours, fp32 for the baseline")
    if args.json:
        print(json.dumps({
            "threads": args.threads, "batch_size": args.batch_size, "rounds": args.rounds, "seconds": args.seconds,
            "ours_samples_per_s": sps["ours compiled"], "baseline_samples_per_s": sps["baseline"],
            "ratio": ratio["ours compiled"], "gflops": gflops["ours compiled"], "peak_gflops": peak_bf16,
            "peak_share": gflops["ours compiled"] / peak_bf16, "ours_neg_elbo": neg_elbo["ours compiled"],
            "baseline_neg_elbo": neg_elbo["baseline"], "compile_warm_up_s": warm_up["ours compiled"],
            "eager_samples_per_s": sps["ours"], "eager_ratio": ratio["ours"], "eager_neg_elbo": neg_elbo["ours"],
            "round_samples_per_s": rates, "baseline_gflops": gflops["baseline"], "peak_gflops_fp32": peak_fp32,
            "flops_per_sample": flops}))

if __name__ == "__main__":
    main()
