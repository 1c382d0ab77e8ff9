"""The files the plane fetches: read from a checkpoint without torch, laid out as
explorer/component/protocol.js reads them, named by content, and the density level the browser's
"within the data" verdict uses equal to explorer.density's."""
import numpy as np
import pytest
import torch

from explorer import assets, density, formats, latent
from explorer import checkpoint as ckpt_io
from explorer.model import LOGVAR_MAX, LOGVAR_MIN


@pytest.fixture(scope="module")
def published(tmp_path_factory, small_checkpoint, mnist_test):
    folder = tmp_path_factory.mktemp("assets")
    arrays = formats.read_plane_arrays(ckpt_io.save(folder / "m.safetensors", small_checkpoint))
    # The small checkpoint trained on test images 0-2999 and embedded test images 3000-3999.
    test_images, train_images = mnist_test.images[3000:4000], mnist_test.images[:3000]
    return folder / "static", arrays, test_images, train_images, assets.publish_plane(
        folder / "static", arrays, test_images, train_images)


def _file(static, url: str) -> bytes:
    return (static / url.removeprefix(assets.URL_PREFIX + "/")).read_bytes()


def test_arrays_read_without_torch_are_the_checkpoint_embedding(published, small_checkpoint):
    _, arrays, *_ = published
    e = small_checkpoint.embedding
    for name in ("test_mu", "test_logvar", "test_labels", "train_mu", "train_labels"):
        np.testing.assert_array_equal(getattr(arrays, name), getattr(e, name))
    assert arrays.test_mu.dtype == np.float32 and arrays.train_labels.dtype == np.uint8


def test_points_and_train_files_have_the_documented_layouts(published):
    static, arrays, _, _, plane = published
    n, m = plane.n_points, plane.n_train
    points = _file(static, plane.points_url)
    assert len(points) == 16 * n + n
    np.testing.assert_array_equal(np.frombuffer(points[: 8 * n], "<f4").reshape(n, 2), arrays.test_mu)
    np.testing.assert_array_equal(np.frombuffer(points[8 * n: 16 * n], "<f4").reshape(n, 2), arrays.test_logvar)
    np.testing.assert_array_equal(np.frombuffer(points[16 * n:], np.uint8), arrays.test_labels)
    train = _file(static, plane.train_url)
    assert len(train) == 9 * m
    np.testing.assert_array_equal(np.frombuffer(train[: 8 * m], "<f4").reshape(m, 2), arrays.train_mu)
    np.testing.assert_array_equal(np.frombuffer(train[8 * m:], np.uint8), arrays.train_labels)


def test_image_files_hold_one_image_after_another_for_range_requests(published):
    static, _, test_images, train_images, plane = published
    h, w = plane.image_shape
    for url, images in ((plane.test_images_url, test_images), (plane.train_images_url, train_images)):
        blob = _file(static, url)
        i = len(images) // 3
        assert blob[i * h * w: (i + 1) * h * w] == images[i].tobytes()


def test_decoder_file_is_the_torch_models_decoder(published, small_checkpoint):
    static, _, _, _, plane = published
    blob, sizes = latent.decoder_blob(small_checkpoint.model)
    assert _file(static, plane.decoder_url) == blob and plane.layer_sizes == sizes


def test_the_density_level_is_explorer_density_s(published):
    _, arrays, _, _, plane = published
    assert plane.density_level == density.density_level(arrays.test_mu, arrays.test_logvar)
    # 99% of q's mass lies above it: most test digits' own codes do too.
    log_q = density.log_aggregate_posterior(arrays.test_mu, arrays.test_mu, arrays.test_logvar)
    assert (log_q > plane.density_level).mean() > 0.95


def test_the_density_level_is_computed_once_per_points_file_and_afresh_when_unreadable(published, monkeypatch):
    static, arrays, test_images, train_images, plane = published
    [level_file] = (static / assets.CACHE_SUBDIR).glob("level-*.bin")
    assert np.frombuffer(level_file.read_bytes(), "<f8")[0] == plane.density_level

    def not_again(*args, **kwargs):
        raise AssertionError("computed again although the cache holds it")
    monkeypatch.setattr(density, "density_level", not_again)
    assert assets.publish_plane(static, arrays, test_images, train_images).density_level == plane.density_level
    monkeypatch.undo()
    for damaged in (b"", b"\x00" * 5, np.array([np.nan], "<f8").tobytes()):
        level_file.write_bytes(damaged)
        assert assets.publish_plane(static, arrays, test_images, train_images).density_level == plane.density_level
        assert level_file.read_bytes() == np.array([plane.density_level], "<f8").tobytes()


