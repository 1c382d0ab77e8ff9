"""The hand-written training step matches autograd on the loss it implements."""
import pytest
import torch
import torch.nn.functional as F

from explorer.model import VAE, ModelConfig, kl_to_standard_normal, reconstruction_cost, vae_loss
from explorer.step import train_step

CONFIG = ModelConfig(hidden=(48, 24))


def batch(n=32, seed=0):
    return torch.rand((n, CONFIG.x_dim), generator=torch.Generator().manual_seed(seed))


def model(dropout=0.0, seed=0):
    torch.manual_seed(seed)
    return VAE(ModelConfig(hidden=CONFIG.hidden, dropout=dropout)).train()


def grads_of(vae):
    return {name: p.grad.clone() for name, p in vae.named_parameters()}


def assert_same_grads(got, want, rtol, atol):
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=rtol, atol=atol, msg=name)


@pytest.mark.parametrize("lam, k, recon", [(1.0, 1, "bce"), (0.0, 1, "bce"), (2.5, 3, "bce"), (1.0, 2, "mse")])
def test_gradients_match_autograd_in_fp32(lam, k, recon):
    x = batch()
    reference = model()
    want_loss = vae_loss(reference, x, lam, k, recon, torch.Generator().manual_seed(5))
    want_loss.total.backward()
    vae = model()
    got_recon, got_kl = train_step(vae, x, lam, k, recon, torch.Generator().manual_seed(5), dtype=torch.float32)
    torch.testing.assert_close(got_recon, want_loss.recon.detach(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(got_kl, want_loss.kl.detach(), rtol=1e-5, atol=1e-5)
    assert_same_grads(grads_of(vae), grads_of(reference), rtol=1e-4, atol=1e-6)


def test_clamped_logvar_gets_no_gradient():
    vae = model()
    with torch.no_grad():
        vae.to_stats.bias[2:] = 50.0  # logvar far above LOGVAR_MAX for every image
        vae.to_stats.weight[2:] = 0.0
    train_step(vae, batch(), generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    assert torch.all(vae.to_stats.bias.grad[2:] == 0)
    assert torch.all(vae.to_stats.bias.grad[:2] != 0)


def test_dropout_gradients_match_autograd_with_the_same_masks():
    p = 0.3
    x, gen_seed = batch(), 9
    reference = model(dropout=p)
    gen = torch.Generator().manual_seed(gen_seed)
    # vae_loss's forward, with the dropout masks drawn from the generator after z's noise as train_step does
    mu, logvar = reference.encode(x)
    h = reference.reparameterize(mu, logvar, 1, gen).reshape(len(x), -1)
    linears = [m for m in reference.decoder.modules() if isinstance(m, torch.nn.Linear)]
    for layer in linears[:-1]:
        h = F.relu(layer(h))
        h = h * torch.empty_like(h).bernoulli_(1 - p, generator=gen).div_(1 - p)
    recon = reconstruction_cost(linears[-1](h), x).mean()
    (recon + kl_to_standard_normal(mu, logvar).mean()).backward()
    vae = model(dropout=p)
    got_recon, _ = train_step(vae, x, generator=torch.Generator().manual_seed(gen_seed), dtype=torch.float32)
    torch.testing.assert_close(got_recon, recon.detach(), rtol=1e-5, atol=1e-4)
    assert_same_grads(grads_of(vae), grads_of(reference), rtol=1e-4, atol=1e-6)


def test_eval_mode_turns_dropout_off():
    x = batch()
    a, b = model(dropout=0.5).eval(), model(dropout=0.0)
    train_step(a, x, generator=torch.Generator().manual_seed(1), dtype=torch.float32)
    train_step(b, x, generator=torch.Generator().manual_seed(1), dtype=torch.float32)
    assert_same_grads(grads_of(a), grads_of(b), rtol=0, atol=0)


def test_bf16_gradients_point_the_same_way_as_fp32():
    x = batch(256)
    exact, fast = model(), model()
    train_step(exact, x, generator=torch.Generator().manual_seed(3), dtype=torch.float32)
    train_step(fast, x, generator=torch.Generator().manual_seed(3), dtype=torch.bfloat16)
    for (name, p), q in zip(exact.named_parameters(), fast.parameters()):
        cosine = F.cosine_similarity(p.grad.flatten(), q.grad.flatten(), dim=0)
        assert cosine > 0.99, (name, float(cosine))


def test_noise_reaches_the_encoder_only():
    x, noise = batch(), 0.2 * batch(seed=1)
    reference = model()
    gen = torch.Generator().manual_seed(4)
    mu, logvar = reference.encode(x + noise)
    logits = reference.decode(reference.reparameterize(mu, logvar, 1, gen))
    recon = reconstruction_cost(logits, x).mean()  # the target is the clean image
    (recon + kl_to_standard_normal(mu, logvar).mean()).backward()
    vae = model()
    got_recon, _ = train_step(vae, x, generator=torch.Generator().manual_seed(4), dtype=torch.float32, noise=noise)
    torch.testing.assert_close(got_recon, recon.detach(), rtol=1e-5, atol=1e-4)
    assert_same_grads(grads_of(vae), grads_of(reference), rtol=1e-4, atol=1e-6)
