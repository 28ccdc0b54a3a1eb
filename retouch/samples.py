"""Sample photos for the demo and the tests: four public-domain portraits, and real DNGs made from any image.

astronaut: skimage.data.astronaut() (NASA, public domain, 512x512); grace_hopper: matplotlib's
sample_data/grace_hopper.jpg (US Navy, public domain, 512x600). Both come with the dev dependencies,
so they are imported only when asked for. obama (darker skin, tight curly hair, a well-known mole) and
biden (light skin, white hair) are official portraits, US government works, taken from the
`face_recognition==1.3.0` sdist's test images at set-up (`make photos`, sha256 checked), never at run time.

`write_dng` turns an RGB image into the raw file a camera would have written: linear light, scaled by
a sensor's response to white (so it needs white balance), RGGB Bayer mosaic, 14-bit with a black level,
plus the DNG tags LibRaw needs to render it (ColorMatrix1, AsShotNeutral, ...) and an embedded preview.
"""
from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

from .color import to_linear
from .fetch import DEFAULT_CACHE, FetchError, cached_package, checked, sha256, write_atomically
from .exif import append_tiff_exif
from .io import unit_float, write
from .staging import atomic_output, write_bytes_atomic
from .photo import Photo

SENSOR_RESPONSE = (0.55, 1.0, 0.75)   # raw R, G, B for white: a daylight-ish camera, so the DNG needs WB
BLACK_LEVEL = 256
WHITE_LEVEL = 16383                   # 14-bit sensor
PREVIEW_LONG_SIDE = 1024
XYZ_TO_LINEAR_SRGB = np.array([[3.2404542, -1.5371385, -0.4985314],
                               [-0.9692660, 1.8760108, 0.0415560],
                               [0.0556434, -0.2040259, 1.0572252]])
_D65 = 21                             # CalibrationIlluminant code
_CFA_RGGB = (0, 1, 1, 2)


def astronaut_rgb() -> np.ndarray:
    """skimage's astronaut portrait, uint8 RGB 512x512."""
    from skimage import data
    return data.astronaut()


def grace_hopper_path() -> Path:
    """matplotlib's grace_hopper.jpg."""
    import matplotlib
    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def grace_hopper_rgb() -> np.ndarray:
    """matplotlib's Grace Hopper portrait, uint8 RGB, 512 wide and 600 high."""
    with Image.open(grace_hopper_path()) as image:
        return np.asarray(image.convert("RGB"))


SDIST_REQUIREMENT = "face_recognition==1.3.0"
SDIST_GLOB = "face_recognition-1.3.0.tar.gz"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
SDIST_PHOTOS = {   # name -> (member of the sdist, sha256 of the JPEG)
    "obama": ("face_recognition-1.3.0/tests/test_images/obama.jpg",
              "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6"),
    "biden": ("face_recognition-1.3.0/tests/test_images/biden.jpg",
              "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"),
}
PHOTOS_ENV = "RETOUCH_PHOTOS"
DEFAULT_PHOTOS = Path(__file__).resolve().parents[1] / ".cache" / "photos"


def photos_folder() -> Path:
    """Where the fetched portraits live: $RETOUCH_PHOTOS if set, else .cache/photos in the checkout."""
    return Path(os.environ.get(PHOTOS_ENV) or DEFAULT_PHOTOS)


def portrait_path(name: str) -> Path:
    """The fetched JPEG of `name` (obama or biden); FetchError saying how to fetch it when missing."""
    path = photos_folder() / f"{name}.jpg"
    if not path.is_file():
        raise FetchError(f"{path}: test portrait {name!r} is missing; run `make photos` "
                         "(python -m retouch.samples) to fetch it")
    return path


def portrait_rgb(name: str) -> np.ndarray:
    """A fetched public-domain portrait (obama, biden), uint8 RGB."""
    with Image.open(portrait_path(name)) as image:
        return np.asarray(image.convert("RGB"))


def fetch_portraits(folder: Path | None = None, *, cache: Path = DEFAULT_CACHE) -> list[Path]:
    """Make sure `folder` (default photos_folder()) holds every SDIST_PHOTOS JPEG, checked; the paths written."""
    folder = Path(folder) if folder is not None else photos_folder()
    missing = {name: entry for name, entry in SDIST_PHOTOS.items()
               if not ((folder / f"{name}.jpg").is_file()
                       and sha256((folder / f"{name}.jpg").read_bytes()) == entry[1])}
    if not missing:
        return []
    sdist = cached_package(SDIST_REQUIREMENT, SDIST_GLOB, cache, source=True)
    archive_bytes = checked(sdist.read_bytes(), SDIST_SHA256, str(sdist))
    written = []
    with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:gz") as archive:
        for name, (member, digest) in missing.items():
            data = checked(archive.extractfile(member).read(), digest, f"{sdist}: {member}")
            write_atomically(folder / f"{name}.jpg", data)
            written.append(folder / f"{name}.jpg")
    return written