def test_the_data_carries_everything_the_browser_reads(published):
    *_, plane = published
    data = plane.to_data()
    assert data["image_shape"] == [28, 28] and data["n_points"] == 1000 and data["n_train"] == 3000
    assert {"decoder_url", "points_url", "train_url", "test_images_url", "train_images_url", "layer_sizes",
            "density_level"} <= set(data)
    assert isinstance(data["density_level"], float)


def test_publishing_again_writes_nothing_new(published):
    static, arrays, test_images, train_images, plane = published
    def files():  # the same inode means the file was not written again (publishing only touches it)
        return {p.name: (p.stat().st_ino, p.stat().st_size) for p in (static / assets.CACHE_SUBDIR).iterdir()}

    before = files()
    assert assets.publish_plane(static, arrays, test_images, train_images) == plane
    after = files()
    assert before == after and len(after) == 7 and not any(n.endswith(".tmp") for n in after)
    assert all(url.startswith("app/static/cache/") for url in (plane.decoder_url, plane.points_url, plane.train_url))


def test_images_that_do_not_fit_the_model_are_refused(published):
    static, arrays, test_images, train_images, _ = published
    with pytest.raises(formats.AssetError, match="test images"):
        assets.publish_plane(static, arrays, test_images[:10], train_images)
    with pytest.raises(formats.AssetError, match="training images"):
        assets.publish_plane(static, arrays, test_images, train_images[:10])
    with pytest.raises(formats.AssetError, match="pixels"):
        assets.publish_plane(static, arrays, test_images[:, :14], train_images[:, :14])


def test_a_checkpoint_without_the_embedding_gives_asset_error(tmp_path):
    from safetensors.numpy import save_file
    path = tmp_path / "partial.safetensors"
    save_file({"model.decoder.0.weight": np.zeros((4, 2), np.float32), "model.decoder.0.bias": np.zeros(4, np.float32),
               "test_mu": np.zeros((3, 2), np.float32)}, str(path))
    with pytest.raises(formats.AssetError, match="partial.safetensors"):
        formats.read_plane_arrays(path)


def test_a_dials_files_hold_its_film_networks_and_its_grid_of_codes(tmp_path, small_dial, mnist_test):
    path = ckpt_io.save(tmp_path / "dial.safetensors", small_dial)
    arrays = formats.read_plane_arrays(path)
    static = tmp_path / "static"
    plane = assets.publish_plane(static, arrays, mnist_test.images[3000:4000], mnist_test.images[:3000])
    model, dial = small_dial.model, small_dial.dial
    # The decoder's file: its layers, then its FiLM network's, as pack_decoder lays each out.
    film = [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in model.decoder_film.net
            if isinstance(m, torch.nn.Linear)]
    assert _file(static, plane.decoder_url) == formats.pack_decoder(latent.decoder_layers(model))[0] + \
        formats.pack_decoder(film)[0]
    d = plane.dial
    assert d.decoder_film_sizes == (1, 16, 16, 2 * (32 + 64)) and d.encoder_film_sizes == (1, 16, 16, 2 * (64 + 32))
    assert d.lams == tuple(float(v) for v in dial.lams) and d.lam == 1.0 and len(d.curve["lams"]) == 65
    # The grid's file: the checkpoint's delta-coded codes, floats first (protocol.py).
    g, n = len(dial.lams), plane.n_points
    grid = _file(static, d.grid_url)
    assert len(grid) == 2 * (8 * n + 8 * (g - 1)) + 2 * 2 * (g - 1) * n
    np.testing.assert_array_equal(np.frombuffer(grid[: 8 * n], "<f4").reshape(n, 2), dial.mu.first)
    steps = np.frombuffer(grid[-4 * (g - 1) * n:], np.int8).reshape(2, g - 1, n, 2)
    np.testing.assert_array_equal(steps[0], dial.mu.steps)
    np.testing.assert_array_equal(steps[1], dial.logvar.steps)
    assert d.grid_url in plane.urls and plane.to_data()["dial"]["log_lam_scale"] == pytest.approx(np.log(100))
    assert {u.rsplit("/", 1)[1] for u in (plane.decoder_url, plane.points_url, d.grid_url)} <= \
        set(assets.model_asset_names(arrays))
    # A restarted server finds it as it was published.
    assets.write_manifest(static, "k", plane)
    assert assets.read_manifest(static, "k") == plane


