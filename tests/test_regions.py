"""Region masks: the right shape and place for each region, skin that stays off hair, helmet and eyes,
a colour model that treats dark skin like light skin, and the same masks at 3000 px as at 512."""
import cv2
import numpy as np
import pytest

from retouch.face import REGION_NAMES, detect_landmarks
from retouch.face.regions import face_regions
from retouch.photo import Face

from portraits import faces, photo, save_png

PORTRAITS = ["astronaut", "grace_hopper"]


def _face(name: str) -> Face:
    return faces(name).items[0]


def _at(face: Face, name: str, indices) -> np.ndarray:
    """Mask values of region `name` at landmarks `indices` (or at given (n, 2) points)."""
    points = face.landmarks[list(indices)] if not isinstance(indices, np.ndarray) else indices
    x0, y0 = face.box[:2]
    return face.regions[name].mask[points[:, 1].astype(int) - y0, points[:, 0].astype(int) - x0]


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.indices(mask.shape)
    return np.array([(xs * mask).sum(), (ys * mask).sum()]) / mask.sum()


def _lightness(pixels: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab)[..., 0]


def _to_linear_and_back(pixels: np.ndarray, gain: float) -> np.ndarray:
    """The same scene with `gain` times the light (in linear sRGB): a darker-skinned version of it."""
    linear = np.where(pixels <= 0.04045, pixels / 12.92, ((pixels + 0.055) / 1.055) ** 2.4) * gain
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055).astype(np.float32)


@pytest.mark.parametrize("name", PORTRAITS)
def test_every_region_is_a_soft_mask_over_the_face_box(name):
    face = _face(name)
    assert tuple(face.regions) == REGION_NAMES
    x0, y0, x1, y1 = face.box
    for region_name, region in face.regions.items():
        assert region.box == face.box
        assert region.mask.shape == (y1 - y0, x1 - x0) and region.mask.dtype == np.float32
        assert region.mask.min() >= 0 and 0.5 < region.mask.max() <= 1, region_name
        border = np.concatenate([region.mask[0], region.mask[-1], region.mask[:, 0], region.mask[:, -1]])
        assert border.max() < 0.05, region_name       # the box is big enough: nothing cut at its edge
        full = region.full(photo(name).pixels.shape[:2])
        assert full.sum() == pytest.approx(region.mask.sum(), rel=1e-5)   # nothing outside the box


@pytest.mark.parametrize("name", PORTRAITS)
def test_skin_holds_the_cheeks_but_not_eyes_brows_or_lips(name):
    face = _face(name)
    assert _at(face, "skin", [50, 280, 205, 425]).min() > 0.9
    assert _at(face, "skin", [468, 473]).max() < 0.05
    lip_centres = np.stack([face.landmarks[[0, 13]].mean(0), face.landmarks[[14, 17]].mean(0)])
    assert _at(face, "skin", lip_centres).max() < 0.05
    assert _at(face, "skin", [105, 334, 52, 282]).max() < 0.1


@pytest.mark.parametrize("name", PORTRAITS)
def test_irises_inside_the_eyes_and_scleras_around_them(name):
    face = _face(name)
    eyes, irises, scleras = (face.regions[n].mask for n in ("eyes", "irises", "scleras"))
    assert (irises <= eyes + 0.02).all()
    assert _at(face, "irises", [468, 473]).min() > 0.8
    assert _at(face, "scleras", [468, 473]).max() < 0.2
    assert np.allclose(irises + scleras, eyes, atol=0.05)
    x0, y0, x1, y1 = face.box
    lightness = _lightness(photo(name).pixels[y0:y1, x0:x1])
    assert np.average(lightness, weights=scleras) > np.average(lightness, weights=irises) + 10


@pytest.mark.parametrize("name", PORTRAITS)
def test_brows_above_and_under_eye_below_the_eyes(name):
    face = _face(name)
    eyes, brows, under = (face.regions[n].mask for n in ("eyes", "brows", "under_eye"))
    iod = face.interocular
    assert 0.15 * iod < _centroid(eyes)[1] - _centroid(brows)[1] < 0.6 * iod
    assert 0.05 * iod < _centroid(under)[1] - _centroid(eyes)[1] < 0.4 * iod
    assert (under * eyes).sum() < 0.05 * under.sum()
    assert _at(face, "lips", [0, 17]).min() > 0.5            # the middle of the upper and lower lip


