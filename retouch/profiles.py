"""Colour profiles: a photo's pixels into the one working space and back to its own profile on write.

The working space is sRGB, unbounded: sRGB's primaries and white, its tone curve mirrored through zero for
negative values, values below 0 and above 1 kept. Every threshold of the edits and measures was tuned on
sRGB pixels, so an Adobe RGB or ProPhoto photo is analysed, edited and measured as the same scene given in
sRGB would be. A colour outside sRGB's gamut (a saturated dress in ProPhoto) has a channel below 0 or above
1 instead of being clipped, so a pixel no edit touches goes back to its file's profile exactly as it came.
Edits clip what they make to 0..1, within their own masks (skin, eyes, teeth, backdrop): a saturated colour
an edit does reach comes back within sRGB's gamut there, as the edit's decision; measures and face analysis
clip when they convert to Lab or to 8 bits. Values stay float32 from decoding to quantisation, so 16 bits
survive: a pixel no edit touches returns within one 16-bit level on the test portraits. (Float32 carries
light, not code values: the near-black channel of a saturated colour, under a pure gamma curve, can come
back a few levels off, a difference of about 1e-9 in light.)

Profiles are read here, not by LittleCMS: Pillow's ImageCms converts 8-bit RGB only (no 16-bit, no float
modes), and LittleCMS's float transforms are reachable only by loading its library by path (ctypes; the
tests and benchmarks/bench_colour.py do, to check this code and compare costs). The profiles photographers
export in (sRGB, Adobe RGB, ProPhoto, Display P3, Rec. 2020) are matrix/TRC profiles: three colorants
(D50-adapted XYZ) and three tone curves (a gamma, a parametric curve, or a table), evaluated here with numpy
and OpenCV; the result agrees with LittleCMS's within one 8-bit level (tests/test_colour_management.py). A
profile that is not one (LUT-based, grey, CMYK) raises ProfileError; read then keeps the pixels as they are
and says so.
"""
from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import ImageCms

SAME_AS_WORKING = 0.5 / 255   # a profile whose conversion moves no test colour further is sRGB already
_BAND = 1 << 20               # pixels converted at a time: bounded temporaries on a 24-megapixel frame


class ProfileError(ValueError):
    """An ICC profile that cannot be used to convert (damaged, or not a matrix/TRC RGB profile)."""


@dataclass(frozen=True)
class Curve:
    """One channel's tone curve: encoded value (0..1) -> linear light.

    Parametric (`params` = g, a, b, c, d, e, f: (aX+b)^g + e for X >= d, else cX + f, the ICC's most
    general form; a plain gamma is g, 1, 0, 0, 0, 0, 0) or a table of samples over 0..1 (`table`)."""

    params: tuple[float, ...] = ()
    table: tuple[float, ...] = ()

    def linear(self, encoded: np.ndarray) -> np.ndarray:
        """Linear light of `encoded` values in 0..1 (float32)."""
        if self.table:
            return np.interp(encoded, np.linspace(0.0, 1.0, len(self.table)), self.table).astype(np.float32)
        g, a, b, c, d, e, f = self.params
        powered = _power(encoded * np.float32(a) + np.float32(b), g) + np.float32(e)
        return np.where(encoded >= d, powered, encoded * np.float32(c) + np.float32(f)).astype(np.float32)

    def encoded(self, linear: np.ndarray) -> np.ndarray:
        """The encoded values (0..1, float32) of `linear` light, clipped to what the curve can encode."""
        low, high = (float(v) for v in self.linear(np.array([0.0, 1.0], np.float32)))
        linear = np.clip(linear, low, high)
        if self.table:
            return np.interp(linear, self.table, np.linspace(0.0, 1.0, len(self.table))).astype(np.float32)
        g, a, b, c, d, e, f = self.params
        knee = float(self.linear(np.array([d], np.float32))[0]) if d > 0 else low
        powered = (_power(np.maximum(linear - np.float32(e), 0.0), 1.0 / g) - np.float32(b)) / np.float32(a)
        straight = (linear - np.float32(f)) / np.float32(c) if c else np.full_like(linear, d)
        return np.clip(np.where(linear >= knee, powered, straight), 0.0, 1.0).astype(np.float32)