def bayer_mosaic(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 -> HxW RGGB mosaic: each photosite keeps only its filter's channel."""
    mosaic = rgb[..., 1].copy()
    mosaic[0::2, 0::2] = rgb[0::2, 0::2, 0]
    mosaic[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return mosaic


def _rationals(values, denominator: int = 10000) -> list[int]:
    """Flat numerator, denominator pairs, as tifffile wants (S)RATIONAL values."""
    return [part for value in np.ravel(values) for part in (int(round(value * denominator)), denominator)]


def write_dng(rgb: np.ndarray, path: str | Path, *, iso: int = 100) -> Path:
    """Write `rgb` (sRGB-encoded: uint8, uint16 or float 0..1, HxWx3) as a DNG that LibRaw reads.

    IFD0 holds an 8-bit RGB preview (long side up to PREVIEW_LONG_SIDE) with the DNG and EXIF tags
    (ISO in the EXIF IFD); its SubIFD holds the 14-bit RGGB mosaic with black and white levels.
    ColorMatrix1 maps XYZ to the sensor's RGB (linear sRGB times SENSOR_RESPONSE) under D65, and
    AsShotNeutral is SENSOR_RESPONSE, so a LibRaw render with the camera's white balance gives back
    the image (up to demosaicking).
    """
    pixels = np.clip(unit_float(np.asarray(rgb)), 0.0, 1.0)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"{path}: write_dng needs HxWx3 RGB, got shape {pixels.shape}")
    response = np.array(SENSOR_RESPONSE, np.float32)
    sensor = bayer_mosaic(to_linear(pixels) * response)
    mosaic = np.round(BLACK_LEVEL + sensor * (WHITE_LEVEL - BLACK_LEVEL)).astype(np.uint16)
    height, width = pixels.shape[:2]
    scale = min(1.0, PREVIEW_LONG_SIDE / max(height, width))
    preview = cv2.resize((pixels * 255 + 0.5).astype(np.uint8),
                         (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA)
    dng_tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),                                   # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),                                   # DNGBackwardVersion
        (50708, "s", 0, "retouch synthetic camera", True),                     # UniqueCameraModel
        (50721, "2i", 9, _rationals(np.diag(response) @ XYZ_TO_LINEAR_SRGB), True),  # ColorMatrix1
        (50728, "2I", 3, _rationals(response), True),                          # AsShotNeutral
        (50778, "H", 1, _D65, True),                                           # CalibrationIlluminant1
    ]
    mosaic_tags = [
        (33421, "H", 2, (2, 2), True),                                         # CFARepeatPatternDim
        (33422, "B", 4, _CFA_RGGB, True),                                      # CFAPattern
        (50714, "H", 1, BLACK_LEVEL, True),                                    # BlackLevel
        (50717, "H", 1, WHITE_LEVEL, True),                                    # WhiteLevel
    ]
    exif = Image.Exif()
    exif.update({271: "retouch", 272: "synthetic camera", 274: 1})            # Make, Model, Orientation
    exif.get_ifd(0x8769)[34855] = iso                                          # EXIF IFD: ISOSpeedRatings
    with atomic_output(path) as fh:
        with tifffile.TiffWriter(fh, byteorder="<") as tiff:
            tiff.write(preview, photometric="rgb", subfiletype=1, subifds=1, extratags=dng_tags,
                       metadata=None, software=False)
            tiff.write(mosaic, photometric="cfa", subfiletype=0, extratags=mosaic_tags,
                       metadata=None, software=False)
        append_tiff_exif(fh, exif.tobytes())
    return Path(path)


def write_sample_session(folder: str | Path) -> list[Path]:
    """A session folder for `make demo`: both portraits as JPEGs and a DNG of Grace Hopper.

    Files already there are replaced. Returns the paths written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    astronaut = write(Photo(unit_float(astronaut_rgb())), folder / "astronaut.jpg", quality=95,
                      allow_overwrite=True)
    hopper = write_bytes_atomic(folder / "grace_hopper.jpg", grace_hopper_path().read_bytes())
    raw = write_dng(grace_hopper_rgb(), folder / "grace_hopper_raw.dng", iso=400)
    return [astronaut, hopper, raw]


def main() -> int:
    """Set-up step (`make photos`): fetch the sdist portraits into photos_folder()."""
    try:
        for path in fetch_portraits():
            print(f"retouch: test portrait written to {path} (sha256 verified)")
    except (FetchError, OSError, tarfile.TarError, KeyError) as error:
        print(f"retouch: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