def test_reading_plane_arrays_does_not_import_torch():
    import subprocess
    import sys
    code = ("import sys; from explorer import formats; "
            "formats.read_plane_arrays('pretrained/lam-1.safetensors'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=assets.Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False", out.stderr


def test_the_cache_keeps_to_its_cap_dropping_the_least_recently_published(tmp_path):
    import os
    static = tmp_path / "static"
    urls = [assets.publish(static, f"blob{i}", bytes([i]) * 1000) for i in range(5)]
    folder = static / assets.CACHE_SUBDIR
    for age, url in enumerate(reversed(urls)):  # blob0 published longest ago
        os.utime(static / url.removeprefix(assets.URL_PREFIX + "/"), (1000.0 * (5 - age), 1000.0 * (5 - age)))
    assets.publish(static, "blob0", bytes([0]) * 1000)  # published again: now the most recent
    (folder / ".x.bin.abc.explorer.tmp").write_bytes(b"half")
    os.utime(folder / ".x.bin.abc.explorer.tmp", (0, 0))
    removed = assets.prune_cache(static, keep=(urls[1],), max_bytes=3000)
    assert sorted(removed) == sorted([".x.bin.abc.explorer.tmp", urls[2].rsplit("/", 1)[1],
                                      urls[3].rsplit("/", 1)[1]])
    assert sorted(p.name for p in folder.iterdir()) == sorted(u.rsplit("/", 1)[1] for u in (urls[0], urls[1], urls[4]))


def test_the_page_publishes_a_plane_again_once_the_cache_has_pruned_one_of_its_files(tmp_path, monkeypatch):
    """The server keeps each model's PlaneAssets; a file the cap pruned since must not stay a dead URL."""
    from explorer.ui import resources
    static = tmp_path / "static"
    monkeypatch.setattr(resources, "STATIC_DIR", static)
    path, mtime = resources.stamp(resources.DEFAULT_MODEL)
    resources._published_plane.clear()
    try:
        plane = resources.plane_assets(path, mtime)
        assert assets.all_published(static, plane) and len(plane.urls) == 6
        decoder = static / assets.CACHE_SUBDIR / plane.decoder_url.rsplit("/", 1)[1]
        decoder.unlink()
        assert not assets.all_published(static, plane)
        assert resources.plane_assets(path, mtime) == plane and decoder.is_file()
    finally:
        resources._published_plane.clear()


def test_a_models_own_files_are_known_before_it_is_deleted(published, tmp_path):
    static, arrays, _, _, plane = published
    files = assets.published_files(static, static.parent / "m.safetensors")
    level = next((static / assets.CACHE_SUBDIR).glob("level-*.bin")).name
    assert sorted(f.name for f in files) == sorted([level] + [u.rsplit("/", 1)[1] for u in
                                                             (plane.decoder_url, plane.points_url, plane.train_url,
                                                              plane.encoder_url)])
    assert all(f.is_file() for f in files)  # the shared images are not among them
    assert assets.published_files(static, tmp_path / "gone.safetensors") == []


def _encoder_layers(model):
    """The torch model's encoder Linears then to_stats, as (weight, bias) float32 numpy."""
    linears = [m for m in model.encoder if isinstance(m, torch.nn.Linear)] + [model.to_stats]
    return [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in linears]


def test_encoder_file_is_the_torch_models_encoder_and_encodes_like_it(published, small_checkpoint, mnist_test):
    static, _, _, _, plane = published
    model = small_checkpoint.model
    blob, sizes = formats.pack_decoder(_encoder_layers(model))
    assert _file(static, plane.encoder_url) == blob
    assert list(plane.encoder_sizes) == sizes == [784, 64, 32, 4]
    assert plane.to_data()["encoder_url"] == plane.encoder_url
    # The layout read back and run as the browser runs it (ReLU between, clamp of logvar) is model.encode.
    flat, h = np.frombuffer(_file(static, plane.encoder_url), "<f4"), mnist_test.images[:50].reshape(50, -1) / 255
    at = 0
    for j, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w = flat[at: at + n_in * n_out].reshape(n_out, n_in).astype(np.float64)
        b = flat[at + n_in * n_out: at + n_in * n_out + n_out]
        at += n_in * n_out + n_out
        h = h @ w.T + b
        if j < len(sizes) - 2:
            h = np.maximum(h, 0)
    assert at == len(flat)
    with torch.no_grad():
        mu, logvar = model.encode(torch.from_numpy(mnist_test.images[:50].reshape(50, -1)).float() / 255)
    np.testing.assert_allclose(h[:, :2], mu.numpy(), atol=1e-4)
    np.testing.assert_allclose(np.clip(h[:, 2:], LOGVAR_MIN, LOGVAR_MAX), logvar.numpy(), atol=1e-4)


def test_a_file_without_an_encoder_publishes_no_encoder(published, tmp_path):
    _, arrays, test_images, train_images, _ = published
    from dataclasses import replace
    plane = assets.publish_plane(tmp_path / "static", replace(arrays, encoder=[]), test_images, train_images)
    assert plane.encoder_url == "" and plane.to_data()["encoder_sizes"] == []


def test_an_encoder_that_does_not_fit_the_decoder_is_refused(published, tmp_path):
    _, arrays, test_images, train_images, _ = published
    from dataclasses import replace
    bad = replace(arrays, encoder=arrays.encoder[:-1])  # no to_stats: 32 outputs, not mu and logvar
    with pytest.raises(formats.AssetError, match="encoder"):
        assets.publish_plane(tmp_path / "static", bad, test_images, train_images)


def test_the_shared_images_are_copied_and_hashed_once_per_array_while_their_file_is_there(tmp_path, monkeypatch):
    static, images = tmp_path / "static", np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    url = assets.publish_images(static, "test-images", images)
    hashed = []
    monkeypatch.setattr(assets, "publish", lambda *a: hashed.append(a) or url)
    assert assets.publish_images(static, "test-images", images) == url and not hashed  # the same array: known
    assert assets.publish_images(static, "test-images", images.copy()) == url and len(hashed) == 1  # another array
    monkeypatch.undo()
    (static / assets.CACHE_SUBDIR / url.rsplit("/", 1)[1]).unlink()  # pruned meanwhile: published again
    assert assets.publish_images(static, "test-images", images) == url
    assert (static / assets.CACHE_SUBDIR / url.rsplit("/", 1)[1]).read_bytes() == images.tobytes()


def test_a_published_plane_is_kept_on_disk_under_its_files_and_read_back_as_it_was(published, tmp_path):
    static, *_, plane = published
    model, data = tmp_path / "m.safetensors", tmp_path / "data.idx"
    model.write_bytes(b"model")
    data.write_bytes(b"data")
    key = assets.manifest_key([model, data])
    assert assets.read_manifest(static, key) is None
    assets.write_manifest(static, key, plane)
    assert assets.read_manifest(static, key) == plane
    data.write_bytes(b"other data")  # a file replaced on disk is another key
    assert assets.manifest_key([model, data]) != key
    (static / assets.CACHE_SUBDIR / f"plane-{key}.json").write_text("{not json")
    assert assets.read_manifest(static, key) is None


def test_a_restarted_server_finds_a_models_plane_without_reading_the_datasets(tmp_path, monkeypatch):
    from explorer.library import SHIPPED_DIR
    from explorer.ui import resources
    path = SHIPPED_DIR / "lam-1.safetensors"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    monkeypatch.setattr(resources, "STATIC_DIR", tmp_path / "static")
    resources._published_plane.clear()
    first = resources.plane_assets(*resources.stamp(path))
    resources._published_plane.clear()  # what a restart forgets
    monkeypatch.setattr(resources, "images", lambda split: pytest.fail(f"read the {split} images"))
    monkeypatch.setattr(formats, "read_plane_arrays", lambda path: pytest.fail("read the model's arrays"))
    assert resources.plane_assets(*resources.stamp(path)) == first
    resources._published_plane.clear()


def test_the_judge_is_published_as_the_classifier_reads_it_and_a_file_that_is_not_one_is_refused(tmp_path):
    from explorer import classifier
    from explorer.library import SHIPPED_DIR
    shipped = SHIPPED_DIR / "classifier.safetensors"
    if not shipped.is_file():
        pytest.skip(f"needs {shipped}")
    record, weights = classifier.read_file(shipped)
    judge = assets.publish_judge(tmp_path, shipped)
    a = record.architecture
    assert (judge.image_shape, judge.channels, judge.hidden, judge.classes) == (a.image_shape, a.channels, a.hidden,
                                                                              a.classes)
    assert judge.confident == classifier.CONFIDENT
    blob = (tmp_path / assets.CACHE_SUBDIR / judge.url.rsplit("/", 1)[1]).read_bytes()
    expected = b"".join(weights[f"{layer}.{part}"].astype("<f4").tobytes()
                        for layer in ("conv1", "conv2", "fc1", "fc2") for part in ("weight", "bias"))
    assert blob == expected and assets.all_published(tmp_path, judge)
    with pytest.raises(formats.AssetError, match="lam-1.safetensors: not a classifier file"):
        formats.read_judge(SHIPPED_DIR / "lam-1.safetensors")
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(shipped.read_bytes()[:-100])
    with pytest.raises(formats.AssetError, match="cut.safetensors: not a readable classifier file"):
        formats.read_judge(truncated)
