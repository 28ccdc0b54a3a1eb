"""Each measure against the original: perfect on the identical image, moving the right way on a known
change (blur lowers identity and texture; a tone shift raises skin dE; a warp raises drift)."""
import cv2
import numpy as np
import pytest

from retouch.budget import Budget
from retouch.measure import measure, reference, verdict, worst

from portraits import faces, photo


@pytest.fixture(scope="module", params=["astronaut", "grace_hopper"])
def portrait(request):
    picture = photo(request.param)
    return picture.pixels, reference(picture.pixels, faces(request.param))


def test_identical_image_measures_perfect(portrait):
    original, ref = portrait
    flat = worst(measure(ref, original.copy(), touched=np.zeros(original.shape[:2], np.float32)))
    assert flat["identity"] > 0.999
    assert flat["drift"] < 0.01
    assert flat["skin_de_mean"] == 0 and flat["skin_de_p95"] == 0
    assert flat["texture"] == pytest.approx(1.0)
    assert flat["spill"] == 0 and flat["changed_area"] == 0
    assert not Budget().breaches(flat)


def test_blur_lowers_identity_and_texture(portrait):
    original, ref = portrait
    blurred = cv2.GaussianBlur(original, (0, 0), ref.faces[0].face.interocular / 25)
    flat = worst(measure(ref, blurred))
    assert flat["identity"] < 0.97
    assert flat["texture"] < 0.6
    assert flat["changed_area"] > 0.05


def test_tone_shift_raises_skin_de(portrait):
    original, ref = portrait
    warmer = np.clip(original * np.array([1.08, 1.0, 0.9], np.float32), 0, 1)
    flat = worst(measure(ref, warmer))
    assert flat["skin_de_mean"] > 2.0
    assert flat["identity"] > 0.9


def test_warp_raises_drift(portrait):
    original, ref = portrait
    h, w = original.shape[:2]
    shifted = cv2.warpAffine(original, np.float32([[1.06, 0, -0.03 * w], [0, 1.06, -0.03 * h]]), (w, h),
                             borderMode=cv2.BORDER_REFLECT)
    flat = worst(measure(ref, shifted))
    assert flat["drift"] > 0.05


def test_spill_counts_only_outside_the_touched_mask(portrait):
    original, ref = portrait
    changed = original.copy()
    changed[:40, :40] = 1 - changed[:40, :40]
    touched = np.zeros(original.shape[:2], np.float32)
    assert worst(measure(ref, changed, touched=touched))["spill"] > 0
    touched[:40, :40] = 1
    assert worst(measure(ref, changed, touched=touched))["spill"] == 0


def test_verdict_reads_plainly():
    text = verdict({"identity": 0.97, "skin_de_mean": 0.4, "texture": 0.86, "drift": 0.004}, Budget())
    assert text == "same person (identity 0.97), skin tone unchanged (dE 0.4), texture kept 86%"
    assert "NOT recognisably" in verdict({"identity": 0.1}, Budget())
