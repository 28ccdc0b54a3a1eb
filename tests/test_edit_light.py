"""light: a known left/right light gradient is evened out without colour shifts; balanced faces barely move;
under-eye shadows are lifted; exposure correction stays inside its EV bound; exposure is judged apart from
skin tone (issue 20's known answers, tests/_exposure_cases.py): dark skin in a correctly exposed photo is
not lifted, an under-exposed frame and a face in shadow are, and the record says why."""
import dataclasses
import json

import cv2
import numpy as np
import pytest

from retouch import edits, presets
from retouch.color import delta_e, luminance, to_lab, to_linear, to_srgb
from retouch.edits import light
from retouch.params import ParamError
from retouch.pipeline import blend, retouch

from _exposure_cases import CASES, DARK_SKIN_LIGHTNESS, case
from portraits import NAMES, faces, photo, save_png, side_by_side

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
    # the gradient runs the way the face is already lit, so it adds to the imbalance rather than cancelling it
    direction = 1.0 if imbalance(original, face) >= 0 else -1.0
    lit = relit(original, face_gradient(original.shape[:2], face.box, direction * GRADIENT_EV))
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


# Exposure, judged apart from skin tone (issue 20). Gains are read with the other two corrections off, at
# full strength: the gain the edit decided (its record) and the gain on the skin's pixels.
EXPOSURE_ONLY = light.Params(balance=0.0, under_eye=0.0)
SAME_PEOPLE = ("obama", "astronaut")


def exposure_of(name: str, which: str) -> tuple[dict, float, np.ndarray]:
    """(the face's exposure record, the median gain on its skin in stops, the result) for a case."""
    pixels, found = case(name, which)
    change = light.apply(photo(name).with_pixels(pixels), found, EXPOSURE_ONLY)
    after = blend(pixels, change, 1.0)
    where = skin(found.items[0], pixels.shape[:2]) & (to_linear(pixels).max(-1) < 0.9)
    stops = np.log2(np.maximum(luminance(after), 1e-6) / np.maximum(luminance(pixels), 1e-6))[where]
    record = change.details["exposure"]
    assert [entry["face"] for entry in record] == list(range(len(found)))
    return record[0], float(np.median(stops)), after


def face_crop(pixels: np.ndarray, name: str) -> np.ndarray:
    x0, y0, x1, y1 = faces(name).items[0].box
    return pixels[y0:y1, x0:x1]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", SAME_PEOPLE)
def test_dark_skin_in_a_correctly_exposed_photo_is_not_lifted(name):
    pixels, found = case(name, "dark skin")
    lightness = float(np.median(to_lab(pixels[skin(found.items[0], pixels.shape[:2])])[:, 0]))
    entry, stops, after = exposure_of(name, "dark skin")
    side_by_side(face_crop(pixels, name), face_crop(after, name), f"light_exposure_dark_skin_{name}.png")
    print(f"{name} with skin at L* {lightness:.1f}: decided {entry['gain_ev']:+.3f} EV, skin {stops:+.3f} EV "
          f"({entry['why']})")
    assert abs(lightness - DARK_SKIN_LIGHTNESS) < 4        # far below version 1's band (L* 40): it lifted this
    assert entry["gain_ev"] <= 0.05 and abs(stops) <= 0.05
    assert entry["judged"] == "correct"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", NAMES)
