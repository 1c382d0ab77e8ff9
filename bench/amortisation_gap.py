"""How much worse is the encoder's q(z|x) than the best Gaussian q for each image?

The amortisation gap: with the decoder frozen, each image's (mu, logvar) is optimised directly
for the ELBO (Adam, starting from the encoder's output), and the two neg-ELBOs are compared,
on training images and on test images. A gap much larger on test than on train means the
encoder overfits; what is left at the optimum is the decoder's own generalisation gap.

Side by side in one process: the encoder's q ("ours") and per-image optimised q (the
baseline it should approach), on the same images and the same z noise.

    python bench/amortisation_gap.py [MODEL] [--images 500] [--steps 300] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer import checkpoint as ckpt_io
from explorer.data import load_split
from explorer.model import kl_to_standard_normal, reconstruction_cost
from explorer.train import images_to_tensor

ELBO_SAMPLES = 10


def neg_elbo(model, x, mu, logvar, eps):
    """Per-image recon + KL (nats) with fixed noise eps (k, B, L)."""
    z = mu + torch.exp(0.5 * logvar) * eps
    return reconstruction_cost(model.decode(z), x).mean(0) + kl_to_standard_normal(mu, logvar)


def gap(model, x: torch.Tensor, steps: int, seed: int = 0) -> tuple[float, float]:
    """(encoder neg-ELBO, optimised neg-ELBO), means over the images of x."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        mu0, logvar0 = model.encode(x)
    mu, logvar = mu0.clone().requires_grad_(), logvar0.clone().requires_grad_()
    opt = torch.optim.Adam([mu, logvar], lr=1e-2)
    for _ in range(steps):
        eps = torch.randn((ELBO_SAMPLES, *mu.shape), generator=gen)
        loss = neg_elbo(model, x, mu, logvar, eps).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    eps = torch.randn((100, *mu.shape), generator=gen)  # the same fresh noise scores both
    with torch.no_grad():
        return neg_elbo(model, x, mu0, logvar0, eps).mean().item(), neg_elbo(model, x, mu, logvar, eps).mean().item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", default="pretrained/lam-1.safetensors")
    p.add_argument("--images", type=int, default=500, help="images per split (default %(default)s)")
    p.add_argument("--steps", type=int, default=300, help="Adam steps per image (default %(default)s)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    model = ckpt_io.load(args.model).model
    for param in model.parameters():
        param.requires_grad_(False)
    rows = {}
    for split in ("train", "test"):
        x = images_to_tensor(load_split(split).images[:args.images])
        rows[split] = gap(model, x, args.steps)
    print(f"amortisation gap of {args.model}: neg-ELBO, nats per image, first {args.images} images, "
          f"{args.steps} Adam steps per image")
    print(f"  {'split':8}{'encoder q':>12}{'optimised q':>14}{'gap':>8}")
    for split, (enc, best) in rows.items():
        print(f"  {split:8}{enc:12.2f}{best:14.2f}{enc - best:8.2f}")
    if args.json:
        print(json.dumps({"model": args.model, "images": args.images, "steps": args.steps,
                          **{f"{s}_{k}": v for s, (enc, best) in rows.items()
                             for k, v in (("encoder", enc), ("optimised", best), ("gap", enc - best))}}))


if __name__ == "__main__":
    main()
