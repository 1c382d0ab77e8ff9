"""Where training runs: device names, and the loop that keeps a whole training step on a device.

The VAE is a small MLP, so on a GPU an eager step is bound by kernel launches, not arithmetic.
`ResidentLoop` therefore keeps everything on the device: the data, a fresh permutation each
epoch, index batches of one fixed shape (each epoch leaves out the ragged remainder of its
permutation, a different one every epoch), noise drawn on the device, the cosine learning rate
computed on the device as a tensor Adam reads, and the losses summed on the device (the host
reads them only for progress reports and at epoch ends). On CUDA the whole step (forward,
backward and a fused, capturable Adam) is captured once as a CUDA graph and replayed, as in
PyTorch's "whole-network capture" (torch.cuda.graphs): a step is then one launch.
The same loop runs eagerly on any device, the CPU included (tests check its logic there).
"""
from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator

import torch

from .config import DEVICES, TrainConfig
from .dial import log_uniform
from .model import VAE, vae_loss

# Eager steps before the capture, on the capture's own stream (PyTorch's CUDA-graph recipe): they
# create Adam's state, cuBLAS handles and autocast's kernels, none of which may allocate mid-capture.
WARMUP_STEPS = 3
_capture_lock = threading.Lock()  # torch.cuda.graph allows one capture at a time in a process


class DeviceError(ValueError):
    """A device was asked for that this machine or this build of torch does not have."""


def resolve_device(name: str) -> torch.device:
    """The torch device for a name of DEVICES: "auto" is the first CUDA GPU if torch sees one,
    else the CPU (never MPS: untested). DeviceError if the named device is not there."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        why = "no CUDA GPU is visible" if torch.version.cuda else f"torch {torch.__version__} is built without CUDA"
        raise DeviceError(f"device cuda is not available here ({why}); use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("device mps is not available here (Apple-silicon GPUs only); use --device cpu or auto")
    if name not in DEVICES:
        raise DeviceError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    return torch.device(name)


@functools.cache
def native_bf16(device_type: str) -> bool:
    """Whether this device multiplies bf16 natively. A CPU without AVX512-BF16 or AMX (an AVX2-only
    one) has oneDNN emulate bf16 matmuls, far slower than fp32, so `TrainConfig.bf16` asks for bf16
    autocast and training uses it only where this says it pays."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


class ResidentLoop:
    """Training steps of one fixed shape, all on the data's device; see the module docstring.

    Same recipe as the CPU loop (batch, Adam, cosine decay to 0, encoder noise, K samples, a dial's
    lambda per image, binarised pixels), with fresh noise each step instead of the CPU's noise bank (on a GPU a draw
    costs nothing).
    """

    def __init__(self, model: VAE, config: TrainConfig, data: torch.Tensor):
        self.model, self.config, self.data = model, config, data
        self.device = dev = data.device
        self.batch = min(config.batch_size, len(data))
        self.steps_per_epoch = len(data) // self.batch
        self.epoch_size = self.steps_per_epoch * self.batch  # images per epoch (the remainder left out)
        self.steps = self.steps_per_epoch * config.epochs
        self.capture = dev.type == "cuda"
        self.opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(config.lr, device=dev), fused=True,
                                    capturable=self.capture)
        self.lr = self.opt.param_groups[0]["lr"]  # the tensor Adam reads; the step overwrites it in place
        self.step = torch.zeros((), dtype=torch.int64, device=dev)
        self.perm = torch.empty(len(data), dtype=torch.int64, device=dev)
        self.rows = torch.arange(self.batch, device=dev)
        # summed recon, kl, loss over the epoch's images (MPS has no float64)
        self.totals = torch.zeros(3, dtype=torch.float32 if dev.type == "mps" else torch.float64, device=dev)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.eager_steps = 0
        self.stream = torch.cuda.Stream(dev) if self.capture else None

    def epoch(self) -> Iterator[int]:
        """Run one epoch's steps, yielding the images seen so far after each (nothing is synchronised)."""
        self.perm.copy_(torch.randperm(len(self.data), device=self.device))
        self.totals.zero_()
        for i in range(self.steps_per_epoch):
            self._run_step()
            yield (i + 1) * self.batch

    def means(self, seen: int) -> tuple[float, float, float]:
        return tuple((self.totals / seen).tolist())

    def _run_step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        elif self.capture and self.eager_steps >= WARMUP_STEPS:
            self.graph = torch.cuda.CUDAGraph()
            # thread_local: the page's threads may use CUDA while a job's worker captures.
            with _capture_lock, torch.cuda.graph(self.graph, stream=self.stream, capture_error_mode="thread_local"):
                self._step()
            self.graph.replay()  # capture only records: this runs the step
        elif self.capture:
            self.stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(self.stream):
                self._step()
            torch.cuda.current_stream(self.device).wait_stream(self.stream)
            self.eager_steps += 1
        else:
            self._step()

    def _step(self) -> None:
        """One optimiser step, written without host synchronisation or host-dependent shapes, so
        that it can be captured: step number, learning rate and batch rows are device tensors."""
        c = self.config
        self.lr.copy_(c.lr * 0.5 * (1 + torch.cos(self.step.float() * (math.pi / self.steps))))
        idx = self.perm.index_select(0, self.rows + (self.step % self.steps_per_epoch) * self.batch)
        x = self.data.index_select(0, idx)  # (B, D)
        if c.binarize:  # every pixel drawn afresh at each step, on the device (TrainConfig.binarize)
            x = (torch.rand_like(x) < x).to(x.dtype)
        noise = c.encoder_noise * torch.randn_like(x) if c.encoder_noise else None
        eps = torch.randn((c.k, self.batch, c.model.latent_dim), device=self.device)
        lam = log_uniform(torch.rand(self.batch, device=self.device), c.lam_range) if c.dial else c.lam
        self.opt.zero_grad(set_to_none=True)  # backward then writes fresh gradients (in the graph's pool)
        # Autocast's weight cache would hold tensors from outside the graph: off, as CUDA graphs require.
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=c.bf16 and native_bf16(self.device.type),
                            cache_enabled=False):
            loss = vae_loss(self.model, x, lam, c.k, c.reconstruction, noise=noise, eps=eps)
        loss.total.backward()
        self.opt.step()
        self.totals += torch.stack([loss.recon, loss.kl, loss.total]).detach().to(self.totals.dtype) * self.batch
        self.step += 1
