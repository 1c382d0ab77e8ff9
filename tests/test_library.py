"""The model library: listing from headers, bad files reported and skipped, safe ids, deletes."""
import dataclasses
import os
import threading

import pytest
import torch

from explorer import checkpoint as ckpt_io
from explorer import files
from explorer.config import TrainConfig
from explorer.library import LibraryError, ModelLibrary, file_stem


def at_lam(ckpt, lam, **changes):
    return dataclasses.replace(ckpt, config=dataclasses.replace(ckpt.config, lam=lam, **changes))


@pytest.fixture
def library(tmp_path, small_checkpoint):
    """Shipped lam-0.5 and lam-2 beside user-trained lambda 1 and 3."""
    shipped, user = tmp_path / "pretrained", tmp_path / "models"
    for lam in (0.5, 2.0):
        ckpt_io.save(shipped / f"lam-{lam:g}.safetensors", at_lam(small_checkpoint, lam))
    lib = ModelLibrary(shipped, user)
    for lam in (3.0, 1.0):
        lib.add(at_lam(small_checkpoint, lam))
    return lib


def test_lists_every_model_sorted_by_lambda_with_settings_and_metrics(library, small_checkpoint):
    entries = library.entries()
    assert [e.lam for e in entries] == [0.5, 1.0, 2.0, 3.0]
    assert [e.shipped for e in entries] == [True, False, True, False]
    assert entries[0].id == "lam-0.5" and entries[1].id == file_stem(entries[1].config)
    assert entries[1].id.startswith("lam-1_e3_bce_k1_s0_")
    assert entries[1].metrics == small_checkpoint.metrics
    assert entries[1].epochs_trained == 3 and entries[1].command == "pytest"
    assert library.problems() == []


def test_load_gives_the_saved_model(library, small_checkpoint):
    entry = library.find(at_lam(small_checkpoint, 1.0).config)
    loaded = library.load(entry.id)
    z = torch.randn(10, 2)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.model.decode(z), small_checkpoint.model.decode(z), rtol=0, atol=0)
    assert loaded.model is not library.load(entry.id).model  # every load is a fresh copy


def test_corrupt_and_foreign_files_are_reported_and_skipped(library, small_checkpoint):
    good = ckpt_io.save(library.user_dir / "x.safetensors", at_lam(small_checkpoint, 4.0)).read_bytes()
    os.remove(library.user_dir / "x.safetensors")
    (library.user_dir / "truncated.safetensors").write_bytes(good[: len(good) // 2])
    (library.user_dir / "garbage.safetensors").write_bytes(os.urandom(3000))
    (library.user_dir / "empty.safetensors").write_bytes(b"")
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(3)}, library.user_dir / "foreign.safetensors", metadata={"format": "other"})
    listing = library.listing()
    assert [e.lam for e in listing.entries] == [0.5, 1.0, 2.0, 3.0]
    problems = {p.name: p.message for p in listing.problems}
    assert set(problems) == {"truncated.safetensors", "garbage.safetensors", "empty.safetensors",
                             "foreign.safetensors"}
    assert "corrupt or truncated" in problems["truncated.safetensors"]
    assert "not a VAE Latent Explorer checkpoint" in problems["foreign.safetensors"]
    with pytest.raises(LibraryError, match="no model"):
        library.load("truncated")


def test_half_written_temp_files_are_ignored_and_swept(library, small_checkpoint):
    good = (library.user_dir / f"{library.entries()[1].id}.safetensors").read_bytes()
    tmp = library.user_dir / (".lam-4_e3_bce_k1_s0_abcdef12.safetensors.k2j3" + files.TEMP_SUFFIX)  # as saves name them
    tmp.write_bytes(good[:1000])
    assert len(library.entries()) == 4 and library.problems() == []
    assert library.sweep_temp_files(min_age_s=3600) == []  # may be a save in progress
    os.utime(tmp, (0, 0))
    assert library.sweep_temp_files(min_age_s=3600) == [tmp.name] and not tmp.exists()


def test_delete_removes_user_models_only(library):
    user = [e for e in library.entries() if not e.shipped]
    library.delete(user[0].id)
    assert not user[0].path.exists()
    assert [e.lam for e in library.entries()] == [0.5, 2.0, 3.0]
    with pytest.raises(LibraryError, match="shipped model and cannot be deleted"):
        library.delete("lam-0.5")
    assert (library.shipped_dir / "lam-0.5.safetensors").exists()


@pytest.mark.parametrize("bad_id", ["../pretrained/lam-0.5", "/etc/passwd", "lam-0.5/../lam-2", "..", "",
                                    ".hidden", "lam-1\x00", None, 3, ["lam-2"], "lam-9"])
def test_bad_ids_are_refused_before_the_filesystem(library, bad_id):
    before = sorted(p.name for p in library.shipped_dir.parent.rglob("*"))
    for action in (library.delete, library.load, library.get):
        with pytest.raises(LibraryError):
            action(bad_id)
    assert sorted(p.name for p in library.shipped_dir.parent.rglob("*")) == before


def test_a_user_file_named_like_a_shipped_one_is_skipped(library, small_checkpoint):
    ckpt_io.save(library.user_dir / "lam-2.safetensors", at_lam(small_checkpoint, 7.0))
    listing = library.listing()
    assert [e.lam for e in listing.entries] == [0.5, 1.0, 2.0, 3.0]
    assert [p.name for p in listing.problems] == ["lam-2.safetensors"]


def test_listing_follows_changes_on_disk(library, small_checkpoint):
    assert len(library.entries()) == 4
    path = library.entries()[1].path
    path.unlink()
    assert len(library.entries()) == 3
    ckpt_io.save(path, at_lam(small_checkpoint, 1.0, seed=5))  # replaced under the same name
    assert library.find(at_lam(small_checkpoint, 1.0, seed=5).config).path == path


