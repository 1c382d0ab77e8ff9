"""How much faster is the project's training loop than the pytorch/examples VAE loop?

Trains the same VAE on the same MNIST data, in one process with the same torch threads:
  ours:          explorer.train as the app runs it (resident fp32 tensor, shuffled index batches,
                 bf16 autocast where the CPU multiplies bf16 natively (AMX, AVX512-BF16), fp32
                 elsewhere, batch 1024, Adam 3e-3 with cosine decay, fused optimiser step);
  ours compiled: the same with TrainConfig.compile (`train --compile`), its warm-up untimed;
  baseline:      the pytorch/examples vae/main.py setup (torchvision's MNIST + ToTensor through
                 a DataLoader, batch 128, sigmoid + BCE summed, Adam 1e-3, fp32).
Speed comes from short interleaved rounds (median of per-round ratios: this shared machine's
speed drifts by 2x over minutes); then each loop trains for the same wall-clock budget and we
print samples/s, the ratios, achieved GFLOP/s against this machine's measured matmul peak (in the
precision each loop trains in), and
test neg-ELBO at the end of the budget.

With `--device cuda` both loops run on the GPU: ours is explorer.train's device loop (data
resident, the step one CUDA graph), the baseline the same pytorch/examples loop moving each
batch to the GPU (DataLoader with one worker and pinned memory, as the example does there).
Then samples/s, ms per step, and the training time each loop needs to reach a test neg-ELBO
of 136 nats (ours: the shortest cosine run of 25, 50, 100, 200 or 400 epochs that gets there;
the baseline: epochs until it does, within --budget seconds).

    python bench/train_speed.py [--seconds 30] [--rounds 5] [--threads N] [--batch-size B] [--json]
    python bench/train_speed.py --device cuda [--rounds 5] [--budget 300] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
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
from explorer.config import TrainConfig
from explorer.data import load_split
from explorer.device import DeviceError, native_bf16, resolve_device
from explorer.evaluate import evaluate
from explorer.model import VAE, ModelConfig, kl_to_standard_normal
from explorer.train import images_to_tensor, train

ROUND_EPOCHS = 2  # per loop per speed round: about 2-3 s each
ROUND_SECONDS = 3.0  # the baseline's share of a round
GPU_ROUND_EPOCHS = 20  # on a GPU an epoch takes tens of ms; the first (warm-up and capture) is not timed
TARGET = 136.0  # test neg-ELBO, nats
RUN_EPOCHS = (25, 50, 100, 200, 400)  # ours' cosine runs tried for the target, shortest first


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


def baseline_train(model: VAE, split, seconds: float, device: str = "cpu", opt=None,
                   epochs: int | None = None) -> tuple[int, float]:
    """pytorch/examples vae/main.py's train(), stopped at the time budget (or after `epochs`).
    Returns (samples, wall s). Pass `opt` to continue a run."""
    cuda = device == "cuda"
    loader = DataLoader(TorchvisionMNIST(split.images, split.labels), batch_size=128, shuffle=True,
                        **({"num_workers": 1, "pin_memory": True} if cuda else {}))
    opt = opt or torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    seen, start, epoch = 0, time.perf_counter(), 0
    while epochs is None or epoch < epochs:
        epoch += 1
        for data, _ in loader:
            x = data.to(device).view(-1, model.config.x_dim)
            mu, logvar = model.encode(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            recon = torch.sigmoid(model.decode(z))
            loss = F.binary_cross_entropy(recon, x, reduction="sum") + kl_to_standard_normal(mu, logvar).sum()
            opt.zero_grad()
            loss.backward()
            loss.item()  # the example sums the loss for its log: one host sync per step
            opt.step()
            seen += len(x)
            if epochs is None and time.perf_counter() - start >= seconds:
                return seen, time.perf_counter() - start
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
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where both loops train (default cpu)")
    p.add_argument("--budget", type=float, default=300.0, help="cuda: the baseline's time limit to reach 136 nats")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    if args.device == "cuda":
        try:
            resolve_device("cuda")
        except DeviceError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        return main_cuda(args)
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
            rates[name].append(ROUND_EPOCHS * n / history[-1].elapsed_s)
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

    bf16 = defaults.bf16 and native_bf16("cpu")
    precision = "bf16 autocast" if bf16 else "fp32"
    peak_fp32 = matmul_peak_gflops(torch.float32)
    peak_ours = matmul_peak_gflops(torch.bfloat16) if bf16 else peak_fp32
    peak = {"ours": peak_ours, "ours compiled": peak_ours, "baseline": peak_fp32}
    gflops = {name: sps[name] * flops / 1e9 for name in names}

    def row(label: str, cell) -> None:
        print(f"  {label:26}" + "".join(f"{cell(name):>20}" for name in names))

    print(f"train speed, {args.threads} thread(s), same model {defaults.model.hidden}, "
          f"{args.rounds} interleaved rounds (median), then {args.seconds:.0f} s each")
    row("", lambda name: name)
    row("precision", lambda name: "fp32" if name == "baseline" else precision)
    row("batch", lambda name: "128" if name == "baseline" else str(defaults.batch_size))
    row("warm-up, untimed (s)", lambda name: f"{warm_up[name]:.1f}")
    row("samples/s", lambda name: f"{sps[name]:,.0f}")
    row("rounds' samples/s", lambda name: f"{min(rates[name]) / 1000:.0f}-{max(rates[name]) / 1000:.0f}k")
    row("ratio to baseline", lambda name: f"{ratio[name]:.1f}x")
    row("GFLOP/s (matmul)", lambda name: f"{gflops[name]:.0f}")
    row("share of peak", lambda name: f"{gflops[name] / peak[name]:.0%} of {peak[name]:.0f}")
    row("equal-time run: wall (s)", lambda name: f"{wall[name]:.1f}")
    row("  epochs", lambda name: f"{epochs[name]:.2f}")
    row("  test neg-ELBO (nats)", lambda name: f"{neg_elbo[name]:.2f}")
    ours = "bf16" if bf16 else "fp32"
    print(f"  peak: a 2048^3 matmul measured after the runs, {ours} for ours, fp32 for the baseline")
    if args.json:
        print(json.dumps({
            "threads": args.threads, "batch_size": args.batch_size, "rounds": args.rounds, "seconds": args.seconds,
            "ours_samples_per_s": sps["ours compiled"], "baseline_samples_per_s": sps["baseline"],
            "ratio": ratio["ours compiled"], "gflops": gflops["ours compiled"], "peak_gflops": peak_ours,
            "peak_share": gflops["ours compiled"] / peak_ours, "precision": precision,
            "ours_neg_elbo": neg_elbo["ours compiled"],
            "baseline_neg_elbo": neg_elbo["baseline"], "compile_warm_up_s": warm_up["ours compiled"],
            "eager_samples_per_s": sps["ours"], "eager_ratio": ratio["ours"], "eager_neg_elbo": neg_elbo["ours"],
            "round_samples_per_s": rates, "baseline_gflops": gflops["baseline"], "peak_gflops_fp32": peak_fp32,
            "flops_per_sample": flops}))

def main_cuda(args) -> None:
    """Ours against the pytorch/examples loop, both on the GPU (see the module docstring)."""
    torch.set_num_threads(args.threads)
    train_split, test_split = load_split("train"), load_split("test")
    images, n = train_split.images, len(train_split)
    x_test = images_to_tensor(test_split.images)
    config = TrainConfig(batch_size=args.batch_size, device="cuda")
    train(dataclasses.replace(config, epochs=2), images)  # CUDA context, cuBLAS, the allocator: untimed
    baseline_train(VAE(config.model).cuda(), train_split, seconds=2.0, device="cuda")

    rates: dict[str, list[float]] = {"ours": [], "baseline": []}
    for _ in range(args.rounds):
        _, history = train(dataclasses.replace(config, epochs=GPU_ROUND_EPOCHS), images)
        epoch_images = n // config.batch_size * config.batch_size  # the device loop's fixed-shape epoch
        rates["ours"].append((GPU_ROUND_EPOCHS - 1) * epoch_images / (history[-1].elapsed_s - history[0].elapsed_s))
        seen, seconds = baseline_train(VAE(config.model).cuda(), train_split, seconds=ROUND_SECONDS, device="cuda")
        rates["baseline"].append(seen / seconds)
    sps = {name: statistics.median(r) for name, r in rates.items()}
    ratio = statistics.median(o / b for o, b in zip(rates["ours"], rates["baseline"]))

    def neg_elbo(model) -> float:
        return evaluate(model, x_test, iwae_k=1).neg_elbo

    ours_to_target = None  # (seconds, epochs, nats)
    for epochs in RUN_EPOCHS:
        start = time.perf_counter()
        model, _ = train(dataclasses.replace(config, epochs=epochs), images)
        seconds, nats = time.perf_counter() - start, neg_elbo(model)
        print(f"  ours, {epochs} epochs: {seconds:.1f} s, test neg-ELBO {nats:.2f}", file=sys.stderr)
        if nats <= TARGET:
            ours_to_target = (seconds, epochs, nats)
            break
    torch.manual_seed(0)
    model = VAE(config.model).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    base_to_target, base_seconds, base_epochs, nats = None, 0.0, 0, math.inf
    while base_seconds < args.budget:
        base_seconds += baseline_train(model, train_split, 0, device="cuda", opt=opt, epochs=1)[1]
        base_epochs, nats = base_epochs + 1, neg_elbo(model)  # evaluation not timed
        if nats <= TARGET:
            base_to_target = (base_seconds, base_epochs, nats)
            break
    print(f"  baseline: {base_epochs} epochs, {base_seconds:.1f} s, test neg-ELBO {nats:.2f}", file=sys.stderr)

    ms_per_step = {"ours": 1000 * config.batch_size / sps["ours"], "baseline": 1000 * 128 / sps["baseline"]}
    reached = {"ours": ours_to_target, "baseline": base_to_target}
    print(f"train speed on {torch.cuda.get_device_name()}, same model {config.model.hidden}, "
          f"{args.rounds} interleaved rounds (median)")
    print(f"  {'':26}{'ours (CUDA graph)':>22}{'baseline':>22}")
    print(f"  {'batch':26}{config.batch_size:>22}{128:>22}")
    print(f"  {'samples/s':26}{sps['ours']:>22,.0f}{sps['baseline']:>22,.0f}")
    print(f"  {'ms per step':26}{ms_per_step['ours']:>22.3f}{ms_per_step['baseline']:>22.3f}")
    print(f"  {'ratio to baseline':26}{ratio:>21.1f}x{'1.0x':>22}")
    cell = {k: f"{v[0]:.1f} s ({v[1]} epochs)" if v else f"not in {args.budget:.0f} s" for k, v in reached.items()}
    print(f"  {'to test neg-ELBO 136':26}{cell['ours']:>22}{cell['baseline']:>22}")
    if args.json:
        print(json.dumps({
            "device": torch.cuda.get_device_name(), "batch_size": config.batch_size, "rounds": args.rounds,
            "ours_samples_per_s": sps["ours"], "baseline_samples_per_s": sps["baseline"], "ratio": ratio,
            "ms_per_step": ms_per_step["ours"], "baseline_ms_per_step": ms_per_step["baseline"],
            "seconds_to_136": ours_to_target[0] if ours_to_target else None,
            "epochs_to_136": ours_to_target[1] if ours_to_target else None,
            "baseline_seconds_to_136": base_to_target[0] if base_to_target else None,
            "baseline_epochs_to_136": base_to_target[1] if base_to_target else None,
            "round_samples_per_s": rates}))


if __name__ == "__main__":
    main()
