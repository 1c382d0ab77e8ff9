"""The VAE's maths (Kingma & Welling 2014): the closed-form KL of appendix B, the ELBO's decomposition, and the IWAE bound (Burda et al. 2016)."""
import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from explorer.evaluate import evaluate
from explorer.model import VAE, ModelConfig, kl_to_standard_normal, log_normal, reconstruction_cost, vae_loss

TINY = ModelConfig(image_shape=(4, 4), hidden=(8,), latent_dim=2, dropout=0.0)


def random_gaussians(n=64, dim=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g) * 2, torch.randn(n, dim, generator=g) * 1.5


def test_kl_matches_torch_distributions():
    mu, logvar = random_gaussians()
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), kl_divergence(q, p), rtol=1e-5, atol=1e-5)


def test_kl_matches_monte_carlo_estimate():
    mu, logvar = random_gaussians(n=4, dim=2, seed=1)
    z = VAE.reparameterize(mu.double(), logvar.double(), k=200_000, generator=torch.Generator().manual_seed(2))
    log_q = log_normal(z, mu.double(), logvar.double())
    log_p = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
    mc = (log_q - log_p).mean(0)  # eq. (3): E_q[ln q/p]
    se = (log_q - log_p).std(0) / math.sqrt(len(z))
    exact = kl_to_standard_normal(mu.double(), logvar.double())
    assert ((mc - exact).abs() < 4 * se + 1e-3).all(), (mc, exact, se)


def test_kl_is_zero_only_at_the_prior():
    assert kl_to_standard_normal(torch.zeros(1, 2), torch.zeros(1, 2)).item() == 0
    assert (kl_to_standard_normal(*random_gaussians()) > 0).all()


def test_log_normal_matches_torch():
    mu, logvar = random_gaussians()
    z = torch.randn_like(mu)
    expected = Independent(Normal(mu, (0.5 * logvar).exp()), 1).log_prob(z)
    torch.testing.assert_close(log_normal(z, mu, logvar), expected, rtol=1e-5, atol=1e-4)


def test_bce_is_bernoulli_negative_log_likelihood():
    logits, x = torch.randn(5, 16), torch.rand(5, 16).round()
    expected = -torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)
    torch.testing.assert_close(reconstruction_cost(logits, x, "bce"), expected)
    torch.testing.assert_close(reconstruction_cost(logits, x, "mse"), ((logits.sigmoid() - x) ** 2).sum(-1))
    with pytest.raises(KeyError):  # TrainConfig refuses other names; see test_train
        reconstruction_cost(logits, x, "l1")


@pytest.mark.parametrize("lam", [0.0, 0.5, 2.0])
def test_loss_is_recon_plus_lambda_kl(lam):
    torch.manual_seed(0)
    model, x = VAE(TINY), torch.rand(32, 16)
    loss = vae_loss(model, x, lam=lam, k=3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loss.total, loss.recon + lam * loss.kl)
    mu, logvar = model.encode(x)
    torch.testing.assert_close(loss.kl, kl_to_standard_normal(mu, logvar).mean())


def test_k_samples_average_the_reconstruction_term():
    torch.manual_seed(0)
    model, x = VAE(TINY), torch.rand(8, 16)
    logits, mu, logvar = model(x, k=5, generator=torch.Generator().manual_seed(3))
    assert logits.shape == (5, 8, 16) and mu.shape == logvar.shape == (8, 2)
    loss = vae_loss(model, x, k=5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(loss.recon, reconstruction_cost(logits, x).mean())


def test_a_given_eps_is_the_draw_behind_the_k_samples():
    torch.manual_seed(0)
    model, x = VAE(TINY), torch.rand(8, 16)
    eps = torch.randn((4, 8, 2), generator=torch.Generator().manual_seed(5))
    drawn = vae_loss(model, x, k=4, generator=torch.Generator().manual_seed(5))
    given = vae_loss(model, x, k=4, eps=eps)
    torch.testing.assert_close(given.recon, drawn.recon)
    torch.testing.assert_close(given.total, drawn.total)
    assert not torch.equal(given.recon, vae_loss(model, x, k=4, eps=torch.zeros(4, 8, 2)).recon)


def test_evaluate_decomposes_neg_elbo_and_iwae_is_tighter():
    torch.manual_seed(0)
    model, x = VAE(TINY), torch.rand(200, 16).round()
    m = evaluate(model, x, iwae_k=200, elbo_k=50)
    assert m.neg_elbo == pytest.approx(m.recon + m.kl)
    assert -m.neg_elbo <= m.log_px_iwae <= 0  # ELBO <= IWAE bound <= ln p(x) <= 0 for binary data
    assert m.n_images == 200 and m.iwae_k == 200 and 0 <= m.active_units <= 2


def test_noise_reaches_the_encoder_only():
    torch.manual_seed(0)
    model = VAE(ModelConfig(hidden=(32, 16)))
    x = torch.rand(8, 784)
    noise = 0.3 * torch.randn(8, 784)
    loss = vae_loss(model, x, noise=noise, generator=torch.Generator().manual_seed(1))
    mu, logvar = model.encode(x + noise)
    z = model.reparameterize(mu, logvar, 1, torch.Generator().manual_seed(1))
    recon = reconstruction_cost(model.decode(z), x).mean()  # the target is the clean image
    torch.testing.assert_close(loss.recon, recon)
    torch.testing.assert_close(loss.kl, kl_to_standard_normal(mu, logvar).mean())
    assert not torch.equal(loss.recon, vae_loss(model, x, generator=torch.Generator().manual_seed(1)).recon)


@pytest.mark.parametrize("config", [TINY, ModelConfig(), ModelConfig(hidden=(16, 8, 4), latent_dim=3)])
def test_parameter_count_is_counted_without_building(config):
    assert config.parameter_count == sum(p.numel() for p in VAE(config).parameters())
