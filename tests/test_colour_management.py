"""Colour management (issue 18): a photo in Adobe RGB or ProPhoto RGB is analysed, edited and measured as the
same photo given in sRGB, and comes back in its own profile with its 16 bits.

Each portrait (obama: darker skin; biden: light skin) is written three times as a 16-bit TIFF, as a
Lightroom or Capture One Edit-In copy is: in sRGB, in Adobe RGB (Debian's icc-profiles-free
compatibleWithAdobeRGB1998.icc; a profile LittleCMS builds from Adobe RGB's primaries where the package is
missing) and in ProPhoto RGB (built here by LittleCMS from ProPhoto's primaries, D50 white and gamma 1.8),
the ProPhoto copy with a patch of green far outside sRGB's gamut in a corner. The copies are converted by
LittleCMS's own float transform (through ctypes), not by the code under test. Each is retouched with the
natural preset through job.retouch_file, as `apply` and `batch` do.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

import PIL
from portraits import photo as portrait, side_by_side
from retouch import io, presets, profiles, record
from retouch.color import delta_e_rgb
from retouch.job import retouch_file
from retouch.measure import measure, reference, worst
from retouch.photo import Photo
from retouch.pipeline import Result, retouch

pytestmark = pytest.mark.timeout(300)

PRESET = Path(__file__).resolve().parent.parent / "presets" / "natural.toml"
ADOBE_FILE = Path("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc")
D65, D50 = (0.3127, 0.3290), (0.3457, 0.3585)
ADOBE = (D65, ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), 563 / 256)
PROPHOTO = (D50, ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)), 1.8)
PATCH = (slice(0, 48), slice(0, 48))                 # top-left corner, far from the faces
PATCH_COLOUR = (0.10, 0.85, 0.15)                    # ProPhoto values: a green sRGB cannot show
PROFILES = ("adobe", "prophoto")
PHOTOS = ("obama", "biden")
AT_THE_LINE = 0.55                                   # blemish confidence: 0.5 is "unclear"


# --- LittleCMS, reached directly: builds the profiles and makes the copies ---------------------------------

class _XyY(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double), ("Y", ctypes.c_double)]


TYPE_RGB_FLT = (1 << 22) | (4 << 16) | (3 << 3) | 4   # FLOAT_SH(1), COLORSPACE_SH(PT_RGB), CHANNELS_SH(3), BYTES_SH(4)
INTENT_RELATIVE_COLORIMETRIC = 1


@functools.cache
def lcms() -> ctypes.CDLL:
    """The LittleCMS library: the system's, else the copy Pillow's wheel carries."""
    candidates = [ctypes.util.find_library("lcms2"),
                  *glob.glob(os.path.join(os.path.dirname(PIL.__file__), "..", "pillow.libs", "liblcms2*")),
                  *glob.glob(os.path.join(os.path.dirname(PIL.__file__), ".dylibs", "liblcms2*"))]
    for candidate in filter(None, candidates):
        try:
            lib = ctypes.CDLL(candidate)
        except OSError:
            continue
        for name, restype, argtypes in [
                ("cmsBuildGamma", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_double]),
                ("cmsCreateRGBProfile", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]),
                ("cmsSaveProfileToMem", ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]),
                ("cmsOpenProfileFromMem", ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_uint32]),
                ("cmsCreate_sRGBProfile", ctypes.c_void_p, []),
                ("cmsCreateTransform", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p,
                                                         ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]),
                ("cmsDoTransform", None, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]),
                ("cmsDeleteTransform", None, [ctypes.c_void_p]), ("cmsCloseProfile", ctypes.c_int, [ctypes.c_void_p]),
                ("cmsFreeToneCurve", None, [ctypes.c_void_p])]:
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
        return lib
    pytest.skip("LittleCMS (liblcms2) not found to build the test profiles")


def built_profile(white, primaries, gamma: float) -> bytes:
    """A matrix/TRC RGB profile made by LittleCMS from its white point, primaries (xy) and a gamma curve."""
    lib = lcms()
    curve = lib.cmsBuildGamma(None, gamma)
    handle = lib.cmsCreateRGBProfile(ctypes.byref(_XyY(*white, 1.0)),
                                     (_XyY * 3)(*(_XyY(x, y, 1.0) for x, y in primaries)),
                                     (ctypes.c_void_p * 3)(curve, curve, curve))
    size = ctypes.c_uint32(0)
    lib.cmsSaveProfileToMem(handle, None, ctypes.byref(size))
    buffer = ctypes.create_string_buffer(size.value)
    assert lib.cmsSaveProfileToMem(handle, buffer, ctypes.byref(size))
    lib.cmsCloseProfile(handle)
    lib.cmsFreeToneCurve(curve)
    return buffer.raw


@functools.cache
def icc(name: str) -> bytes:
    if name == "adobe":
        return ADOBE_FILE.read_bytes() if ADOBE_FILE.exists() else built_profile(*ADOBE)
    return built_profile(*PROPHOTO)


def from_srgb(pixels: np.ndarray, profile: bytes) -> np.ndarray:
    """sRGB float pixels -> the profile's values, by LittleCMS's float transform (relative colorimetric)."""
    lib = lcms()
    source, target = lib.cmsCreate_sRGBProfile(), lib.cmsOpenProfileFromMem(profile, len(profile))
    transform = lib.cmsCreateTransform(source, TYPE_RGB_FLT, target, TYPE_RGB_FLT, INTENT_RELATIVE_COLORIMETRIC, 0)
    data = np.ascontiguousarray(pixels, np.float32)
    out = np.empty_like(data)
    lib.cmsDoTransform(transform, data.ctypes.data, out.ctypes.data, data.size // 3)
    lib.cmsDeleteTransform(transform)
    lib.cmsCloseProfile(source)
    lib.cmsCloseProfile(target)
    return out


def sixteen(pixels: np.ndarray) -> np.ndarray:
    return (np.clip(pixels, 0.0, 1.0) * 65535 + 0.5).astype(np.uint16)


# --- the copies and their retouches ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("colour")


@functools.cache
def copy(folder: Path, name: str, space: str) -> tuple[Path, np.ndarray]:
    """The portrait as a 16-bit TIFF in `space` ("srgb", "adobe", "prophoto"): its path and its values."""
    pixels = portrait(name).pixels
    values = sixteen(pixels) if space == "srgb" else sixteen(from_srgb(pixels, icc(space)))
    if space == "prophoto":
        values[PATCH] = sixteen(np.array(PATCH_COLOUR, np.float32))
    path = folder / f"{name}-{space}.tif"
    tifffile.imwrite(path, values, photometric="rgb", iccprofile=None if space == "srgb" else icc(space))
    return path, values


@functools.cache
def retouched(folder: Path, name: str, space: str) -> tuple[Photo, Result, dict, Path]:
    """The copy read and retouched with the natural preset without the guard (every step at its requested
    strength, so the two runs are compared edit for edit), its measures against the original, and the
    result written beside it (a 16-bit TIFF in the copy's profile).

    Without the guard because the guard's own decisions sit on a knife edge on biden: noise of +-40 16-bit
    levels on the sRGB copy itself (0.15 of an 8-bit level) backs skin off to 0.35 for a mark at (513, 468),
    and a copy differing by as little takes that or another back-off; `test_the_guarded_job_...` runs it."""
    source, _ = copy(folder, name, space)
    photo = io.read(source)
    result = retouch(photo, presets.load(PRESET), guard=False)
    summary = worst(measure(reference(photo.pixels, result.faces), result.pixels))
    output = io.write(photo.with_pixels(result.pixels), folder / f"{name}-{space}-out.tif")
    return photo, result, summary, output


def judged(result: Result) -> list[dict]:
    """Every mark the blemish step judged (x, y, kind, confidence, action)."""
    return [mark for step in result.as_dict()["steps"] for mark in step.get("details", {}).get("marks", [])]


def near(mark: dict, marks: list[dict], reach: float = 2.0) -> list[dict]:
    return [other for other in marks if abs(other["x"] - mark["x"]) <= reach and abs(other["y"] - mark["y"]) <= reach]


def outside_patch(array: np.ndarray) -> np.ndarray:
    keep = np.ones(array.shape[:2], bool)
    keep[PATCH] = False
    return array[keep]


# --- the conversion itself ----------------------------------------------------------------------------------

@pytest.mark.parametrize("space", PROFILES)
def test_conversion_agrees_with_littlecms(space):
    """Our conversion of 8-bit colours into sRGB is LittleCMS's (ImageCms) within one 8-bit level wherever
    the colour lies inside sRGB (LittleCMS's 8-bit transform clips the rest)."""
    values = np.random.default_rng(7).integers(0, 256, (64, 256, 3), dtype=np.uint8)
    ours = profiles.conversion(icc(space)).to_working(values.astype(np.float32) / 255)
    theirs = np.asarray(ImageCms.profileToProfile(
        Image.fromarray(values), ImageCms.ImageCmsProfile(BytesIO(icc(space))),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")), outputMode="RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC), np.float32) / 255
    inside = ((ours >= 0) & (ours <= 1)).all(axis=-1)
    assert inside.mean() > 0.2
    assert np.abs(ours - theirs)[inside].max() <= 1 / 255
    assert not inside.all()                         # both spaces hold colours sRGB cannot show


def test_an_srgb_profile_leaves_the_pixels_as_they_are(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert profiles.conversion(srgb) is None
    values = sixteen(portrait("obama").pixels)
    tifffile.imwrite(tmp_path / "srgb.tif", values, photometric="rgb", iccprofile=srgb)
    photo = io.read(tmp_path / "srgb.tif")
    assert np.array_equal(photo.pixels, io.unit_float(values)) and photo.icc == srgb


def test_a_profile_that_cannot_be_used_is_kept_and_said(tmp_path):
    """A damaged profile: the pixels are taken as sRGB, the note says so, and the profile goes back as it was."""
    damaged = icc("adobe")[:200]
    values = sixteen(portrait("obama").pixels)
    tifffile.imwrite(tmp_path / "damaged.tif", values, photometric="rgb", iccprofile=damaged)
    photo = io.read(tmp_path / "damaged.tif")
    assert np.array_equal(photo.pixels, io.unit_float(values))
    assert any("colour profile is not used" in note for note in photo.notes)
    io.write(photo, tmp_path / "out.tif")
    with tifffile.TiffFile(tmp_path / "out.tif") as tiff:
        assert tiff.pages[0].tags["InterColorProfile"].value == damaged
        assert np.array_equal(tiff.asarray(), values)


@pytest.mark.parametrize("space", PROFILES)
def test_a_16_bit_photo_round_trips_in_its_own_profile(folder, space):
    """Read into the working space and written back: the same profile, 16 bits, every value within one level;
    ProPhoto's green patch lies outside sRGB (values below 0 kept, not clipped) and comes back as it was."""
    source, values = copy(folder, "obama", space)
    photo = io.read(source)
    assert photo.bit_depth == 16 and photo.icc == icc(space)
    io.write(photo, folder / f"round-{space}.tif")
    with tifffile.TiffFile(folder / f"round-{space}.tif") as tiff:
        back = tiff.asarray()
        assert back.dtype == np.uint16 and tiff.pages[0].tags["InterColorProfile"].value == icc(space)
    assert np.abs(back.astype(np.int32) - values).max() <= 1
    srgb = io.read(copy(folder, "obama", "srgb")[0]).pixels
    assert np.abs(outside_patch(photo.pixels) - outside_patch(srgb)).max() < 2e-3   # LittleCMS's copy, read by us
    if space == "prophoto":
        assert photo.pixels[PATCH].min() < -0.2 and np.isfinite(photo.pixels).all()


# --- the same photo in sRGB and in a profile: same measures, same marks, same colours -------------------------

@pytest.mark.slow
@pytest.mark.parametrize("space", PROFILES)
@pytest.mark.parametrize("name", PHOTOS)
def test_measures_match_those_of_the_photo_in_srgb(folder, name, space):
    ours, theirs = retouched(folder, name, "srgb")[2], retouched(folder, name, space)[2]
    for measure_name in ("skin_de_mean", "skin_de_p95"):
        assert abs(theirs[measure_name] - ours[measure_name]) <= 0.2, (measure_name, ours, theirs)
    assert abs(theirs["identity"] - ours["identity"]) <= 0.01 and abs(theirs["texture"] - ours["texture"]) <= 0.02


@pytest.mark.slow
@pytest.mark.parametrize("space", PROFILES)
@pytest.mark.parametrize("name", PHOTOS)
def test_the_same_marks_are_healed(folder, name, space):
    """Every mark healed in one is healed in the other (within 2 px), save marks judged at the line between
    kept and healed (confidence at most AT_THE_LINE in one of the two): those judgements flip under noise far
    below an 8-bit level on the sRGB photo itself (+-40 16-bit levels moved biden's healed count from 12 to
    10 or 11, and the copies differ by at most 0.15 of an 8-bit level)."""
    ours, theirs = judged(retouched(folder, name, "srgb")[1]), judged(retouched(folder, name, space)[1])
    assert any(mark["action"].startswith("healed") for mark in ours), "no mark healed: nothing compared"
    flipped = []
    for these, those in ((ours, theirs), (theirs, ours)):
        for mark in these:
            others = near(mark, those)
            if mark["action"].startswith("healed") and not any(o["action"].startswith("healed") for o in others):
                assert others, f"healed at ({mark['x']}, {mark['y']}) in one, not even found in the other"
                flipped.append(min(mark["confidence"], *(o["confidence"] for o in others)))
    assert len(flipped) <= 2 and all(confidence <= AT_THE_LINE for confidence in flipped), flipped


@pytest.mark.slow
@pytest.mark.parametrize("space", PROFILES)
@pytest.mark.parametrize("name", PHOTOS)
def test_the_output_keeps_profile_depth_and_colours(folder, name, space):
    """Written back: a 16-bit TIFF in the same profile; where no edit changed a pixel its values are the
    input's (the out-of-gamut patch included); read through its profile it is the sRGB photo's result."""
    photo, result, _, output = retouched(folder, name, space)
    _, values = copy(folder, name, space)
    with tifffile.TiffFile(output) as tiff:
        written = tiff.asarray()
        assert written.dtype == np.uint16 and tiff.pages[0].tags["InterColorProfile"].value == icc(space)
    untouched = (result.pixels == photo.pixels).all(axis=-1)
    assert untouched.mean() > 0.8 and untouched[PATCH].all()
    assert np.abs(written.astype(np.int32) - values)[untouched].max() <= 1
    through_profile, in_srgb = io.read(output).pixels, io.read(retouched(folder, name, "srgb")[3]).pixels
    difference = delta_e_rgb(np.clip(outside_patch(through_profile), 0, 1), outside_patch(in_srgb))
    assert difference.mean() < 0.02 and np.percentile(difference, 99.9) < 0.5
    if name == "obama" and space == "adobe":     # for a person to look at: the face, read through its profile
        box = (slice(150, 450), slice(380, 680))
        side_by_side(in_srgb[box], np.clip(through_profile[box], 0, 1),
                     "colour-obama-srgb-vs-adobe-through-profile.png")


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS)
def test_the_guarded_job_writes_a_16_bit_adobe_output_with_its_record(folder, name):
    """retouch_file (apply, batch): the output keeps the profile and 16 bits and embeds the record's XMP; the
    skin measure is the one taken in the working space (within 0.2 of the unguarded run's, or below it where
    the guard lowered a step)."""
    source, _ = copy(folder, name, "adobe")
    outcome = retouch_file(source, folder / f"{name}-adobe-job.tif", presets.load(PRESET), sign=False)
    with tifffile.TiffFile(outcome.output) as tiff:
        page = tiff.pages[0]
        assert page.asarray().dtype == np.uint16 and page.tags["InterColorProfile"].value == icc("adobe")
        assert page.tags[700].value == record.xmp_packet(outcome.record)
    unguarded = retouched(folder, name, "adobe")[2]["skin_de_mean"]
    assert outcome.record["summary"]["skin_de_mean"] <= unguarded + 0.2


def test_a_photo_made_for_writing_keeps_its_working_pixels(tmp_path):
    """A Photo built in code with a profile holds working-space pixels like a read one: written, then read,
    they come back (the profile is where they are stored, not what they are)."""
    pixels = portrait("biden").pixels[:200, :200]
    io.write(Photo(pixels, 16, icc=icc("prophoto")), tmp_path / "made.tif")
    assert np.abs(io.read(tmp_path / "made.tif").pixels - pixels).max() < 1e-3
