"""Reading and writing photos: every format, metadata, orientation, alpha, bad input, atomic writes, DNG."""
from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import rawpy
import tifffile
from PIL import Image, ImageCms, ImageOps

from retouch import samples
from retouch.color import delta_e_rgb
from retouch.io import PhotoError, SUPPORTED_SUFFIXES, dropped, read, unit_float, write, write_pixels
from retouch.resample import proxy_pixels
from retouch.staging import sha256_file, write_bytes_atomic
from retouch.photo import Photo

pytestmark = pytest.mark.timeout(60)

OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><retouch>edit record</retouch></x:xmpmeta>'
MAKER_NOTE = bytes(range(256)) * 2          # opaque camera data: must survive byte for byte


def mean_de(a: np.ndarray, b: np.ndarray) -> float:
    return float(delta_e_rgb(a, b).mean())


def exif_block(orientation: int = 6) -> bytes:
    """A camera-like EXIF block: IFD0 tags, and ISO, exposure and a maker note in the EXIF IFD."""
    exif = Image.Exif()
    exif.update({271: "Retouch Test Camera", 272: "RT-1", 274: orientation, 315: "A. Photographer"})
    exif.get_ifd(0x8769).update({34855: 400, 33434: 1 / 125, 37500: MAKER_NOTE})
    return exif.tobytes()


def rgba(rgb: np.ndarray) -> np.ndarray:
    """`rgb` with a radial alpha ramp: opaque in the middle, transparent at the corners."""
    height, width = rgb.shape[:2]
    y, x = np.mgrid[:height, :width]
    distance = np.hypot(x - width / 2, y - height / 2) / np.hypot(width / 2, height / 2)
    return np.dstack([rgb, (255 * (1 - distance)).astype(np.uint8)])


