"""Atomic writes under kill -9, the sweep of their temp files, and opening only regular files."""
import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer import checkpoint as ckpt_io
from explorer.files import TEMP_SUFFIX, NotRegularFileError, is_temp_file, open_regular, sweep_temp_files, write_atomic

REPO = Path(__file__).resolve().parent.parent

# Saves checkpoint bytes in a loop, round-robin over three names in one folder, until killed.
# checkpoint.save is to_bytes() then write_atomic(); the bytes are made once by the test, so the
# child imports only explorer.files and each of the 20 rounds starts in milliseconds, not seconds.
_SAVER = """
import sys
from explorer.files import write_atomic
folder, *blob_paths = sys.argv[1:]
blobs = [open(p, "rb").read() for p in blob_paths]
print("ready", flush=True)
i = 0
while True:
    write_atomic(f"{folder}/m{i % 3}.safetensors", blobs[i % len(blobs)])
    i += 1
"""


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if is_temp_file(p.name))


def test_kill_9_during_saves_never_leaves_a_corrupt_file_and_the_sweep_leaves_no_temp(tmp_path, small_checkpoint):
    blobs = [ckpt_io.to_bytes(dataclasses.replace(small_checkpoint, command=f"run {i}")) for i in range(2)]
    blob_paths = []
    for i, blob in enumerate(blobs):
        (tmp_path / f"blob{i}").write_bytes(blob)
        blob_paths.append(str(tmp_path / f"blob{i}"))
    folder = tmp_path / "models"
    folder.mkdir()
    rng = random.Random(0)
    temps_seen: set[str] = set()
    for _ in range(20):
        child = subprocess.Popen([sys.executable, "-c", _SAVER, str(folder), *blob_paths], cwd=REPO,
                                 stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
        for path in folder.glob("m*.safetensors"):  # each model file is a whole save, or absent
            assert path.read_bytes() in blobs
        temps_seen |= set(_temp_files(folder))
    assert temps_seen  # the kills did land inside saves
    assert {ckpt_io.load(path).command for path in folder.glob("m*.safetensors")} <= {"run 0", "run 1"}
    assert sweep_temp_files(folder, min_age_s=600) == []  # too young: could be a save in progress elsewhere
    removed = sweep_temp_files(folder, min_age_s=0)
    assert sorted(removed) == sorted(temps_seen)
    assert _temp_files(folder) == []
    assert {p.name for p in folder.iterdir()} <= {"m0.safetensors", "m1.safetensors", "m2.safetensors"}


def test_sweep_removes_only_old_temp_files_of_writes(tmp_path):
    old, young = time.time() - 3600, time.time()
    names = {".m.safetensors.abc123de" + TEMP_SUFFIX: old,  # what a killed save leaves
             ".m.safetensors.zz9_xy12" + TEMP_SUFFIX: young,  # maybe a save in progress elsewhere
             ".notes.tmp": old,  # a user's own dotfile in an --out folder: not ours
             "m.safetensors": old,
             "x" + TEMP_SUFFIX: old}  # not hidden, so not a name write_atomic makes
    for name, mtime in names.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (mtime, mtime))
    (tmp_path / (".dir" + TEMP_SUFFIX)).mkdir()
    os.utime(tmp_path / (".dir" + TEMP_SUFFIX), (old, old))
    assert sweep_temp_files(tmp_path) == [".m.safetensors.abc123de" + TEMP_SUFFIX]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        set(names) - {".m.safetensors.abc123de" + TEMP_SUFFIX} | {".dir" + TEMP_SUFFIX})
    assert sweep_temp_files(tmp_path / "missing") == []
    assert sweep_temp_files(tmp_path / "m.safetensors") == []


def test_write_atomic_names_its_temp_file_for_the_sweep(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    path = write_atomic(tmp_path / "sub" / "a.bin", b"hello")
    assert path.read_bytes() == b"hello" and oct(path.stat().st_mode & 0o777) == "0o644"
    assert len(seen) == 1 and is_temp_file(seen[0]) and seen[0].startswith(".a.bin.")


def test_open_regular_refuses_pipes_folders_and_devices_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "file").write_bytes(b"abc")
    with open_regular(tmp_path / "file") as f:
        assert f.read() == b"abc"
    for path, kind in [(tmp_path / "pipe", "a named pipe"), (tmp_path, "a directory"),
                       (Path("/dev/null"), "a character device")]:
        with pytest.raises(NotRegularFileError, match=kind):
            open_regular(path)
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing")
