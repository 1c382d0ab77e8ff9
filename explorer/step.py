"""One training step of the VAE with its gradients written out by hand.

`vae_loss` (model.py) defines the loss; this computes the same loss and its gradients
without autograd. Under bf16 autocast, autograd spends more than half of a CPU step outside
the matmuls (casts, a fp32 cross-entropy and its backward, generic kernels). Here the hidden
activations stay in bf16, the cross-entropy's gradient is sigmoid(logits) - x, and ReLU
backward is one masked pass; the latent maths (mu, sigma, z, KL) and the output's sigmoid
and cross-entropy run in fp32. Measured in one process, a step is 1.15-1.3x faster than
autograd's (bench/train_speed.py gives the loop's figure against the baseline).

tests/test_step.py checks every gradient against autograd on `vae_loss`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .model import LOGVAR_MAX, LOGVAR_MIN, VAE, kl_to_standard_normal

_relu_backward = torch.ops.aten.threshold_backward


@torch.no_grad()
def train_step(model: VAE, x: torch.Tensor, lam: float = 1.0, k: int = 1, reconstruction: str = "bce",
               generator: torch.Generator | None = None,
               dtype: torch.dtype = torch.bfloat16,
               noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Set `.grad` of every parameter to the gradient of `vae_loss` on the batch x (B, D).

    x is fp32. Matmuls and hidden activations run in `dtype`; the output layer's sigmoid and
    cross-entropy run in fp32, because sigmoid(logits) - x rounded in bf16 loses the small
    gradients of nearly saturated pixels. Decoder dropout applies while the model is in
    training mode, with masks drawn from `generator` after z's noise. Returns the batch means
    of the reconstruction cost and the KL, as fp32 scalars (the loss is recon + lam * kl).
    `noise` (B, D), if given, is added to the encoder's input only: q(z|x + noise) is still a
    valid q for x, so the loss remains the negative ELBO of x (with lam = 1).
    """
    encoder = [m for m in model.encoder if isinstance(m, nn.Linear)] + [model.to_stats]
    decoder = [m for m in model.decoder.modules() if isinstance(m, nn.Linear)]
    p = model.config.dropout if model.training else 0.0
    batch = len(x)
    n = k * batch  # decoded images

    # Encoder: x -> mu, logvar of q(z|x).
    weights = {layer: layer.weight.to(dtype) for layer in encoder + decoder}
    enc_in = [(x if noise is None else x + noise).to(dtype)]
    for layer in encoder[:-1]:
        enc_in.append(_linear(layer, weights[layer], enc_in[-1]).relu_())
    mu, raw_logvar = _linear(encoder[-1], weights[encoder[-1]], enc_in[-1]).float().chunk(2, dim=-1)
    logvar = raw_logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)
    sigma = torch.exp(0.5 * logvar)
    eps = torch.randn((k, *mu.shape), generator=generator)
    z = (mu + sigma * eps).reshape(n, -1)

    # Decoder: z -> Bernoulli logits, with inverted dropout after each hidden ReLU.
    dec_in, masks = [z.to(dtype)], []
    for layer in decoder[:-1]:
        h = _linear(layer, weights[layer], dec_in[-1]).relu_()
        if p:
            masks.append(torch.empty_like(h).bernoulli_(1 - p, generator=generator).div_(1 - p))
            h.mul_(masks[-1])
        dec_in.append(h)
    logits = _linear(decoder[-1], weights[decoder[-1]], dec_in[-1]).float().view(k, batch, -1)

    # The loss and its gradient with respect to the logits (mean over the k * B decodings).
    probs = torch.sigmoid(logits)
    if reconstruction == "bce":
        recon = torch.addcmul(F.softplus(logits), logits, x, value=-1).sum() / n
        grad = probs.sub_(x).mul_(1 / n)
    else:  # "mse" on sigmoid(logits), as in model.reconstruction_cost
        diff = probs - x
        recon = diff.pow(2).sum() / n
        grad = diff.mul_(probs).mul_(1 - probs).mul_(2 / n)
    kl = kl_to_standard_normal(mu, logvar).mean()

    # Backward through the decoder, then the latent maths, then the encoder.
    grad_z = _backward(decoder, weights, dec_in, grad.view(n, -1).to(dtype), masks).float().view(k, batch, -1)
    grad_mu = grad_z.sum(0) + (lam / batch) * mu
    grad_logvar = ((grad_z * eps).sum(0) * 0.5 * sigma + (lam / batch) * 0.5 * (sigma * sigma - 1))
    grad_logvar *= (raw_logvar >= LOGVAR_MIN) & (raw_logvar <= LOGVAR_MAX)
    _backward(encoder, weights, enc_in, torch.cat([grad_mu, grad_logvar], dim=-1).to(dtype), [], input_grad=False)
    return recon, kl


def _linear(layer: nn.Linear, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.addmm(layer.bias.to(x.dtype), x, weight.t())


def _backward(layers, weights, inputs, grad, masks, input_grad=True):
    """Backprop `grad` (of the last layer's output) through Linear layers joined by ReLU (and
    dropout with `masks`, if any), setting each layer's .grad. Returns the gradient of the
    first layer's input, or None."""
    for i in reversed(range(len(layers))):
        layer = layers[i]
        layer.weight.grad = (grad.t() @ inputs[i]).float()
        layer.bias.grad = grad.sum(0).float()  # summed in fp32 either way; dtype=float32 is 5x slower
        if i == 0 and not input_grad:
            return None
        grad = grad @ weights[layer]
        if i > 0:
            if masks:
                grad.mul_(masks[i - 1])
            grad = _relu_backward(grad, inputs[i], 0)
    return grad