def _power(values: np.ndarray, exponent: float) -> np.ndarray:
    """values ** exponent for values >= 0 (negatives count as 0), float32, by OpenCV (numpy's is slower)."""
    values = np.maximum(values, 0.0, dtype=np.float32)
    return cv2.pow(values.reshape(-1, 1), exponent).reshape(values.shape)


@dataclass(frozen=True)
class RGBSpace:
    """A matrix/TRC RGB profile: its name, its three tone curves and its linear RGB -> XYZ (D50) matrix."""

    name: str
    curves: tuple[Curve, Curve, Curve]
    matrix: np.ndarray


def _tags(icc: bytes) -> dict[bytes, bytes]:
    """The profile's tags by signature, each its data (type signature first)."""
    if len(icc) < 132 or struct.unpack(">I", icc[:4])[0] > len(icc):
        raise ProfileError("too short to be an ICC profile")
    count = struct.unpack(">I", icc[128:132])[0]
    if 132 + 12 * count > len(icc):
        raise ProfileError("its tag table runs past its end")
    tags = {}
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", icc[132 + 12 * index:144 + 12 * index])
        if offset + size > len(icc):
            raise ProfileError(f"its {signature.decode('latin-1')!r} tag runs past its end")
        tags[signature] = icc[offset:offset + size]
    return tags


def _s15(data: bytes, count: int, at: int = 8) -> list[float]:
    """`count` s15Fixed16 numbers from `data` at byte `at`."""
    return [value / 65536 for value in struct.unpack(f">{count}i", data[at:at + 4 * count])]


