"""teeth: painted yellow teeth are whitened within the L* cap and b* floor, painted gums and everything
outside the mouth opening are untouched, real teeth get whiter, a closed mouth is left alone."""
import dataclasses

import cv2
import numpy as np
import pytest

from retouch.color import delta_e, from_lab, to_lab
from retouch import edits
from retouch.edits import teeth
from retouch.params import ParamError
from retouch.pipeline import blend

from portraits import faces, photo, save_png

TEETH_LAB = (75.0, 2.0, 25.0)      # yellowish teeth
GUMS_LAB = (50.0, 35.0, 15.0)      # red gums along the top of the opening
TEXTURE = 3.0                      # L* and b* texture (standard deviation) painted on the teeth


def zoom(pixels: np.ndarray, box, factor: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.resize(np.clip(pixels[y0:y1, x0:x1], 0, 1), None, fx=factor, fy=factor,
                      interpolation=cv2.INTER_NEAREST)


def mouth_view(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask > 0.01)
    return xs.min() - 6, ys.min() - 6, xs.max() + 7, ys.max() + 7


@pytest.fixture(scope="module", params=("astronaut", "grace_hopper"))
def painted(request):
    """A known case: yellow textured teeth and a band of red gums painted inside the mouth opening."""
    name = request.param
    original = photo(name).pixels
    face = faces(name).items[0]
    mouth = face.regions["inner_mouth"].full(original.shape[:2])
    inside = mouth > 0.5
    rows = np.nonzero(inside.any(1))[0]
    gums = inside & (np.arange(original.shape[0])[:, None] < rows.min() + max(1, len(rows) // 4))
    tooth = inside & ~gums
    noise = cv2.GaussianBlur(np.random.default_rng(7).normal(0, 1, original.shape[:2] + (2,)).astype(np.float32),
                             (0, 0), 0.7)
    noise *= TEXTURE / noise.std()
    lab = to_lab(original)
    lab[tooth] = np.array(TEETH_LAB, np.float32) + np.stack([noise[tooth, 0], 0 * noise[tooth, 0],
                                                            noise[tooth, 1]], -1)
    lab[gums] = GUMS_LAB
    painted = np.where((tooth | gums)[..., None], from_lab(lab), original).astype(np.float32)
    change = teeth.apply(photo(name).with_pixels(painted), faces(name), teeth.Params())
    after = blend(painted, change, teeth.STRENGTH.default)
    full = blend(painted, change, 1.0)
    view = mouth_view(mouth)
    factor = 8 if name == "astronaut" else 6
    save_png(np.concatenate([zoom(painted, view, factor), zoom(after, view, factor)]), f"teeth_painted_{name}.png")
    return name, mouth, tooth, gums, painted, after, full


def test_painted_teeth_lose_yellow_but_stay_ivory(painted):
    name, _, tooth, _, before, after, full = painted
    params = teeth.Params()
    core = cv2.erode(tooth.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    core = core if core.sum() >= 20 else tooth        # grace_hopper's closed mouth is a sliver
    was, now, strongest = to_lab(before[core]), to_lab(after[core]), to_lab(full[tooth])
    print(f"{name}: teeth b* {was[:, 2].mean():.1f} -> {now[:, 2].mean():.1f} (strength 1: lowest b* "
          f"{strongest[:, 2].min():.1f}, floor {params.min_yellow}), L* {was[:, 0].mean():.1f} -> "
          f"{now[:, 0].mean():.1f} (strength 1: lightest {strongest[:, 0].max():.1f}, cap {params.max_lightness})")
    assert now[:, 2].mean() <= was[:, 2].mean() - 3.0     # grace_hopper's sliver is only ~0.6 mask
    assert now[:, 0].mean() > was[:, 0].mean()
    assert strongest[:, 2].min() >= params.min_yellow - 0.5
    assert strongest[:, 0].max() <= params.max_lightness + 0.5


def test_gums_and_everything_outside_the_mouth_are_untouched(painted):
    name, mouth, _, gums, before, after, _ = painted
    gum_change = delta_e(to_lab(before[gums]), to_lab(after[gums]))
    outside_moved = (np.abs(after - before).max(-1) > 0) & (mouth <= 0)
    print(f"{name}: gums dE2000 max {gum_change.max():.3f}; pixels changed outside the mouth: {outside_moved.sum()}")
    assert gum_change.max() <= 0.5
    assert not outside_moved.any()


def test_real_teeth_get_whiter_and_lips_stay():
    name = "astronaut"
    original = photo(name).pixels
    face = faces(name).items[0]
    change = teeth.apply(photo(name), faces(name), teeth.Params())
    after = blend(original, change, teeth.STRENGTH.default)
    x0, y0, x1, y1 = change.box
    acted = np.zeros(original.shape[:2], bool)
    acted[y0:y1, x0:x1] = change.mask > 0.5
    lips = face.regions["lips"].full(original.shape[:2]) > 0.5
    was, now = to_lab(original[acted]), to_lab(after[acted])
    lip_change = delta_e(to_lab(original[lips]), to_lab(after[lips]))
    print(f"{name} as shot: {acted.sum()} tooth pixels, b* {was[:, 2].mean():.2f} -> {now[:, 2].mean():.2f}, "
          f"L* {was[:, 0].mean():.2f} -> {now[:, 0].mean():.2f}; lips dE2000 mean {lip_change.mean():.3f} "
          f"max {lip_change.max():.3f}")
    save_png(np.concatenate([zoom(original, mouth_view(face.regions["inner_mouth"].full(original.shape[:2])), 8),
                             zoom(after, mouth_view(face.regions["inner_mouth"].full(original.shape[:2])), 8)]),
             "teeth_real_astronaut.png")
    assert acted.sum() >= 50
    assert now[:, 2].mean() < was[:, 2].mean() and now[:, 0].mean() >= was[:, 0].mean()
    assert lip_change.mean() <= 0.3


def test_closed_mouth_changes_nothing():
    """grace_hopper's mouth is closed: the opening is a dark sliver with no tooth-like pixel."""
    change = teeth.apply(photo("grace_hopper"), faces("grace_hopper"), teeth.Params())
    assert change.empty


def test_empty_mouth_mask_changes_nothing():
    name = "astronaut"
    face = faces(name).items[0]
    regions = dict(face.regions)
    regions["inner_mouth"] = dataclasses.replace(regions["inner_mouth"], mask=np.zeros_like(regions["inner_mouth"].mask))
    closed = dataclasses.replace(faces(name), items=[dataclasses.replace(face, regions=regions)])
    assert teeth.apply(photo(name), closed, teeth.Params()).empty


def test_floor_cannot_go_below_its_range():
    with pytest.raises(ParamError, match=r"teeth\.min_yellow"):
        edits.get("teeth").params({"min_yellow": 1.0})
