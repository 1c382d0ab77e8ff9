"""How much faster is the project's training loop than the pytorch/examples VAE loop?

Trains the same VAE on the same MNIST data, in one process with the same torch threads:
  ours:     explorer.train (resident fp32 tensor, shuffled index batches, bf16 autocast,
            batch 1024, Adam 3e-3 with cosine decay, fused optimiser step);
  baseline: the pytorch/examples vae/main.py setup (per-sample Dataset + DataLoader, batch
            128, sigmoid + BCE summed, Adam 1e-3, fp32).
Each gets the same wall-clock budget; we print samples/s, their ratio, achieved GFLOP/s
against this machine's measured matmul peak, and test neg-ELBO at the end of the budget.

    python bench/train_speed.py [--seconds 30] [--threads N] [--batch-size B] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer.data import load_split  # noqa: E402
from explorer.evaluate import evaluate  # noqa: E402
from explorer.model import VAE, ModelConfig, kl_to_standard_normal  # noqa: E402
from explorer.train import TrainConfig, images_to_tensor, train  # noqa: E402


class PerSampleMNIST(Dataset):
    """What torchvision's MNIST + ToTensor hands the DataLoader: one image tensor at a time."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return torch.from_numpy(self.images[i]).float().div(255).unsqueeze(0), int(self.labels[i])


def baseline_train(model: VAE, split, seconds: float) -> tuple[int, float]:
    """pytorch/examples vae/main.py's train(), stopped at the time budget. Returns (samples, wall s)."""
    loader = DataLoader(PerSampleMNIST(split.images, split.labels), batch_size=128, shuffle=True)
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
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="ours (default %(default)s)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    train_split, test_split = load_split("train"), load_split("test")
    x_test = images_to_tensor(test_split.images)
    defaults = TrainConfig(batch_size=args.batch_size, threads=args.threads)
    flops = flops_per_sample(defaults.model)

    # Ours: warm up, time one epoch, then size a full cosine run to the budget.
    train(dataclasses.replace(defaults, epochs=1), train_split.images[:5_000])
    probe = time.perf_counter()
    train(dataclasses.replace(defaults, epochs=1), train_split.images)
    probe_sps = len(train_split) / (time.perf_counter() - probe)
    epochs = max(1, round(args.seconds * probe_sps / len(train_split)))
    start = time.perf_counter()
    ours_model, _ = train(dataclasses.replace(defaults, epochs=epochs), train_split.images)
    ours_s = time.perf_counter() - start
    ours_sps = epochs * len(train_split) / ours_s

    torch.manual_seed(0)
    base_model = VAE(defaults.model)
    base_seen, base_s = baseline_train(base_model, train_split, seconds=ours_s)
    base_sps = base_seen / base_s

    ours_elbo = evaluate(ours_model, x_test, iwae_k=1).neg_elbo
    base_elbo = evaluate(base_model, x_test, iwae_k=1).neg_elbo
    peak_bf16, peak_fp32 = matmul_peak_gflops(torch.bfloat16), matmul_peak_gflops(torch.float32)
    ours_gflops, base_gflops = ours_sps * flops / 1e9, base_sps * flops / 1e9

    rows = [("", "ours", "baseline"),
            ("precision", "bf16 autocast", "fp32"),
            ("batch", str(defaults.batch_size), "128"),
            ("wall time (s)", f"{ours_s:.1f}", f"{base_s:.1f}"),
            ("epochs", f"{epochs}", f"{base_seen / len(train_split):.2f}"),
            ("samples/s", f"{ours_sps:,.0f}", f"{base_sps:,.0f}"),
            ("GFLOP/s (matmul)", f"{ours_gflops:.0f}", f"{base_gflops:.0f}"),
            ("share of peak", f"{ours_gflops / peak_bf16:.0%} of bf16 {peak_bf16:.0f}",
             f"{base_gflops / peak_fp32:.0%} of fp32 {peak_fp32:.0f}"),
            ("test neg-ELBO (nats)", f"{ours_elbo:.2f}", f"{base_elbo:.2f}")]
    print(f"train speed, {args.threads} thread(s), equal wall time, same model {defaults.model.hidden}")
    for row in rows:
        print(f"  {row[0]:22}{row[1]:>24}{row[2]:>24}")
    print(f"  ratio ours/baseline: {ours_sps / base_sps:.1f}x samples/s, "
          f"{base_elbo - ours_elbo:+.2f} nats better test neg-ELBO")
    if args.json:
        print(json.dumps({
            "threads": args.threads, "batch_size": args.batch_size, "seconds": ours_s, "ours_samples_per_s": ours_sps,
            "baseline_samples_per_s": base_sps, "ratio": ours_sps / base_sps, "gflops": ours_gflops,
            "peak_gflops": peak_bf16, "peak_share": ours_gflops / peak_bf16, "baseline_gflops": base_gflops,
            "peak_gflops_fp32": peak_fp32, "ours_neg_elbo": ours_elbo, "baseline_neg_elbo": base_elbo,
            "flops_per_sample": flops}))


if __name__ == "__main__":
    main()