_PARAMETRIC = {   # ICC parametricCurveType function -> (g, a, b, c, d, e, f) from its own parameters
    0: lambda g: (g, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    1: lambda g, a, b: (g, a, b, 0.0, -b / a, 0.0, 0.0),
    2: lambda g, a, b, c: (g, a, b, 0.0, -b / a, c, c),
    3: lambda g, a, b, c, d: (g, a, b, c, d, 0.0, 0.0),
    4: lambda g, a, b, c, d, e, f: (g, a, b, c, d, e, f),
}


def _curve(data: bytes) -> Curve:
    kind = data[:4]
    if kind == b"curv":
        count = struct.unpack(">I", data[8:12])[0]
        if count == 0:
            return Curve(params=(1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0))
        if count == 1:
            return Curve(params=_PARAMETRIC[0](struct.unpack(">H", data[12:14])[0] / 256))
        table = struct.unpack(f">{count}H", data[12:12 + 2 * count])
        return Curve(table=tuple(value / 65535 for value in table))
    if kind == b"para":
        function = struct.unpack(">H", data[8:10])[0]
        if function not in _PARAMETRIC:
            raise ProfileError(f"parametric curve function {function} is not one the ICC defines")
        count = _PARAMETRIC[function].__code__.co_argcount
        return Curve(params=_PARAMETRIC[function](*_s15(data, count, at=12)))
    raise ProfileError(f"tone curve of type {kind.decode('latin-1')!r} is not a curve or parametric curve")


def _description(icc: bytes) -> str:
    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() or "unnamed"
    except (ImageCms.PyCMSError, OSError, TypeError):
        return "unnamed"


def parse(icc: bytes) -> RGBSpace:
    """The matrix/TRC model of an RGB ICC profile; ProfileError naming what is missing or wrong."""
    try:
        tags = _tags(icc)
        if icc[16:20] != b"RGB ":
            raise ProfileError(f"a {icc[16:20].decode('latin-1').strip()!r} profile, not an RGB one")
        missing = [tag.decode() for tag in (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")
                   if tag not in tags]
        if missing:
            raise ProfileError(f"not a matrix/TRC profile (no {', '.join(missing)} tag): LUT-based profiles "
                               "are not converted")
        matrix = np.array([_s15(tags[tag], 3) for tag in (b"rXYZ", b"gXYZ", b"bXYZ")], np.float64).T
        curves = tuple(_curve(tags[tag]) for tag in (b"rTRC", b"gTRC", b"bTRC"))
    except (struct.error, KeyError, ZeroDivisionError) as error:
        raise ProfileError(f"damaged ({error})") from None
    if not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-6:
        raise ProfileError("its colorants do not span a colour space")
    return RGBSpace(_description(icc), curves, matrix)


@functools.cache
def working() -> RGBSpace:
    """sRGB as LittleCMS builds it (Pillow's ImageCms): the working space's primaries and tone curve."""
    return parse(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def _working_linear(values: np.ndarray) -> np.ndarray:
    """Working-space values -> linear light, sRGB's curve mirrored through zero (unbounded)."""
    return np.copysign(working().curves[0].linear(np.abs(values)), values).astype(np.float32)


def _working_encoded(linear: np.ndarray) -> np.ndarray:
    """Linear light -> working-space values, sRGB's curve mirrored through zero and continued above 1."""
    g, a, b, c, d, _, _ = working().curves[0].params
    size = np.abs(linear)
    powered = (_power(size, 1.0 / g) - np.float32(b)) / np.float32(a)
    encoded = np.where(size >= d * c, powered, size / np.float32(c))
    return np.copysign(encoded, linear).astype(np.float32)


@dataclass(frozen=True)
class Conversion:
    """Between a photo's own profile and the working space."""

    space: RGBSpace
    into: np.ndarray    # linear: the profile's RGB -> working RGB
    back: np.ndarray    # linear: working RGB -> the profile's RGB

    def to_working(self, pixels: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """HxWx3 float32 values in the profile (0..1) -> working-space values (may leave 0..1), into `out`
        where given (`pixels` itself: converted in place)."""
        return _by_bands(pixels, self._into, out)

    def from_working(self, pixels: np.ndarray) -> np.ndarray:
        """HxWx3 float32 working-space values -> the profile's values (0..1; colours beyond its gamut
        clipped to it)."""
        return _by_bands(pixels, self._back, None)

    def _into(self, band: np.ndarray) -> np.ndarray:
        return _working_encoded(cv2.transform(self._per_channel(band, Curve.linear), self.into))

    def _back(self, band: np.ndarray) -> np.ndarray:
        return self._per_channel(cv2.transform(_working_linear(band), self.back), Curve.encoded)

    def _per_channel(self, band: np.ndarray, method) -> np.ndarray:
        """`method` of each channel's curve on that channel (in one pass where the three are the same)."""
        red, green, blue = self.space.curves
        if red == green == blue:
            return method(red, band)
        return np.dstack([method(curve, band[..., channel]) for channel, curve in enumerate(self.space.curves)])


def _by_bands(pixels: np.ndarray, convert, out: np.ndarray | None) -> np.ndarray:
    out = np.empty(pixels.shape, np.float32) if out is None else out
    rows = max(1, _BAND // max(1, pixels.shape[1]))
    for start in range(0, pixels.shape[0], rows):
        out[start:start + rows] = convert(np.ascontiguousarray(pixels[start:start + rows], np.float32))
    return out


@functools.lru_cache(maxsize=16)
def conversion(icc: bytes) -> Conversion | None:
    """How pixels of a photo with profile `icc` reach the working space and come back; None when the
    profile is sRGB already (no test colour moves by SAME_AS_WORKING), so its pixels are used as they are.
    ProfileError when the profile cannot be used."""
    space = parse(icc)
    into = np.linalg.solve(working().matrix, space.matrix).astype(np.float32)
    found = Conversion(space, into, np.linalg.inv(into.astype(np.float64)).astype(np.float32))
    levels = np.linspace(0.0, 1.0, 9, dtype=np.float32)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    if np.abs(found.to_working(grid) - grid).max() < SAME_AS_WORKING:
        return None
    return found