def save_side_by_side(name: str, *images: np.ndarray) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    Image.fromarray((np.clip(np.concatenate(images, axis=1), 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


# ------------------------------------------------------------------- reading files made by other encoders

def _pillow(kind: str, **options):
    return lambda rgb, path: Image.fromarray(rgb).save(path, kind, **options)


def _opencv_16_bit(rgb: np.ndarray, path: Path) -> None:
    cv2.imwrite(str(path), rgb[..., ::-1].astype(np.uint16) * 257)


def _tifffile_16_bit(rgb: np.ndarray, path: Path) -> None:
    tifffile.imwrite(path, rgb.astype(np.uint16) * 257, photometric="rgb", compression="zlib")


READ_CASES = {            # name: file name, encoder, bit depth, format, mean dE2000 allowed
    "jpeg": ("photo.jpg", _pillow("JPEG", quality=95), 8, "JPEG", 1.0),
    "png8": ("photo.png", _pillow("PNG"), 8, "PNG", 1e-3),
    "png16": ("photo.png", _opencv_16_bit, 16, "PNG", 1e-3),
    "tiff8": ("photo.tif", _pillow("TIFF", compression="tiff_lzw"), 8, "TIFF", 1e-3),
    "tiff16": ("photo.tiff", _tifffile_16_bit, 16, "TIFF", 1e-3),
    "webp": ("photo.webp", _pillow("WEBP", quality=90), 8, "WEBP", 2.0),
    "dng": ("photo.dng", lambda rgb, path: samples.write_dng(rgb, path), 16, "RAW", 6.0),
}


@pytest.mark.parametrize("case", READ_CASES)
def test_reads_every_format(tmp_path, grace_hopper_rgb, case):
    name, encode, depth, kind, allowed_de = READ_CASES[case]
    path = tmp_path / name
    encode(grace_hopper_rgb, path)
    photo = read(path)
    assert photo.pixels.dtype == np.float32 and photo.pixels.shape == grace_hopper_rgb.shape
    assert photo.pixels.min() >= 0.0 and photo.pixels.max() <= 1.0
    assert (photo.bit_depth, photo.format, photo.source) == (depth, kind, path)
    assert mean_de(photo.pixels, unit_float(grace_hopper_rgb)) < allowed_de


# --------------------------------------------------------------------------------------------- writing

WRITE_CASES = [(".jpg", 8), (".png", 8), (".png", 16), (".tif", 8), (".tif", 16), (".webp", 8)]
WRITE_IDS = [f"{suffix[1:]}{depth}" for suffix, depth in WRITE_CASES]
ALLOWED_DE = {".jpg": 1.5, ".webp": 2.0, ".png": 1e-3, ".tif": 1e-3}    # quality 92 for the lossy ones


@pytest.mark.parametrize("suffix, depth", WRITE_CASES, ids=WRITE_IDS)
def test_write_then_read_gives_the_photo_back(tmp_path, astronaut, suffix, depth):
    path = write(astronaut, tmp_path / f"out{suffix}", bit_depth=depth)
    back = read(path)
    assert back.bit_depth == depth and back.pixels.shape == astronaut.pixels.shape
    assert mean_de(back.pixels, astronaut.pixels) < ALLOWED_DE[suffix]


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_round_trip_keeps_every_value(tmp_path, suffix):
    pixels = np.random.default_rng(0).random((48, 64, 3), dtype=np.float32)   # off the 8-bit grid
    back = read(write(Photo(pixels, 16), tmp_path / f"deep{suffix}")).pixels
    assert np.abs(back - pixels).max() <= 0.5 / 65535 + 1e-6
    assert len(np.unique(back)) > 256 * 8


@pytest.mark.parametrize("suffix, source_depth, written_depth",
                         [(".png", 16, 16), (".tif", 16, 16), (".png", 8, 8), (".jpg", 16, 8), (".webp", 16, 8)])
def test_default_bit_depth_follows_source_where_the_format_allows(tmp_path, astronaut, suffix, source_depth,
                                                                  written_depth):
    photo = Photo(astronaut.pixels, source_depth)
    assert read(write(photo, tmp_path / f"out{suffix}")).bit_depth == written_depth


@pytest.mark.parametrize("suffix, depth", WRITE_CASES, ids=WRITE_IDS)
def test_exif_and_icc_survive_with_orientation_reset(tmp_path, astronaut, suffix, depth):
    photo = Photo(astronaut.pixels, exif=exif_block(orientation=6), icc=SRGB_ICC)
    path = write(photo, tmp_path / f"meta{suffix}", bit_depth=depth)
    with Image.open(path) as image:                       # checked by Pillow, not by our reader
        exif = image.getexif()
        assert image.info["icc_profile"] == SRGB_ICC
        assert exif.get_ifd(0x8769)[34855] == 400
    assert (exif[271], exif[272], exif[315], exif[274]) == ("Retouch Test Camera", "RT-1", "A. Photographer", 1)
    back = read(path)
    assert back.icc == SRGB_ICC and back.exif is not None
    assert back.pixels.shape == astronaut.pixels.shape       # orientation 6 was not applied again


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_exif_block_is_kept_byte_for_byte_apart_from_orientation(tmp_path, astronaut, suffix):
    original = exif_block(orientation=6)
    kept = read(write(Photo(astronaut.pixels, exif=original), tmp_path / f"block{suffix}")).exif
    assert len(kept) == len(original) and MAKER_NOTE in kept
    assert sum(a != b for a, b in zip(kept, original, strict=True)) == 1     # the orientation value: 6 -> 1


@pytest.mark.parametrize("suffix, depth", WRITE_CASES, ids=WRITE_IDS)
def test_xmp_packet_is_embedded(tmp_path, astronaut, suffix, depth):
    path = write(astronaut, tmp_path / f"xmp{suffix}", bit_depth=depth, xmp=XMP)
    assert XMP in path.read_bytes()


@pytest.mark.parametrize("suffix, options, complaint", [
    (".gif", {}, "cannot write format"),
    (".jpg", {"bit_depth": 16}, "bit depth 16"),
    (".png", {"bit_depth": 12}, "bit depth 12"),
    (".jpg", {"quality": 0}, "quality 0"),
])
def test_impossible_writes_are_refused(tmp_path, astronaut, suffix, options, complaint):
    with pytest.raises(PhotoError, match=complaint):
        write(astronaut, tmp_path / f"out{suffix}", **options)
    assert list(tmp_path.iterdir()) == []


def test_write_format_option_overrides_the_suffix(tmp_path, astronaut):
    path = write(astronaut, tmp_path / "photo.out", format="tiff")
    with Image.open(path) as image:
        assert image.format == "TIFF"


# ----------------------------------------------------------------------------------------- orientation

@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_turns_the_pixels_upright(tmp_path, grace_hopper_rgb, orientation):
    exif = Image.Exif()
    exif[274] = orientation
    path = tmp_path / "turned.png"
    Image.fromarray(grace_hopper_rgb[::4, ::4]).save(path, exif=exif.tobytes())
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    assert np.array_equal((read(path).pixels * 255 + 0.5).astype(np.uint8), expected)


def test_jpeg_with_orientation_6_is_read_upright_and_written_upright(tmp_path, grace_hopper_rgb):
    stored = np.ascontiguousarray(np.rot90(grace_hopper_rgb))     # what a camera held sideways stores
    exif = Image.Exif()
    exif[274] = 6                                                 # "rotate 90 degrees clockwise to view"
    path = tmp_path / "sideways.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes())
    photo = read(path)
    assert photo.pixels.shape == grace_hopper_rgb.shape
    assert mean_de(photo.pixels, unit_float(grace_hopper_rgb)) < 1.0
    written = write(photo, tmp_path / "upright.jpg")
    with Image.open(written) as image:
        assert image.getexif()[274] == 1 and image.size == (grace_hopper_rgb.shape[1], grace_hopper_rgb.shape[0])


# ------------------------------------------------------------------------------- grey, CMYK and alpha

@pytest.mark.parametrize("suffix, mode, depth", [(".jpg", "L", 8), (".png", "L", 8), (".png", "I;16", 16)])
def test_grayscale_becomes_rgb(tmp_path, astronaut_rgb, suffix, mode, depth):
    grey = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY)
    stored = grey.astype(np.uint16) * 257 if depth == 16 else grey
    path = tmp_path / f"grey{suffix}"
    Image.fromarray(stored).save(path)
    photo = read(path)
    assert photo.pixels.shape == astronaut_rgb.shape and photo.bit_depth == depth
    assert np.array_equal(photo.pixels[..., 0], photo.pixels[..., 1])
    assert np.array_equal(photo.pixels[..., 0], photo.pixels[..., 2])
    assert np.abs(photo.pixels[..., 0] - grey / 255).mean() < (3 / 255 if suffix == ".jpg" else 1e-6)


def test_cmyk_jpeg_becomes_rgb_with_close_colours(tmp_path, astronaut_rgb):
    path = tmp_path / "print.jpg"
    Image.fromarray(astronaut_rgb).convert("CMYK").save(path, quality=95)
    photo = read(path)
    assert photo.pixels.shape == astronaut_rgb.shape and photo.icc is None
    assert mean_de(photo.pixels, unit_float(astronaut_rgb)) < 2.0


@pytest.mark.parametrize("suffix, tolerance", [(".png", 0), (".tif", 0), (".webp", 1)])
def test_alpha_is_kept_aside_and_restored(tmp_path, astronaut_rgb, suffix, tolerance):
    source = rgba(astronaut_rgb)
    path = tmp_path / "cutout.png"
    Image.fromarray(source).save(path)
    photo = read(path)
    assert photo.pixels.shape == astronaut_rgb.shape
    assert np.array_equal(photo.alpha, unit_float(source[..., 3]))
    with Image.open(write(photo, tmp_path / f"again{suffix}")) as image:
        assert image.mode == "RGBA"
        assert np.abs(np.asarray(image)[..., 3].astype(int) - source[..., 3]).max() <= tolerance


def test_jpeg_output_drops_alpha(tmp_path, astronaut_rgb):
    Image.fromarray(rgba(astronaut_rgb)).save(tmp_path / "cutout.png")
    with Image.open(write(read(tmp_path / "cutout.png"), tmp_path / "flat.jpg")) as image:
        assert image.mode == "RGB"


# --------------------------------------------------------------------------------------------- bad input

def _jpeg_bytes(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", rgb[..., ::-1])[1].tobytes()


def _folder_named_jpg(folder: Path, rgb: np.ndarray) -> Path:
    path = folder / "album.jpg"
    path.mkdir()
    return path


def _file(name: str, content):
    def make(folder: Path, rgb: np.ndarray) -> Path:
        path = folder / name
        path.write_bytes(content(rgb) if callable(content) else content)
        return path
    return make


def _dng_bytes(rgb: np.ndarray, folder: Path) -> bytes:
    return samples.write_dng(rgb, folder / "whole.dng").read_bytes()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
BAD_INPUTS = {          # name: how to make it, words the error must contain
    "missing": (lambda folder, rgb: folder / "gone.jpg", "no such file"),
    "empty": (_file("empty.jpg", b""), "empty file"),
    "folder": (_folder_named_jpg, "not a file"),
    "truncated jpeg": (_file("cut.jpg", lambda rgb: _jpeg_bytes(rgb)[:len(_jpeg_bytes(rgb)) // 2]),
                       "truncated or corrupt"),
    "truncated png": (_file("cut.png", lambda rgb: cv2.imencode(".png", rgb)[1].tobytes()[:5000]),
                      "truncated or corrupt"),
    "text named .jpg": (_file("notes.jpg", b"shopping list: film, batteries\n"), "not an image"),
    "pdf named .png": (_file("scan.png", PDF), "not an image"),
    "pdf": (_file("scan.pdf", PDF), "unsupported format '.pdf'"),
    "unknown suffix": (_file("photo.xyz", _jpeg_bytes), "unsupported format '.xyz'"),
    "text named .dng": (_file("notes.dng", b"not a raw file at all\n" * 20), "not a camera RAW file"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_a_one_line_photo_error_naming_the_file(tmp_path, astronaut_rgb, case):
    make, words = BAD_INPUTS[case]
    path = make(tmp_path, astronaut_rgb)
    with pytest.raises(PhotoError) as raised:
        read(path)
    message = str(raised.value)
    assert str(path) in message and words in message and "\n" not in message


@pytest.mark.parametrize("kept", [0.3, 0.9])
def test_truncated_dng_is_an_error(tmp_path, astronaut_rgb, kept):
    whole = _dng_bytes(astronaut_rgb, tmp_path)
    path = tmp_path / "cut.dng"
    path.write_bytes(whole[:int(len(whole) * kept)])
    with pytest.raises(PhotoError, match=r"cut\.dng: .*(cut short|truncated)"):
        read(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".dng"])
def test_pixel_limit_is_checked(tmp_path, astronaut, suffix):
    path = tmp_path / f"big{suffix}"
    if suffix == ".dng":
        samples.write_dng(astronaut.pixels, path)
    else:
        write(astronaut, path)
    with pytest.raises(PhotoError, match=r"262144 pixels, above the limit of 262143 \(max_pixels\)"):
        read(path, max_pixels=512 * 512 - 1)
    assert read(path, max_pixels=512 * 512).pixels.shape == (512, 512, 3)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header promises width x height RGB pixels, with almost no pixel data behind it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(64)))
            + chunk(b"IEND", b""))


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(30_000, 30_000))     # 900 MP promised: decoding it would be "truncated"
    with pytest.raises(PhotoError, match=r"900000000 pixels, above the limit of 250000000 \(max_pixels\)"):
        read(path)


def _tiff_header_only(width: int, height: int) -> bytes:
    """A grey TIFF whose header promises width x height pixels in one strip that the file does not hold."""
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8),
            (277, 3, 1), (278, 4, height), (279, 4, width * height)]   # size, 8 bit, raw, grey, one strip
    entries = b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags)
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(tags)) + entries + bytes(4) + bytes(64)


