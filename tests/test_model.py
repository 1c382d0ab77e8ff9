"""The VAE's maths (Kingma & Welling 2014): the closed-form KL of appendix B, the ELBO's decomposition,
and the IWAE bound (Burda et al. 2016)."""
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


@pytest.mark.parametrize("config", [TINY, ModelConfig(), ModelConfig(hidden=(16, 8, 4), latent_dim=3),
                                    ModelConfig(hidden=(16, 8, 4), film_hidden=7)])
def test_parameter_count_is_counted_without_building(config):
    assert config.parameter_count == sum(p.numel() for p in VAE(config).parameters())


# A dial: the VAE conditioned on lambda by FiLM (explorer.model.FiLM).

DIAL = ModelConfig(image_shape=(4, 4), hidden=(8, 6), latent_dim=2, film_hidden=5)


def test_film_starts_as_the_identity():
    """A new dial computes exactly what the same network without FiLM computes, at any lambda."""
    torch.manual_seed(0)
    dial = VAE(DIAL)
    plain = VAE(ModelConfig(image_shape=(4, 4), hidden=(8, 6), latent_dim=2))
    missing, unexpected = dial.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == [] and missing and all("_film." in k for k in missing)
    x, z = torch.rand(7, 16), torch.randn(3, 7, 2)
    for lam in (0.01, 1.0, 37.0, torch.logspace(-2, 2, 7)):
        for a, b in zip(dial.encode(x, lam), plain.encode(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(dial.decode(z, lam), plain.decode(z), rtol=0, atol=0)


def test_film_scales_and_shifts_each_hidden_layer_before_its_relu():
    """relu(gamma * (W x + b) + beta), written out by hand from the model's own weights."""
    torch.manual_seed(0)
    dial = VAE(DIAL)
    for film in (dial.encoder_film, dial.decoder_film):
        torch.nn.init.normal_(film.net[-1].weight)  # away from the identity
    x, lam = torch.rand(5, 16), torch.tensor([0.02, 0.3, 1.0, 4.0, 90.0])
    t = (lam.log() / math.log(100)).unsqueeze(-1)

    def film(net, widths):
        out = net(t)
        scale, shift = out[:, :sum(widths)], out[:, sum(widths):]
        return list(zip((1 + scale).split(widths, -1), shift.split(widths, -1)))

    h = x
    for linear, (gamma, beta) in zip((dial.encoder[0], dial.encoder[2]), film(dial.encoder_film.net, (8, 6))):
        h = torch.relu(gamma * linear(h) + beta)
    mu, logvar = dial.to_stats(h).chunk(2, -1)
    got_mu, got_logvar = dial.encode(x, lam)
    torch.testing.assert_close(got_mu, mu)
    torch.testing.assert_close(got_logvar, logvar.clamp(-30, 10))
    h = mu
    for linear, (gamma, beta) in zip((dial.decoder[0][0], dial.decoder[0][3]), film(dial.decoder_film.net, (6, 8))):
        h = torch.relu(gamma * linear(h) + beta)
    torch.testing.assert_close(dial.decode(mu, lam), dial.decoder[1](h))
    # one lambda for all rows is the same as that lambda repeated per row
    torch.testing.assert_close(dial.decode(mu, 0.3), dial.decode(mu, torch.full((5,), 0.3)))
    assert not torch.allclose(dial.decode(mu, 0.3), dial.decode(mu, 3.0))


def test_a_dial_needs_a_lambda_and_a_plain_model_refuses_one():
    dial, plain, x = VAE(DIAL), VAE(TINY), torch.rand(2, 16)
    with pytest.raises(ValueError, match="is a lambda dial .* need a lam"):
        dial.encode(x)
    with pytest.raises(ValueError, match="is a lambda dial"):
        dial.decode(torch.zeros(2, 2))
    for bad in (0.0, -1.0, float("inf"), float("nan"), True, "1"):
        with pytest.raises(ValueError, match="positive finite number"):
            dial.encode(x, bad)
    with pytest.raises(ValueError, match="not conditioned on lambda"):
        plain.encode(x, 1.0)
    with pytest.raises(ValueError, match="not conditioned on lambda"):
        plain.decode(torch.zeros(2, 2), torch.ones(2))


def test_per_image_lambda_loss_is_each_images_own_objective():
    """recon_i + lam_i KL_i, averaged: each term computed here from the model's encode and decode."""
    torch.manual_seed(0)
    for config in (TINY, DIAL):
        model, x = VAE(config), torch.rand(6, 16)
        lam = torch.tensor([0.01, 0.1, 1.0, 2.0, 10.0, 100.0])
        eps = torch.randn(3, 6, 2)
        loss = vae_loss(model, x, lam, k=3, eps=eps)
        cond = lam if model.conditioned else None
        expected, recons, kls = 0.0, [], []
        for i in range(6):
            mu, logvar = model.encode(x[i:i + 1], cond[i:i + 1] if cond is not None else None)
            z = mu + (0.5 * logvar).exp() * eps[:, i]  # (3, L): image i's three samples
            logits = model.decode(z, cond[i].repeat(3) if cond is not None else None)
            recon_i = reconstruction_cost(logits, x[i]).mean()
            kl_i = kl_to_standard_normal(mu, logvar)[0]
            expected += (recon_i + lam[i] * kl_i) / 6
            recons.append(recon_i)
            kls.append(kl_i)
        torch.testing.assert_close(loss.total, expected)
        torch.testing.assert_close(loss.recon, torch.stack(recons).mean())
        torch.testing.assert_close(loss.kl, torch.stack(kls).mean())
        # one lambda for all is the scalar loss
        same = vae_loss(model, x, torch.full((6,), 0.5), k=3, eps=eps)
        torch.testing.assert_close(same.total, vae_loss(model, x, 0.5, k=3, eps=eps).total)