def test_file_names_come_from_the_config_and_its_identity():
    assert file_stem(TrainConfig(lam=0.1 * 3, epochs=20)).startswith("lam-0.3_e20_bce_k1_s0_")
    assert file_stem(TrainConfig(lam=0.3, epochs=20)) == file_stem(TrainConfig(lam=0.1 * 3, epochs=20, device="cpu"))
    assert file_stem(TrainConfig(lam=0.3, epochs=20)) != file_stem(TrainConfig(lam=0.3, epochs=20, seed=1))
    assert file_stem(TrainConfig(lam=0.7, epochs=5)) == "lam-0.7_e5_bce_k1_s0_2f47ee5d"  # as earlier versions named it


def test_find_and_nearest(library, small_checkpoint):
    config = at_lam(small_checkpoint, 1.0).config
    assert library.find(config).lam == 1.0
    assert library.find(dataclasses.replace(config, threads=2)).lam == 1.0
    assert library.find(dataclasses.replace(config, seed=9)) is None
    assert [e.id for e in library.with_lam(0.5)] == ["lam-0.5"]
    assert library.nearest(dataclasses.replace(config, lam=0.6)).id == "lam-0.5"
    assert library.nearest(dataclasses.replace(config, lam=2.4)).id == "lam-2"
    assert library.nearest(dataclasses.replace(config, lam=2.6)).lam == 3.0
    other_net = dataclasses.replace(config, model=dataclasses.replace(config.model, hidden=(16,)))
    assert library.nearest(other_net) is None  # weights of another shape cannot warm-start
    other_dropout = dataclasses.replace(config, lam=0.6, model=dataclasses.replace(config.model, dropout=0.3))
    assert library.nearest(other_dropout).id == "lam-0.5"  # dropout leaves the weights' shapes alone


def test_one_listing_answers_every_question_without_the_folders(library, small_checkpoint):
    listing = library.listing()
    for path in list(library.user_dir.iterdir()) + list(library.shipped_dir.iterdir()):
        path.unlink()
    config = at_lam(small_checkpoint, 1.0).config
    assert listing.find(config).lam == 1.0 and [e.id for e in listing.with_lam(0.5)] == ["lam-0.5"]
    assert [e.lam for e in listing.warm_starts(dataclasses.replace(config, lam=2.4))] == [2.0, 3.0, 1.0, 0.5]
    assert listing.nearest(dataclasses.replace(config, lam=0.6)).id == "lam-0.5"
    assert library.get("lam-0.5", listing).lam == 0.5
    with pytest.raises(ckpt_io.CheckpointError, match="not found"):
        library.load("lam-0.5", listing)  # what the snapshot lists may be gone: loading says so
    assert library.listing().entries == ()


def test_a_named_pipe_is_skipped_without_blocking(library):
    os.mkfifo(library.user_dir / "p.safetensors")
    result = []
    reader = threading.Thread(target=lambda: result.append(library.listing()), daemon=True)
    reader.start()
    reader.join(10)
    assert result, "listing blocked on a named pipe"
    assert [(p.name, p.message) for p in result[0].problems] == [("p.safetensors", "not a regular file; skipped")]
    assert len(result[0].entries) == 4


def test_missing_folders_give_an_empty_library(tmp_path):
    lib = ModelLibrary(tmp_path / "none", tmp_path / "neither")
    assert lib.entries() == [] and lib.problems() == [] and lib.nearest(TrainConfig()) is None


def test_a_dial_is_listed_apart_from_the_models_the_page_explores(library, small_dial):
    ckpt_io.save(library.shipped_dir / "dial.safetensors", small_dial)
    listing = library.listing()
    assert [e.lam for e in listing.entries] == [0.5, 1.0, 2.0, 3.0]  # not a second model of lambda 1
    assert [(d.id, d.shipped, d.config.lam_range) for d in listing.dials] == [("dial", True, (0.01, 100.0))]
    assert listing.problems == () and library.with_lam(1.0)[0].id != "dial"
    assert all(e.id != "dial" for e in listing.warm_starts(small_dial.config))


def test_a_binarised_model_is_listed_apart_from_the_grey_scale_ones(library, small_checkpoint):
    ckpt_io.save(library.shipped_dir / "lam-1-binarized.safetensors", at_lam(small_checkpoint, 1.0, binarize=True))
    listing = library.listing()
    assert [e.lam for e in listing.entries] == [0.5, 1.0, 2.0, 3.0]  # not a second model of lambda 1
    assert [(e.id, e.shipped) for e in listing.binarized] == [("lam-1-binarized", True)]
    assert listing.problems == () and listing.dials == ()
    assert all(e.id != "lam-1-binarized" for e in (*library.with_lam(1.0), *listing.warm_starts(TrainConfig())))


def test_the_classifier_shipped_beside_the_models_is_not_listed_as_a_broken_model(library):
    from explorer import classifier
    record = classifier.Record(classifier.CnnConfig(channels=(2, 2), hidden=4), classifier.TrainSettings(), 0.5,
                               10, 1.0, "pytest")
    judge = classifier.Classifier(classifier.DigitCNN(record.architecture), record)
    before = library.listing().entries
    classifier.save(library.shipped_dir / classifier.SHIPPED.name, judge)
    listing = library.listing()
    assert listing.problems == () and listing.entries == before
    classifier.save(library.user_dir / classifier.SHIPPED.name, judge)  # in the user's folder it is no model
    assert [p.name for p in library.listing().problems] == [classifier.SHIPPED.name]
