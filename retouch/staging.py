"""Atomic writes and hashing: files written to temporaries beside their targets, fsynced, and renamed into
place only when complete; files that belong together (an output, its XMP sidecar and its edit record)
are staged together, so all of them appear or none (a full disk above all: DiskFull leaves nothing).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from . import files
from .errors import DiskFull, PhotoError

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class Stage:
    """Files written to temporaries beside their targets (files.temporary_for), fsynced, and renamed into
    place only by `commit`: every one of them is complete on disk before the first appears. Use it
    through `staged`, which removes whatever was not committed."""

    def __init__(self) -> None:
        self._temporaries: dict[Path, Path] = {}     # target -> its temporary, in staging order

    @contextlib.contextmanager
    def file(self, path: str | os.PathLike) -> Iterator[BinaryIO]:
        """A read-write binary file staged for `path`. DiskFull (nothing left behind) when the disk is full."""
        path = Path(path)
        if path in self._temporaries:
            raise ValueError(f"{path}: staged twice")
        temporary = files.temporary_for(path)
        try:
            fh = open(temporary, "x+b")   # exclusive create; the umask sets the permissions, as for any new file
            self._temporaries[path] = temporary
            with fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as error:
            self._discard(path)
            if error.errno in _DISK_FULL:
                raise DiskFull(f"{path}: could not be written: the disk is full ({error.strerror})") from error
            raise
        except BaseException:
            self._discard(path)
            raise

    def data(self, path: str | os.PathLike, data: bytes) -> Path:
        """Stage `data` for `path`."""
        with self.file(path) as fh:
            fh.write(data)
        return Path(path)

    def temporary(self, path: str | os.PathLike) -> Path:
        """Where `path`'s staged content is until the commit (to hash or check it)."""
        return self._temporaries[Path(path)]

    def commit(self, order: tuple[str | os.PathLike, ...] = ()) -> None:
        """Rename every staged file into place: those named in `order` first, in that order, then the rest
        in the order they were staged; then make the renames durable."""
        first = [Path(path) for path in order]
        folders = set()
        for path in first + [path for path in self._temporaries if path not in first]:
            os.replace(self._temporaries.pop(path), path)
            folders.add(path.parent)
        for folder in folders:
            _fsync_folder(folder)

    def _discard(self, path: Path) -> None:
        temporary = self._temporaries.pop(path, None)
        if temporary is not None:
            temporary.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove every temporary not yet committed."""
        for path in list(self._temporaries):
            self._discard(path)


@contextlib.contextmanager
def staged() -> Iterator[Stage]:
    """A Stage whose files are committed when the block ends without error (unless the block committed
    them itself, in its own order) and removed on any error: all of them appear, or none."""
    stage = Stage()
    try:
        yield stage
        stage.commit()
    finally:
        stage.discard()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A read-write binary file that appears at `path` only once the block finishes without error.

    It is a temporary file in the same folder (so the final rename is atomic), fsynced and renamed over
    `path`; on any error it is removed and `path` is left as it was (DiskFull when the disk is full).
    """
    with staged() as stage, stage.file(path) as fh:
        yield fh


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); folders cannot be opened for fsync on Windows."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_folder(folder: str | os.PathLike) -> Path:
    """Make `folder` (and its parents) and prove that a file can be created, written and fsynced in it,
    before any work is spent on what is to go there; PhotoError naming it and the reason otherwise
    (read-only mount, immutable folder, a parent that is a file, permissions), DiskFull when it is full."""
    folder = Path(folder)
    stage = Stage()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stage.data(folder / "probe", b"\0")
    except OSError as error:
        raise PhotoError(f"{folder}: cannot write here ({error.strerror or error})") from None
    finally:
        stage.discard()
    return folder


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (see atomic_output). Returns the path."""
    with staged() as stage:
        stage.data(path, data)
    return Path(path)


def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a regular file (files.open_regular: anything else is refused), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with files.open_regular(path) as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