def test_inner_mouth_holds_the_teeth_of_a_smile():
    """FaceMesh's inner lip line cuts across the astronaut's upper teeth; the opening must still hold them."""
    face = _face("astronaut")
    x0, y0, x1, y1 = face.box
    lab = cv2.cvtColor(photo("astronaut").pixels[y0:y1, x0:x1], cv2.COLOR_RGB2Lab)
    mouth, lips = face.regions["inner_mouth"].mask, face.regions["lips"].mask
    teeth = ((mouth + lips) > 0.5) & (lab[..., 0] > 78) & (np.hypot(lab[..., 1], lab[..., 2]) < 16)
    assert teeth.sum() > 50
    assert (mouth * teeth).sum() / teeth.sum() > 0.75
    assert (lips * teeth).sum() / teeth.sum() < 0.25


@pytest.mark.parametrize("name, darkest", [("astronaut", 60.0), ("grace_hopper", 30.0)])
def test_skin_stays_off_hair_and_hat(name, darkest):
    """Above the top of the mesh there is only hair or hat; in the forehead band, the pixels far darker than
    this photo's skin (astronaut's fringe, the cap's peak) are not skin either."""
    face = _face(name)
    skin = face.regions["skin"].mask
    x0, y0, x1, y1 = face.box
    mesh_top = int(face.landmarks[:, 1].min()) - y0
    assert skin[:mesh_top].max() < 0.05
    brows = int(face.landmarks[[105, 334], 1].min()) - y0
    forehead = _lightness(photo(name).pixels[y0:y1, x0:x1])[:brows]
    hair = forehead < darkest
    assert hair.sum() > 50
    assert skin[:brows][hair].mean() < 0.15


@pytest.mark.parametrize("name", PORTRAITS)
def test_skin_colour_model_treats_dark_skin_like_light_skin(name):
    darker = _to_linear_and_back(photo(name).pixels, 0.12)
    face = detect_landmarks(darker)[0]
    dark_skin = face_regions(darker, face)["skin"].crop(_face(name).box) > 0.5
    light_skin = _face(name).regions["skin"].mask > 0.5
    assert abs(dark_skin.sum() / light_skin.sum() - 1) < 0.15
    assert (dark_skin & light_skin).sum() / (dark_skin | light_skin).sum() > 0.8


def test_masks_are_the_same_on_a_big_photo():
    """A 3000 px copy takes the working-scale path; its masks, shrunk back, match the 512 px ones."""
    small = _face("astronaut")
    big_pixels = np.clip(cv2.resize(photo("astronaut").pixels, (3000, 3000), interpolation=cv2.INTER_CUBIC), 0, 1)
    big = detect_landmarks(big_pixels)[0]
    regions = face_regions(big_pixels, big)
    assert regions["skin"].mask.shape == (big.box[3] - big.box[1], big.box[2] - big.box[0])
    factor = 3000 / 512
    for name, least in (("skin", 0.9), ("eyes", 0.8), ("lips", 0.7), ("brows", 0.65)):   # thin ones move more
        full = cv2.resize(regions[name].full((3000, 3000)), (512, 512), interpolation=cv2.INTER_AREA) > 0.5
        reference = small.regions[name].full((512, 512)) > 0.5
        assert (full & reference).sum() / (full | reference).sum() > least, name
    assert big.interocular == pytest.approx(small.interocular * factor, rel=0.03)


@pytest.mark.parametrize("name", PORTRAITS)
def test_region_panel_for_a_person_to_look_at(name):
    """The face and each region lit up on it, 3 x 3, written to test-output/regions_NAME.png."""
    face = _face(name)
    x0, y0, x1, y1 = face.box
    crop = photo(name).pixels[y0:y1, x0:x1]
    tint = np.array([0.0, 0.25, 0.0], np.float32)
    tiles = [crop] + [np.clip(crop * (0.3 + 0.7 * m) + tint * m, 0, 1)
                      for m in (face.regions[n].mask[..., None] for n in REGION_NAMES)]
    panel = np.concatenate([np.concatenate(tiles[row:row + 3], axis=1) for row in (0, 3, 6)], axis=0)
    panel = cv2.resize(panel, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    assert save_png(panel, f"regions_{name}.png").exists()
