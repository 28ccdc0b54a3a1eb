"""Colour helpers: OpenCV's Lab agrees with scikit-image's (the reference implementation) and inverts
itself; changed_share restricted to a changed box gives the whole frame's answer."""
import numpy as np
import pytest
from skimage import color as skcolor

from retouch.color import changed_share, delta_e, from_lab, to_lab

from portraits import photo


@pytest.fixture(scope="module")
def colours() -> np.ndarray:
    """Astronaut's pixels plus random colours across the whole RGB cube."""
    rng = np.random.default_rng(7)
    return np.concatenate([photo("astronaut").pixels.reshape(-1, 3), rng.random((100_000, 3), np.float32)])


def test_lab_is_within_half_a_just_noticeable_difference_of_scikit_image(colours):
    differences = delta_e(to_lab(colours), skcolor.rgb2lab(colours).astype(np.float32))
    assert differences.max() < 0.6
    assert differences.mean() < 0.1


def test_lab_round_trip_returns_the_same_pixels(colours):
    """Within about half an 8-bit level (OpenCV interpolates the sRGB curve); far below dE 1."""
    assert np.abs(from_lab(to_lab(colours)) - colours).max() < 5e-3
    portrait = photo("astronaut").pixels
    assert np.abs(from_lab(to_lab(portrait)) - portrait).max() < 3e-3


def test_any_leading_shape_is_accepted():
    one = to_lab(np.array([0.5, 0.4, 0.3], np.float32))
    assert one.shape == (3,)
    assert to_lab(np.full((2, 3, 4, 3), 0.5, np.float32)).shape == (2, 3, 4, 3)
    assert from_lab(one[None]).shape == (1, 3)


@pytest.mark.parametrize("box", [(100, 120, 300, 260), (0, 0, 512, 512), (101, 99, 103, 107)])
def test_changed_share_within_a_box_matches_the_whole_frame(box):
    original = photo("astronaut").pixels
    changed = original.copy()
    x0, y0, x1, y1 = box
    changed[y0:y1, x0:x1] = 1.0 - changed[y0:y1, x0:x1]
    where = np.ones(original.shape[:2], bool)
    where[200:230, 150:400] = False
    for options in ({}, {"where": where}):
        whole = changed_share(original, changed, max_samples=40_000, **options)
        inside = changed_share(original, changed, max_samples=40_000, within=box, **options)
        assert whole > 0 and inside == whole