def test_a_correctly_exposed_photo_as_shot_is_not_lifted(name):
    entry, stops, _ = exposure_of(name, "as shot")
    print(f"{name} as shot: decided {entry['gain_ev']:+.3f} EV, skin {stops:+.3f} EV ({entry['why']})")
    assert entry["gain_ev"] <= 0.05 and abs(stops) <= 0.05
    assert entry["why"] == "scene exposure correct: no exposure gain" or "(" in entry["why"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", SAME_PEOPLE)
def test_an_under_exposed_frame_is_lifted_and_skin_hue_kept(name):
    pixels, found = case(name, "frame under")
    entry, stops, after = exposure_of(name, "frame under")
    side_by_side(face_crop(pixels, name), face_crop(after, name), f"light_exposure_frame_under_{name}.png")
    where = skin(found.items[0], pixels.shape[:2])
    shift = chroma_shift(pixels[where], after[where])
    print(f"{name} at -0.7 EV: decided {entry['gain_ev']:+.3f} EV, skin {stops:+.3f} EV; skin hue/chroma "
          f"dE2000 mean {shift.mean():.4f} p95 {np.percentile(shift, 95):.4f} ({entry['why']})")
    assert entry["judged"] == "frame under-exposed"
    assert 0.4 <= entry["gain_ev"] <= 0.7 and 0.4 <= stops <= 0.7
    assert np.percentile(shift, 95) <= 1.0 and shift.mean() <= 0.5


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", SAME_PEOPLE)
def test_a_face_in_shadow_is_lifted_within_max_ev(name):
    pixels, _ = case(name, "face in shadow")
    entry, stops, after = exposure_of(name, "face in shadow")
    side_by_side(face_crop(pixels, name), face_crop(after, name), f"light_exposure_face_in_shadow_{name}.png")
    print(f"{name} face at -0.7 EV: decided {entry['gain_ev']:+.3f} EV, skin {stops:+.3f} EV ({entry['why']})")
    assert entry["judged"] == "face in shadow"
    assert 0.4 <= entry["gain_ev"] <= EXPOSURE_ONLY.max_ev and 0.4 <= stops <= EXPOSURE_ONLY.max_ev + 0.02


@pytest.mark.timeout(240)
def test_the_four_cases_give_the_same_decisions_on_light_and_dark_skin():
    decisions = {which: {name: exposure_of(name, which)[0] for name in SAME_PEOPLE} for which in CASES}
    for which, entries in decisions.items():
        print(which, {name: (entry["judged"], entry["gain_ev"]) for name, entry in entries.items()})
    for which, entries in decisions.items():
        judged = {entry["judged"] for entry in entries.values()}
        lifted = {entry["gain_ev"] >= 0.4 for entry in entries.values()}
        assert len(judged) == 1 and len(lifted) == 1, which


def test_the_record_names_the_references_and_survives_json():
    entry, _, _ = exposure_of("obama", "frame under")
    references = entry["references"]
    assert {"teeth", "eye whites", "scene whites", "skin highlights"} <= set(references)
    assert references["scene whites"]["ev_under"] > 0.4 and references["teeth"]["ev_under"] > 0.4
    assert json.loads(json.dumps(entry)) == entry


def test_no_reference_means_no_lift_however_dark_the_skin():
    """A tight crop of a face (no scene around it) whose regions are unknown (no teeth or eye whites) and
    which is dark all over: nothing tells exposure from skin tone, so nothing is lifted."""
    from retouch.face import analyse
    x0, y0, x1, y1 = faces("obama").items[0].box
    dark = to_srgb(to_linear(photo("obama").pixels[y0:y1, x0:x1]) * np.float32(0.25))
    found = analyse(photo("obama").with_pixels(dark), identity=False, person=False)
    found = dataclasses.replace(found, items=[dataclasses.replace(found.items[0], regions={})])
    change = light.apply(photo("obama").with_pixels(dark), found, EXPOSURE_ONLY)
    entry = change.details["exposure"][0]
    assert entry["judged"] == "no reference" and entry["gain_ev"] == 0.0 and change.empty


@pytest.mark.parametrize("name", SAME_PEOPLE)
def test_teeth_and_eye_whites_are_found_and_a_dark_lens_is_no_eye_white(name):
    """Both references show on both portraits; painted over with a dark neutral lens (sunglasses), the
    eyes give no eye-white reading (which would read as a face in deep shadow)."""
    original = photo(name).pixels
    face = faces(name).items[0]
    regions = {region: face.regions[region].full(original.shape[:2])
               for region in ("inner_mouth", "scleras", "irises")}
    linear = to_linear(original)

    def found(pixels):
        return [ref.name for ref in light.face_references(pixels, pixels @ light.LUMA, regions, face.interocular)]

    eyes = np.clip(face.regions["eyes"].full(original.shape[:2]) * 2, 0, 1)[..., None]
    lens = linear * (1 - eyes) + eyes * np.float32(0.02)
    assert found(linear) == ["teeth", "eye whites"]
    assert found(lens) == ["teeth"]


def test_the_pipeline_records_why_exposure_did_not_change():
    """A light step with nothing to change is skipped, and its record still says why."""
    preset = presets.with_changes(presets.load("natural"), only=("light",),
                                  settings={"light.balance": 0.0, "light.under_eye": 0.0})
    pixels, found = case("obama", "dark skin")
    result = retouch(photo("obama").with_pixels(pixels), preset, faces=found, guard=False)
    (step,) = result.steps
    assert step.status == "skipped" and np.array_equal(result.pixels, pixels)
    why = step.as_dict()["details"]["exposure"][0]["why"]
    assert why.startswith("scene exposure correct") and why.endswith(": no exposure gain")


@pytest.mark.timeout(180)
def test_the_natural_preset_leaves_dark_skin_as_dark():
    """The issue's complaint: under the natural preset, version 1 lifted correctly exposed dark skin (about
    2 L* on the cheeks). Now the light step keeps its balance and under-eye work and no exposure lift."""
    pixels, found = case("obama", "dark skin")
    preset = presets.with_changes(presets.load("natural"), only=("light",))
    result = retouch(photo("obama").with_pixels(pixels), preset, faces=found)
    where = skin(found.items[0], pixels.shape[:2])
    before, after = (float(np.median(to_lab(image[where])[:, 0])) for image in (pixels, result.pixels))
    print(f"obama, skin at L* {before:.1f}, natural preset's light step: median skin L* {after:.1f}")
    assert result.steps[0].details["exposure"][0]["gain_ev"] == 0.0
    assert abs(after - before) <= 0.3


def test_params_version_1_records_still_build():
    edit = edits.get("light")
    assert edit.version == 2
    old = {"exposure": 0.5, "target_low": 40.0, "target_high": 80.0, "max_ev": 0.4}
    assert edit.params(old, version=1) == light.Params(exposure=0.5, max_ev=0.4)
    assert edit.params({"target_low": 25.0}, version=1) == light.Params()
    with pytest.raises(ParamError, match="target_low"):
        edit.params({"target_low": 40.0})


def test_an_old_records_light_settings_migrate():
    """A record written by light's params version 1 (no "versions" entry means 1) reads back as settings
    today's light accepts."""
    from retouch.record import settings_of
    saved = {"exposure": 0.5, "target_low": 40.0, "target_high": 80.0, "balance": 0.8, "under_eye": 0.5,
             "max_ev": 0.5}
    entry = {"preset": {"settings": {"steps": [{"edit": "light", "strength": 0.8, "params": saved}]}}}
    settings = settings_of(entry)["light"]
    assert edits.get("light").params(settings["params"]) == light.Params(exposure=0.5)
    assert settings["strength"] == 0.8