@pytest.mark.parametrize("suffix, header", [(".png", _png_header_only), (".tif", _tiff_header_only)])
@pytest.mark.parametrize("max_pixels, complaint", [
    (150_000_000, r"210000000 pixels, above the limit of 150000000 \(max_pixels\); refused as a possible "
                  r"decompression bomb"),
    (300_000_000, r"truncated or corrupt image data"),    # the header promises more than the file holds
], ids=["our limit refuses", "our limit lets it through"])
def test_our_pixel_limit_rules_not_pillows(tmp_path, suffix, header, max_pixels, complaint):
    """A 210 MP header is above Pillow's own guard (2 x MAX_IMAGE_PIXELS, ~179 MP; TIFF checks it again
    when it decodes): read's limit decides."""
    assert 2 * Image.MAX_IMAGE_PIXELS < 15_000 * 14_000
    path = tmp_path / f"big{suffix}"
    path.write_bytes(header(15_000, 14_000))
    with pytest.raises(PhotoError, match=complaint) as raised:
        read(path, max_pixels=max_pixels)
    assert str(raised.value).startswith(f"{path}: ") and "exceeds limit" not in str(raised.value)
    assert Image.MAX_IMAGE_PIXELS == 1024 * 1024 * 1024 // 4 // 3       # Pillow's guard is back as it was


