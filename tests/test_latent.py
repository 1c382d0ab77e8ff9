"""Latent tools, the browser's binary files and the image exports, on a small real model."""
import io

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats

from explorer import checkpoint as ckpt_io
from explorer import export, formats, latent


@pytest.fixture(scope="module")
def model(small_checkpoint):
    return small_checkpoint.model


def test_decode_matches_the_model_in_batches(model):
    z = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    images = latent.decode(model, z)
    with torch.inference_mode():
        expected = torch.sigmoid(model.decode(torch.from_numpy(z))).numpy().reshape(7, 28, 28)
    assert images.shape == (7, 28, 28) and images.dtype == np.float32
    np.testing.assert_allclose(images, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(latent.decode(model, z[3]), expected[3:4], rtol=0, atol=1e-6)


def test_interpolate_hits_both_ends_evenly():
    z0, z1 = np.array([-1.5, 2.0]), np.array([3.0, -0.25])
    z = latent.interpolate(z0, z1, 10)
    assert z.shape == (10, 2)
    np.testing.assert_array_equal(z[0], z0.astype(np.float32))
    np.testing.assert_array_equal(z[-1], z1.astype(np.float32))
    np.testing.assert_allclose(np.diff(z, axis=0), np.tile((z1 - z0) / 9, (9, 1)), atol=1e-6)
    with pytest.raises(ValueError):
        latent.interpolate(z0, z1, 1)


def test_decode_grid_puts_highest_y_on_top_and_cell_centres_where_drawn(model):
    grid = latent.decode_grid(model, (-2.0, 1.0), (-1.0, 3.0), 4)
    assert grid.shape == (4, 4, 28, 28)
    # Cell (row 0, col 3) is the top-right one: x at the last column's centre, y at the top row's.
    z = np.array([[-2.0 + 3.5 * 3.0 / 4, 3.0 - 0.5 * 4.0 / 4]])
    np.testing.assert_allclose(grid[0, 3], latent.decode(model, z)[0], atol=1e-6)
    z = np.array([[-2.0 + 0.5 * 3.0 / 4, -1.0 + 0.5 * 4.0 / 4]])  # bottom-left
    np.testing.assert_allclose(grid[3, 0], latent.decode(model, z)[0], atol=1e-6)


def test_quantile_grid_sits_at_the_priors_quantiles(model):
    """Kingma & Welling 2014, figure 4: z = Phi^-1(u) for u on a uniform grid of cell centres."""
    n = 5
    z = latent.grid_points((-9.0, 9.0), (-1.0, 1.0), n, spacing="quantile")
    u = (np.arange(n) + 0.5) / n
    expected = stats.norm.ppf(u)
    np.testing.assert_allclose(z[0, :, 0], expected, rtol=0, atol=1e-6)  # columns: x ascending
    np.testing.assert_allclose(z[:, 0, 1], expected[::-1], rtol=0, atol=1e-6)  # rows: top (highest y) first
    edges = latent.quantile_edges(n)
    np.testing.assert_allclose(edges[1:-1], stats.norm.ppf(np.arange(1, n) / n), atol=1e-12)
    assert np.all((edges[:-1] < expected) & (expected < edges[1:]))
    # Outer cells: as far out from their centre as in.
    assert edges[1] - expected[0] == pytest.approx(expected[0] - edges[0])
    assert latent.quantile_edges(1).tolist() == [-1.0, 1.0]
    grid = latent.decode_grid(model, (0.0, 1.0), (0.0, 1.0), n, spacing="quantile")
    np.testing.assert_allclose(grid[0, 4], latent.decode(model, [[expected[4], expected[4]]])[0], atol=1e-6)
    np.testing.assert_allclose(latent.grid_points((0, 1), (0, 1), 4), latent.grid_points((0, 1), (0, 1), 4, "even"))
    with pytest.raises(ValueError, match="spacing"):
        latent.grid_points((0, 1), (0, 1), 4, spacing="log")


def _numpy_decode(blob: bytes, sizes: list[int], z: np.ndarray) -> np.ndarray:
    """Independent reading of the blob layout, as the browser reads it."""
    flat, offset, h = np.frombuffer(blob, "<f4"), 0, z.astype(np.float32)
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = flat[offset: offset + n_out * n_in].reshape(n_out, n_in)
        b = flat[offset + n_out * n_in: offset + n_out * n_in + n_out]
        offset += n_out * n_in + n_out
        h = h @ w.T + b
        h = np.maximum(h, 0) if i < len(sizes) - 2 else 1 / (1 + np.exp(-h))
    assert offset == len(flat)
    return h


def test_decoder_blob_reproduces_the_torch_decode(model):
    blob, sizes = latent.decoder_blob(model)
    assert sizes == [2, 32, 64, 784]
    z = np.random.default_rng(1).normal(scale=2, size=(50, 2)).astype(np.float32)
    np.testing.assert_allclose(_numpy_decode(blob, sizes, z).reshape(50, 28, 28), latent.decode(model, z),
                               rtol=0, atol=1e-5)


def test_plane_arrays_read_without_torch_match_the_loaded_model(tmp_path, small_checkpoint):
    path = ckpt_io.save(tmp_path / "m.safetensors", small_checkpoint)
    arrays = formats.read_plane_arrays(path)
    assert formats.pack_decoder(arrays.decoder) == latent.decoder_blob(ckpt_io.load(path).model)
    np.testing.assert_array_equal(arrays.test_mu, small_checkpoint.embedding.test_mu)
    np.testing.assert_array_equal(arrays.test_labels, small_checkpoint.embedding.test_labels)


def test_unreadable_checkpoint_gives_asset_error(tmp_path):
    with pytest.raises(formats.AssetError, match="not found"):
        formats.read_plane_arrays(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    with pytest.raises(formats.AssetError, match="junk.safetensors"):
        formats.read_plane_arrays(tmp_path / "junk.safetensors")


def test_neighbour_index_finds_the_closest_training_points():
    train_mu = np.random.default_rng(2).normal(size=(500, 2)).astype(np.float32)
    index = latent.NeighbourIndex(train_mu)
    z = np.array([0.3, -0.2], np.float32)
    indices, distances = index.query(z, 5)
    brute = np.linalg.norm(train_mu - z, axis=1)
    np.testing.assert_array_equal(indices, np.argsort(brute)[:5])
    np.testing.assert_allclose(distances, np.sort(brute)[:5], rtol=1e-5)


def test_point_stats_kl_matches_torch_distributions():
    mu, logvar = np.array([0.5, -1.0], np.float32), np.array([-0.7, 0.2], np.float32)
    stats = latent.point_stats(mu, logvar)
    q = torch.distributions.Normal(torch.from_numpy(mu), torch.from_numpy(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    assert stats.kl == pytest.approx(float(torch.distributions.kl_divergence(q, p).sum()), rel=1e-5)
    np.testing.assert_allclose(stats.sigma, np.exp(0.5 * logvar))


def test_png_strip_and_gif_are_valid_images():
    frames = np.random.default_rng(3).random((6, 28, 28)).astype(np.float32)
    png = Image.open(io.BytesIO(export.strip_png(frames, scale=2)))
    assert png.format == "PNG" and png.size == (6 * 56, 56)
    pixels = np.asarray(png)
    np.testing.assert_array_equal(pixels[::2, 5 * 56: 6 * 56: 2], export.to_uint8(frames[5]))
    gif = Image.open(io.BytesIO(export.gif(frames, scale=2)))
    assert gif.format == "GIF" and gif.is_animated and gif.n_frames == 6 + 4  # forward, then back
    gif.seek(0)
    np.testing.assert_array_equal(np.asarray(gif.convert("L"))[::2, ::2], export.to_uint8(frames[0]))


def test_tile_puts_grid_rows_top_to_bottom():
    grid = np.zeros((2, 3, 4, 5), np.float32)
    grid[0, 2] = 1.0  # top-right cell
    image = export.tile(grid)
    assert image.shape == (8, 15)
    assert (image[:4, 10:] == 255).all() and image.sum() == 255 * 20
    assert Image.open(io.BytesIO(export.png(image))).size == (15, 8)
