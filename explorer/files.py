"""Files on disk: atomic writes, the sweep of their leftovers, and opening only regular files.

`write_atomic` writes a temp file in the target's folder, fsyncs it, then renames it over the
target, so a reader sees the old file or the new one, never half of one. A process killed
mid-save leaves only its temp file, named `.<target>.<random>.explorer.tmp`: never a model,
an asset or anything a reader opens, and removed by `sweep_temp_files`.

Readers open through `open_regular`: a named pipe or a device in a data or models folder
would otherwise block `open()` forever or stream without end.
"""
from __future__ import annotations

import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from safetensors import SafetensorError, safe_open

from .typed_json import Invalid

TEMP_SUFFIX = ".explorer.tmp"  # distinctive, so a sweep of a user's own folder (CLI --out) touches nothing else
DEFAULT_TEMP_AGE_S = 600.0  # a younger temp file may be a save still in progress in another process


class NotRegularFileError(OSError):
    """The path exists but is a directory, named pipe, socket or device, not a regular file."""


def write_atomic(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide the file from other users
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def is_temp_file(name: str) -> bool:
    """Whether a file name is one of `write_atomic`'s temp files."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def sweep_temp_files(folder: str | Path, min_age_s: float = DEFAULT_TEMP_AGE_S) -> list[str]:
    """Remove the temp files that killed saves left in `folder` (not in subfolders) and return
    their names. Only files at least `min_age_s` old go: a younger one may belong to a save in
    progress in another process. A missing folder has nothing to sweep."""
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        if not is_temp_file(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= min_age_s:
                os.unlink(entry.path)
                removed.append(entry.name)
        except FileNotFoundError:
            pass  # another sweep or the save itself got there first
    return removed


def check_regular(path: str | Path) -> os.stat_result:
    """stat() the path and refuse anything but a regular file (following symlinks), before any
    open(): opening a named pipe for reading blocks until a writer appears."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFileError(f"not a regular file ({_kind(st.st_mode)})")
    return st


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for reading. The open itself cannot block (O_NONBLOCK), and the
    opened file is checked again, so a path swapped for a pipe after `check_regular` is refused."""
    check_regular(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"not a regular file ({_kind(mode)})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]
    return next((name for test, name in kinds if test(mode)), "not a file")


@contextmanager
def reading_safetensors(path: Path, error: type[Exception], kind: str, max_header_bytes: int,
                        framework: str = "pt") -> Iterator:
    """`safe_open` of a regular file whose header size is within `max_header_bytes`; every failure
    inside the block, the reader's or the caller's validation (`Invalid`), leaves as one `error`
    naming the file ("not a readable <kind>" for a corrupt or truncated one)."""
    try:
        with open_regular(path) as f:  # never blocks, unlike safe_open on a named pipe
            size = int.from_bytes(f.read(8), "little")
        if size > max_header_bytes:
            raise Invalid(f"header of {size} bytes, over the {max_header_bytes}-byte limit")
        with safe_open(path, framework) as f:
            yield f
    except error:
        raise
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (NotRegularFileError, Invalid) as e:
        raise error(f"{path}: {e}") from None
    except (SafetensorError, ValueError) as e:
        raise error(f"{path}: not a readable {kind} (corrupt or truncated: {e})") from None
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror or e})") from None
