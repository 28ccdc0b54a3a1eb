"""light: a known left/right light gradient is evened out without colour shifts; balanced faces barely move;
under-eye shadows are lifted; exposure correction stays inside its EV bound."""
import dataclasses

import cv2
import numpy as np
import pytest

from retouch.color import delta_e, luminance, to_lab, to_linear, to_srgb
from retouch.edits import light
from retouch.pipeline import blend

from portraits import faces, photo, save_png, side_by_side

GRADIENT_EV = 0.7
SHADOW_EV = 0.5          # the synthetic under-eye shadow: this far below the cheeks
PORTRAITS = ("astronaut", "grace_hopper")
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def relit(pixels: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Multiply linear light by 2**stops (an HxW field)."""
    return to_srgb(to_linear(pixels) * np.exp2(stops)[..., None])


def face_gradient(shape: tuple[int, int], box, ev: float) -> np.ndarray:
    """Stops rising by `ev` from the face box's left edge to its right edge, fading smoothly above and
    below the box (the issue's known answer: a side light across the face)."""
    x0, y0, x1, y1 = box
    ramp = ev * (np.clip((np.arange(shape[1]) - x0) / (x1 - x0), 0, 1) - 0.5)
    rows = np.arange(shape[0])
    fade = np.clip(1 - np.maximum(0, np.maximum(y0 - rows, rows - y1)) / (0.3 * (y1 - y0)), 0, 1)
    return cv2.GaussianBlur((fade[:, None] * ramp[None, :]).astype(np.float32), (0, 0), 5)


def skin(face, shape) -> np.ndarray:
    return face.regions["skin"].full(shape) > 0.5


def cheek_luminances(pixels: np.ndarray, face) -> list[float]:
    """Median luminance of the skin in a disc on each cheek (image left, image right)."""
    yy, xx = np.mgrid[:pixels.shape[0], :pixels.shape[1]]
    levels = []
    for indices in light.CHEEKS:
        cx, cy = face.landmarks[list(indices)].mean(0) - 0.5
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= (light.CHEEK_RADIUS * face.interocular) ** 2
        levels.append(float(np.median(luminance(pixels)[disc & skin(face, pixels.shape[:2])])))
    return levels


def imbalance(pixels: np.ndarray, face) -> float:
    left, right = cheek_luminances(pixels, face)
    return float(np.log2(right / left))


def chroma_shift(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """CIEDE2000 between `before` and `after` re-scaled (in linear light) to `before`'s luminance: the
    colour change with the intended lightness change taken out."""
    linear = to_linear(after)
    scale = (to_linear(before) @ LUMA) / np.maximum(linear @ LUMA, 1e-6)
    return delta_e(to_lab(before), to_lab(to_srgb(linear * scale[..., None])))


def retouched(pixels: np.ndarray, name: str, params: light.Params | None = None,
              strength: float = light.STRENGTH.default) -> np.ndarray:
    change = light.apply(photo(name).with_pixels(pixels), faces(name), params or light.Params())
    return blend(pixels, change, strength)


@pytest.fixture(scope="module", params=PORTRAITS)
def gradient_case(request):
    name = request.param
    original = photo(name).pixels
    face = faces(name).items[0]
    lit = relit(original, face_gradient(original.shape[:2], face.box, GRADIENT_EV))
    after = retouched(lit, name)
    side_by_side(lit, after, f"light_gradient_{name}.png")
    return name, face, lit, after


def test_left_right_gradient_is_evened_out(gradient_case):
    name, face, lit, after = gradient_case
    before, now = imbalance(lit, face), imbalance(after, face)
    print(f"{name}: cheek imbalance {before:+.3f} EV -> {now:+.3f} EV ({1 - abs(now) / abs(before):.0%} removed)")
    assert abs(before) > 0.2
    assert abs(now) <= 0.5 * abs(before)


def test_skin_colour_is_kept_while_light_changes(gradient_case):
    name, face, lit, after = gradient_case
    where = skin(face, lit.shape[:2])
    shift = chroma_shift(lit[where], after[where])
    ab_before, ab_after = to_lab(lit[where])[:, 1:], to_lab(after[where])[:, 1:]
    ab = np.linalg.norm(ab_before - ab_after, axis=1)
    print(f"{name}: skin chroma/hue dE2000 (lightness normalised) mean {shift.mean():.4f} "
          f"p95 {np.percentile(shift, 95):.4f}; raw a*b* shift mean {ab.mean():.2f} p95 {np.percentile(ab, 95):.2f}")
    assert np.percentile(shift, 95) <= 2.0 and shift.mean() <= 1.0


def test_balanced_face_changes_little():
    original = photo("astronaut").pixels
    face = faces("astronaut").items[0]
    after = retouched(original, "astronaut")
    where = skin(face, original.shape[:2])
    differences = delta_e(to_lab(original[where]), to_lab(after[where]))
    stops = np.log2(np.maximum(luminance(after), 1e-4) / np.maximum(luminance(original), 1e-4))[where]
    print(f"astronaut as shot: imbalance {imbalance(original, face):+.3f} EV -> {imbalance(after, face):+.3f} EV, "
          f"skin dE2000 mean {differences.mean():.2f} p95 {np.percentile(differences, 95):.2f}, "
          f"gain {stops.min():+.3f}..{stops.max():+.3f} EV")
    assert differences.mean() <= 1.5 and np.percentile(differences, 95) <= 3.0
    assert np.abs(stops).max() <= 0.2


@pytest.mark.parametrize("name", PORTRAITS)
def test_under_eye_shadow_is_lifted(name):
    original = photo(name).pixels
    face = faces(name).items[0]
    crescents = face.regions["under_eye"].full(original.shape[:2])
    core = crescents >= 0.5 * crescents.max()
    cheeks = float(np.mean(cheek_luminances(original, face)))

    def depth(pixels):
        return float(np.log2(cheeks / np.median(luminance(pixels)[core])))

    shadow = cv2.GaussianBlur(np.minimum(crescents / (0.5 * crescents.max()), 1.0), (0, 0), 1.0)
    shaded = relit(original, -(SHADOW_EV - depth(original)) * shadow)

    after = retouched(shaded, name, light.Params(balance=0.0, exposure=0.0))
    x0, y0, x1, y1 = face.box
    side_by_side(shaded[y0:y1, x0:x1], after[y0:y1, x0:x1], f"light_under_eye_{name}.png")
    print(f"{name}: under-eye shadow {depth(shaded):.3f} EV below the cheeks -> {depth(after):.3f} EV")
    assert depth(after) <= 0.75 * depth(shaded)
    assert depth(after) >= -0.05                     # lifted toward the cheeks, never past them


def test_exposure_correction_is_bounded_in_ev():
    original = photo("astronaut").pixels
    face = faces("astronaut").items[0]
    dark = relit(original, np.full(original.shape[:2], -3.5, np.float32))
    params = light.Params(exposure=1.0, max_ev=0.5)
    after = retouched(dark, "astronaut", params, strength=1.0)
    where = skin(face, original.shape[:2]) & (to_linear(dark).max(-1) < 0.9)
    stops = np.log2(luminance(after)[where] / np.maximum(luminance(dark)[where], 1e-6))
    print(f"astronaut at -3.5 EV: skin lifted by {np.median(stops):.3f} EV (max {stops.max():.3f}, "
          f"bound {params.max_ev} EV)")
    assert np.median(stops) >= 0.8 * params.max_ev
    assert stops.max() <= params.max_ev + 0.02


def test_gain_field_is_smooth_and_fades_out():
    name = "grace_hopper"
    original = photo(name).pixels
    change = light.apply(photo(name), faces(name), light.Params(max_ev=1.0))
    x0, y0, x1, y1 = change.box
    before = original[y0:y1, x0:x1]
    valid = (to_linear(before).max(-1) < 0.9) & (luminance(before) > 0.02)
    stops = np.log2(np.maximum(luminance(change.pixels), 1e-6) / np.maximum(luminance(before), 1e-6))
    across = np.abs(np.diff(stops, axis=1))[valid[:, 1:] & valid[:, :-1]]
    down = np.abs(np.diff(stops, axis=0))[valid[1:] & valid[:-1]]
    step = max(across.max(), down.max())
    rim = np.abs(np.concatenate([stops[0], stops[-1], stops[:, 0], stops[:, -1]])).max()
    print(f"{name}: largest gain step between neighbours {step:.4f} EV, largest gain on the box's rim {rim:.4f} EV")
    save_png(np.repeat(np.clip(0.5 + stops, 0, 1)[..., None], 3, -1), "light_gain_field_grace_hopper.png")
    assert step <= 0.02
    assert rim <= 0.005


def test_works_from_the_landmarks_alone_when_regions_are_missing():
    name = "grace_hopper"
    face = dataclasses.replace(faces(name).items[0], regions={})
    found = dataclasses.replace(faces(name), items=[face])
    change = light.apply(photo(name), found, light.Params())
    assert not change.empty and np.isfinite(change.pixels).all()


def test_a_large_face_reads_its_statistics_shrunk_like_at_full_resolution(monkeypatch):
    """A 6x astronaut (face ~550 px wide) reads its luminance statistics on a shrunk copy; the relit
    result must match reading them at full resolution to well under a just-noticeable difference."""
    from retouch.face import analyse
    picture = photo("astronaut")
    big = cv2.resize(picture.pixels, None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC)
    found = analyse(picture.with_pixels(big), identity=False, person=False)
    assert np.ptp(found.items[0].landmarks[:, 0]) > light.STATS_SIZE
    params = light.Params(under_eye=0.8)
    results = []
    for size in (light.STATS_SIZE, np.inf):
        monkeypatch.setattr(light, "STATS_SIZE", size)
        results.append(blend(big, light.apply(picture.with_pixels(big), found, params), 1.0))
    moved = np.abs(results[1] - big).max(-1) > 1e-3
    differences = delta_e(to_lab(results[0][moved]), to_lab(results[1][moved]))
    print(f"statistics shrunk vs full resolution: mean dE {differences.mean():.3f}, max {differences.max():.3f}")
    assert moved.mean() > 0.01
    assert differences.mean() < 0.2 and differences.max() < 1.0