# --------------------------------------------------------------------------------------- atomic writes

@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
def test_failed_write_leaves_the_existing_file_untouched_and_no_temporary(tmp_path, astronaut, monkeypatch,
                                                                           suffix):
    target = tmp_path / f"out{suffix}"
    target.write_bytes(b"the previous version")

    def disk_full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(PhotoError, match="could not be written"):
        write(astronaut, target, allow_overwrite=True)
    assert target.read_bytes() == b"the previous version"
    assert list(tmp_path.iterdir()) == [target]


def _crash_mid_write(*args, **kwargs):
    handle = next(arg for arg in args if hasattr(arg, "write") and hasattr(arg, "fileno"))
    handle.write(b"the first half of a fi")
    raise RuntimeError("encoder crashed")


@pytest.mark.parametrize("suffix, module, name", [(".jpg", Image.Image, "save"), (".tif", tifffile, "imwrite")])
def test_encoder_crash_leaves_no_file_under_the_final_name(tmp_path, astronaut, monkeypatch, suffix, module, name):
    monkeypatch.setattr(module, name, _crash_mid_write)
    with pytest.raises(RuntimeError, match="encoder crashed"):
        write(astronaut, tmp_path / f"out{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_writing_over_the_original_needs_the_flag(tmp_path, astronaut_rgb):
    path = tmp_path / "original.png"
    Image.fromarray(astronaut_rgb).save(path)
    before = sha256_file(path)
    photo = read(path)
    edited = photo.with_pixels(1.0 - photo.pixels)
    with pytest.raises(PhotoError, match="is the original this photo was read from"):
        write(edited, path)
    assert sha256_file(path) == before
    write(edited, path, allow_overwrite=True)
    assert sha256_file(path) != before


def test_replacing_any_existing_file_needs_the_flag(tmp_path, astronaut):
    target = tmp_path / "taken.jpg"
    target.write_bytes(b"someone else's")
    with pytest.raises(PhotoError, match="already exists"):
        write(astronaut, target)
    assert target.read_bytes() == b"someone else's"


def test_write_pixels_replaces_derived_images(tmp_path, astronaut):
    target = write_pixels(astronaut.pixels, tmp_path / "overlay.png")
    assert write_pixels(1.0 - astronaut.pixels, target) == target
    assert np.allclose(read(target).pixels, 1.0 - astronaut.pixels, atol=1 / 255)


def test_write_bytes_atomic_and_sha256(tmp_path):
    data = b"edit record " * 100_000
    path = write_bytes_atomic(tmp_path / "record.json", data)
    assert path.read_bytes() == data and sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert list(tmp_path.iterdir()) == [path]


# ---------------------------------------------------------------------------------------- DNG and proxies

@pytest.fixture(scope="module")
def dng(tmp_path_factory, grace_hopper_rgb) -> Path:
    return samples.write_dng(grace_hopper_rgb, tmp_path_factory.mktemp("raw") / "hopper.dng", iso=400)


def test_dng_renders_with_faithful_colour(dng, grace_hopper_rgb):
    photo = read(dng)
    source = unit_float(grace_hopper_rgb)
    difference = delta_e_rgb(photo.pixels, source)
    print(f"DNG via LibRaw: mean dE2000 {difference.mean():.2f}, p95 {np.percentile(difference, 95):.2f}")
    save_side_by_side("io_dng_source_vs_libraw.png", source, photo.pixels)
    assert (photo.bit_depth, photo.format, photo.icc) == (16, "RAW", None)
    assert difference.mean() < 6.0
    assert np.abs((photo.pixels - source).mean(axis=(0, 1))).max() < 0.01    # white balance: no colour cast


def test_dng_is_a_real_raw_with_its_tags(dng):
    with rawpy.imread(str(dng)) as raw:
        assert raw.raw_pattern.tolist() == [[0, 1], [3, 2]] and raw.color_desc == b"RGBG"
        assert raw.other.iso_speed == 400
        assert raw.white_level == samples.WHITE_LEVEL and set(raw.black_level_per_channel) == {samples.BLACK_LEVEL}
        balance = np.array(raw.camera_whitebalance[:3])
        assert np.allclose(balance / balance[1], 1 / np.array(samples.SENSOR_RESPONSE), rtol=1e-3)
    exif = Image.Exif()
    exif.load(read(dng).exif)
    assert exif[271] == "retouch" and exif.get_ifd(0x8769)[34855] == 400


def test_dng_preview_is_kept_for_proxies(dng, grace_hopper_rgb):
    photo = read(dng)
    assert photo.preview.dtype == np.uint8 and photo.preview.shape == grace_hopper_rgb.shape
    assert mean_de(unit_float(photo.preview), unit_float(grace_hopper_rgb)) < 1.0
    proxy, scale = proxy_pixels(photo, long_side=300)
    assert proxy.shape == (300, 256, 3) and scale == 0.5
    assert mean_de(proxy, cv2.resize(photo.pixels, (256, 300), interpolation=cv2.INTER_AREA)) < 2.0


def test_proxy_read_of_a_raw_is_half_size(dng, grace_hopper_rgb):
    photo = read(dng, proxy=True)
    assert photo.pixels.shape == (300, 256, 3)
    small = cv2.resize(unit_float(grace_hopper_rgb), (256, 300), interpolation=cv2.INTER_AREA)
    assert mean_de(photo.pixels, small) < 4.0     # half size skips demosaicking: R and B sit offset


def test_proxy_read_of_a_big_jpeg_is_dct_scaled(tmp_path, astronaut_rgb):
    path = tmp_path / "big.jpg"
    Image.fromarray(cv2.resize(astronaut_rgb, (3200, 3200), interpolation=cv2.INTER_CUBIC)).save(path, quality=90)
    photo = read(path, proxy=True)
    assert photo.pixels.shape == (1600, 1600, 3)          # 1/2 scale: the smallest that keeps 1500 px
    assert mean_de(photo.pixels, cv2.resize(unit_float(astronaut_rgb), (1600, 1600))) < 3.0


def test_proxy_downscales_by_area_and_reports_the_scale(grace_hopper):
    proxy, scale = proxy_pixels(grace_hopper, long_side=150)
    assert proxy.shape == (150, 128, 3) and proxy.dtype == np.float32 and scale == 0.25
    assert abs(float(proxy.mean()) - float(grace_hopper.pixels.mean())) < 0.005


@pytest.mark.parametrize("frame", [(1536, 1536), (1537, 1031)])     # whole 3x3 blocks; 1 column, 2 rows over
def test_proxy_by_whole_blocks_keeps_positions(astronaut_rgb, frame):
    """The proxy averages whole blocks first (fast), which may leave fewer than a block of pixels out at
    the right and bottom: a mark still lands within half a proxy pixel of where the reported scale puts
    it, and the picture agrees with one area resampling within dE 2 (misregistered by a fraction of a
    pixel on a detailed photo)."""
    image = cv2.resize(unit_float(astronaut_rgb), frame, interpolation=cv2.INTER_CUBIC)
    marked = image.copy()
    marked[700:730, 1200:1230] += 0.5
    proxy, scale = proxy_pixels(Photo(marked), long_side=470)
    plain, _ = proxy_pixels(Photo(image), long_side=470)
    direct = cv2.resize(marked, proxy.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert proxy.dtype == np.float32 and mean_de(np.clip(proxy, 0, 1), np.clip(direct, 0, 1)) < 2.0
    weight = (proxy - plain)[..., 0]
    ys, xs = np.mgrid[0:proxy.shape[0], 0:proxy.shape[1]]
    centroid = np.array([(weight * xs).sum(), (weight * ys).sum()]) / weight.sum()
    assert np.allclose(centroid, np.array([1215, 715]) * scale - 0.5, atol=0.5)


def test_proxy_of_a_small_photo_is_a_full_size_copy(astronaut):
    proxy, scale = proxy_pixels(astronaut)
    assert scale == 1.0 and np.array_equal(proxy, astronaut.pixels)
    assert not np.shares_memory(proxy, astronaut.pixels)


@pytest.mark.parametrize("preview_shape, used", [
    ((300, 256, 3), True),      # same aspect, exactly the proxy's size
    ((600, 512, 3), True),      # same aspect, bigger
    ((256, 300, 3), False),     # other aspect (e.g. not turned)
    ((150, 128, 3), False),     # too small for the proxy
])
def test_proxy_uses_the_preview_only_when_it_fits(grace_hopper, preview_shape, used):
    grace_hopper.preview = np.full(preview_shape, 255, np.uint8)     # white: easy to tell apart
    proxy, scale = proxy_pixels(grace_hopper, long_side=300)
    assert proxy.shape == (300, 256, 3) and scale == 0.5
    assert bool(np.all(proxy == 1.0)) == used


# ------------------------------------------------------------------------------------- samples, suffixes

def test_sample_session_is_readable(portrait_dir):
    photos = {path.name: read(path) for path in sorted(portrait_dir.iterdir())}
    assert sorted(photos) == ["astronaut.jpg", "grace_hopper.jpg", "grace_hopper_raw.dng"]
    assert photos["grace_hopper_raw.dng"].bit_depth == 16
    assert mean_de(photos["grace_hopper_raw.dng"].pixels, photos["grace_hopper.jpg"].pixels) < 6.0


def test_supported_suffixes_cover_every_readable_format():
    wanted = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".dng", ".cr2", ".cr3", ".nef", ".arw",
              ".raf", ".orf", ".rw2", ".pef", ".srw"}
    assert wanted <= SUPPORTED_SUFFIXES
    assert all(suffix == suffix.lower() and suffix.startswith(".") for suffix in SUPPORTED_SUFFIXES)


@pytest.mark.parametrize("suffix, depth, alpha, lost", [
    (".jpg", 16, None, ["16-bit depth"]), (".jpg", 8, 0.5, ["transparency"]),
    (".jpg", 16, 0.5, ["16-bit depth", "transparency"]), (".jpg", 8, 1.0, []),     # an opaque alpha loses nothing
    (".webp", 16, 0.5, ["16-bit depth"]), (".png", 16, 0.5, []), (".tif", 16, 0.5, []),
])
def test_dropped_names_what_a_format_cannot_hold(suffix, depth, alpha, lost):
    pixels = np.zeros((4, 4, 3), np.float32)
    photo = Photo(pixels, depth, alpha=None if alpha is None else np.full((4, 4), alpha, np.float32))
    assert dropped(photo, f"out{suffix}") == lost
