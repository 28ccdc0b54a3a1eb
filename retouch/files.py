"""The files around photos: what may be read, how temporaries are named and swept, and who may write a folder.

Every path retouch reads (photos, presets, edit records, decisions files, backdrop images) goes through
`regular` or `open_regular` first: only a regular file is read, so a FIFO, a device or a folder given in
its place is refused at once instead of blocking on it or reading forever. `open_regular` opens without
blocking and checks the opened descriptor, so the file cannot be swapped between the check and the read.

Temporaries are `.NAME.XXXXXXXX.tmp` beside their target, NAME shortened where needed so the whole name
fits the file system's 255-byte limit; a process killed mid-write leaves one behind, and `sweep` removes
such leftovers. `FolderLock` lets one batch at a time write an output folder (the holder's PID is in the
lock file).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import socket
import stat
from pathlib import Path
from typing import Any, BinaryIO

NAME_MAX = 255                      # bytes in one file name (ext4, XFS, Btrfs, APFS, NTFS)
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{8}\.tmp", re.DOTALL)
_TAIL = len(".01234567.tmp")
LOCK_NAME = ".retouch.lock"


class FileReadError(ValueError):
    """A path that exists but cannot be read as the file it should be; one line naming it."""


class FolderError(Exception):
    """An output folder that is in use by another run (or whose lock cannot be taken); one line naming it."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _refusal(path: Path, mode: int) -> FileReadError:
    return FileReadError(f"{path}: not a file ({_kind(mode)}); only regular files are read")


def regular(path: str | os.PathLike) -> int:
    """The size of `path` if it is a regular file (symlinks followed); FileNotFoundError naming it if
    there is nothing there, FileReadError if it is something else or cannot be looked at."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except OSError as error:
        raise FileReadError(f"{path}: cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        raise _refusal(path, info.st_mode)
    return info.st_size


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """`path` opened for binary reading, only if it is a regular file (see the module doc)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except OSError as error:
        raise FileReadError(f"{path}: cannot be read ({error.strerror or error})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _refusal(path, mode)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bytes(path: str | os.PathLike, *, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes (FileReadError above it)."""
    with open_regular(path) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as error:
            raise FileReadError(f"{path}: cannot be read ({error.strerror or error})") from None
    if len(data) > limit:
        raise FileReadError(f"{path}: too large for a {what} (more than {limit:,} bytes)")
    return data


def read_text(path: str | os.PathLike, *, limit: int, what: str = "file") -> str:
    """A regular UTF-8 text file of at most `limit` bytes."""
    data = read_bytes(path, limit=limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileReadError(f"{path}: {what} is not UTF-8 text ({error.reason} at byte {error.start})") from None


def load_json(path: str | os.PathLike, *, limit: int, what: str) -> Any:
    """A regular JSON file of at most `limit` bytes; FileReadError for anything that is not JSON, including
    nesting too deep to parse."""
    text = read_text(path, limit=limit, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FileReadError(f"{path}: {what} is not valid JSON ({error})") from None
    except RecursionError:
        raise FileReadError(f"{path}: {what} is nested too deeply to be read") from None


# ------------------------------------------------------------------------------------------ temporaries

def _fit(name: str, budget: int) -> str:
    """`name` cut (on a character boundary) to at most `budget` bytes in the file system's encoding."""
    encoded = os.fsencode(name)
    return name if len(encoded) <= budget else encoded[:budget].decode("utf-8", "ignore")


def temporary_for(path: Path) -> Path:
    """A fresh temporary name beside `path`: `.NAME.XXXXXXXX.tmp`, within NAME_MAX bytes."""
    return path.with_name("." + _fit(path.name, NAME_MAX - 1 - _TAIL) + f".{secrets.token_hex(4)}.tmp")


def is_temporary(name: str) -> bool:
    """Whether a file name is one of our temporaries (see temporary_for)."""
    return bool(_TEMPORARY.fullmatch(name))


def sweep(folder: Path, *, names: tuple[str, ...] | None = None) -> list[Path]:
    """Remove temporaries left under `folder` (its whole tree) by a process that was killed mid-write; with
    `names`, only those of files with these names, in `folder` alone. Returns what was removed. Run it where
    no other writer can be at work (under FolderLock, or for one's own target)."""
    if names is None:
        found = [Path(root) / name for root, _, files in os.walk(folder) for name in files if is_temporary(name)]
    else:
        prefixes = {"." + _fit(name, NAME_MAX - 1 - _TAIL) for name in names}
        found = [entry for entry in (folder.iterdir() if folder.is_dir() else ())
                 if is_temporary(entry.name) and entry.name[:-_TAIL] in prefixes]
    removed = []
    for path in found:
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass    # gone already, or not ours to remove: it does no harm where it is
    return removed


# ----------------------------------------------------------------------------------------- output folders

class FolderLock:
    """An exclusive lock on an output folder (`.retouch.lock`, flock), naming its holder's PID and host.

    The kernel releases it when the holder exits however it ends, so a killed run leaves no stale lock."""

    def __init__(self, folder: str | os.PathLike, *, what: str = "a retouch batch"):
        self.path, self.what, self._fd = Path(folder) / LOCK_NAME, what, None

    def __enter__(self) -> "FolderLock":
        if self._fd is None:
            self.acquire()
        return self

    def acquire(self) -> None:
        """Take the lock now (FolderError naming the holder when another process has it)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise FolderError(f"{self.path}: cannot be opened ({error.strerror or error})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FolderError(f"{self.path}: not a regular file; remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise FolderError(f"{self.path.parent}: {self.what} is already writing here ({holder}); wait for "
                              "it to finish, or choose another output folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)      # releases the lock; the file stays (removing it would race a waiter)
            self._fd = None
