"""The person matte's refinement: the same edge as a colour guided filter run on the whole working frame
(what analysis did before it was made local and fast), exactly 0 or 1 away from the edge, at 512 px and on
a 16 MP frame (where the working and coefficient grids are coarser than full resolution)."""
import cv2
import numpy as np
import pytest

from retouch.face import analyse
from retouch.face import person
from retouch.face.landmarks import to_uint8
from retouch.resample import area_down, upsample
from retouch.resample import proxy_pixels
from retouch.photo import Photo

from portraits import faces, photo, save_png

BIG = 4000


@pytest.fixture(scope="module")
def frames() -> dict[str, np.ndarray]:
    big = cv2.resize(photo("astronaut").pixels, (BIG, BIG), interpolation=cv2.INTER_CUBIC)
    return {"astronaut": photo("astronaut").pixels, "astronaut_16mp": np.clip(big, 0, 1)}


@pytest.fixture(scope="module", params=["astronaut", "astronaut_16mp"])
def refined(request, frames):
    """(pixels, grids, the model's matte on the coefficient grid, the refined full-resolution matte)."""
    pixels = frames[request.param]
    height, width = pixels.shape[:2]
    found = faces("astronaut") if request.param == "astronaut" else analyse(Photo(pixels), identity=False,
                                                                             person=False)
    grids = person.Grids.for_frame(width, height)
    proxy = to_uint8(proxy_pixels(Photo(pixels))[0])
    model = person.model_matte(proxy, found.items, (width, height), grids)
    return pixels, grids, model, person.refined_matte(pixels, model, grids)


def test_grids_are_finer_than_the_old_working_size_and_coarser_for_big_frames():
    assert person.Grids.for_frame(512, 512) == person.Grids(1, 1, 4)
    grids = person.Grids.for_frame(6000, 4000)
    assert (grids.work, grids.coefficient) == (3, 4)            # 2000x1333 working grid: at least 2.5 MP
    assert (6000 // grids.work) * (4000 // grids.work) >= person.WORK_PIXELS


@pytest.mark.timeout(120)
def test_edge_matches_a_guided_filter_over_the_whole_working_frame(refined):
    pixels, grids, model, matte = refined
    guide = area_down(pixels, grids.work)
    source = upsample(model, grids.coefficient, (0, 0), guide.shape[1::-1])
    reference = np.clip(cv2.ximgproc.guidedFilter(guide * 255, source, grids.radius,
                                                  person.GUIDED_EPS * 255 ** 2), 0, 1)
    ours = area_down(matte, grids.work)
    edge = (reference > 0.01) & (reference < 0.99)
    error = np.abs(ours - reference)[edge]
    assert 0.02 < edge.mean() < 0.1
    assert error.mean() < 0.015 and np.percentile(error, 99) < 0.06, (error.mean(), np.percentile(error, 99))
    soft = lambda m: np.mean((m > 0.05) & (m < 0.95))     # noqa: E731
    assert soft(ours) == pytest.approx(soft(reference), rel=0.1)     # hair edges as soft as before


def test_matte_is_exactly_0_or_1_beyond_the_filters_reach(refined):
    pixels, grids, model, matte = refined
    inside = (model > person.PERSON_THRESHOLD).astype(np.uint8)
    to_edge = np.maximum(cv2.distanceTransform(inside, cv2.DIST_L2, 3),
                         cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3))
    reach = 2 * grids.radius / grids.coefficient + 4      # two windows, the pixels straddling the edge, rounding
    far = np.kron(to_edge > reach, np.ones((grids.full, grids.full))).astype(bool)   # on full resolution
    assert far.mean() > 0.8
    covered = matte[:far.shape[0], :far.shape[1]]
    assert np.array_equal(covered[far], inside.repeat(grids.full, 0).repeat(grids.full, 1)[far])
    assert matte.dtype == np.float32 and matte.shape == pixels.shape[:2]


def test_hair_edge_picture_for_a_person_to_look_at(refined):
    """Head and shoulders over red where the matte is 0, next to the matte (test-output/matte_edge_*.png)."""
    pixels, grids, model, matte = refined
    side = pixels.shape[0] // 2
    crop = (slice(0, side), slice(pixels.shape[1] // 5, pixels.shape[1] // 5 + side))
    alpha = matte[crop][..., None]
    over_red = pixels[crop] * alpha + np.array([0.8, 0.1, 0.1], np.float32) * (1 - alpha)
    panel = np.concatenate([over_red, np.repeat(alpha, 3, axis=2)], axis=1)
    panel = cv2.resize(panel, (1024, 512), interpolation=cv2.INTER_AREA)
    assert save_png(panel, f"matte_edge_{pixels.shape[1]}.png").stat().st_size > 10_000
