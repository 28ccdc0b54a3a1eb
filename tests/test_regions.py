"""Region masks: the right shape and place for each region, skin that covers the whole face (forehead to
the hairline, chin, jaw) but stays off hair, hat, frames, background and the features, a colour model that
treats dark skin like light skin, and the same masks at 3000 px as at 512."""
import cv2
import numpy as np
import pytest

from retouch.face import REGION_NAMES, detect_landmarks
from retouch.face import regions
from retouch.face.regions import face_regions
from retouch.photo import Face

from portraits import NAMES, faces, photo, save_png

PORTRAITS = ["astronaut", "grace_hopper"]
# The astronaut's fringe and the hair at her left temple, inside FaceMesh's oval: traced by eye at 8x
# (full-resolution x, y), closed well outside the oval.
ASTRONAUT_HAIR = np.float32([(170, 60), (290, 60), (290, 140), (273, 140), (271, 125), (269, 110), (267, 100),
                             (263, 92), (257, 87), (250, 85), (240, 83), (230, 82), (220, 80), (210, 80),
                             (200, 79), (192, 78), (185, 80), (178, 84), (170, 86)])
# Points on grace_hopper's amber frame (bridge over the nose, lower rims), picked by eye at 6x.
GRACE_AMBER_FRAME = np.float32([(250, 185), (258, 185), (266, 185), (274, 186), (200, 224), (210, 228),
                                (220, 229), (230, 228), (240, 224), (295, 228), (305, 230), (320, 228)])


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


@pytest.mark.parametrize("name, darkest", [("astronaut", 60.0), ("grace_hopper", 30.0), ("obama", 40.0)])
def test_skin_stays_off_dark_hair_and_hat(name, darkest):
    """Between the brows and the top of the box, the pixels far darker than this photo's skin (astronaut's
    fringe, the cap, Obama's tight curly hair) are not skin."""
    face = _face(name)
    skin = face.regions["skin"].mask
    x0, y0, x1, y1 = face.box
    brows = int(face.landmarks[[105, 334], 1].min()) - y0
    hair = _lightness(photo(name).pixels[y0:y1, x0:x1])[:brows] < darkest
    assert hair.sum() > 50
    assert skin[:brows][hair].mean() < 0.1


def _features(face: Face) -> np.ndarray:
    """Eyes, brows, lips and nostrils as FaceMesh draws them (not grown), over the face's box."""
    x0, y0, x1, y1 = face.box
    points, shape = face.landmarks - np.float32([x0, y0]) - 0.5, (y1 - y0, x1 - x0)
    polygons = ([points[loop] for loop in regions.EYES] + [regions._band(points, lines) for lines in regions.BROWS]
                + [points[regions.LIPS_OUTER]]
                + [cv2.convexHull(points[list(n)]).reshape(-1, 2) for n in regions.NOSTRILS])
    return np.maximum.reduce([regions._fill(shape, p) for p in polygons]) > 0.5


def _oval(face: Face, grown: float = 0.0) -> np.ndarray:
    """FaceMesh's face oval over the face's box, its edge pushed out by `grown` pixels."""
    x0, y0, x1, y1 = face.box
    oval = regions._fill((y1 - y0, x1 - x0), face.landmarks[regions.OVAL] - np.float32([x0, y0]) - 0.5) > 0.5
    if grown:
        outside = cv2.distanceTransform((~oval).astype(np.uint8), cv2.DIST_L2, 5)
        oval = outside <= grown
    return oval


def _hair(name: str, face: Face) -> np.ndarray:
    """Hair inside the oval that a person marked by hand (only the astronaut's fringe reaches that far)."""
    x0, y0, x1, y1 = face.box
    if name != "astronaut":
        return np.zeros((y1 - y0, x1 - x0), bool)
    return regions._fill((y1 - y0, x1 - x0), ASTRONAUT_HAIR - np.float32([x0, y0])) > 0.5


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", NAMES)
def test_skin_covers_the_face(name):
    """At least 85% of FaceMesh's face oval minus the eyes, brows, lips, nostrils and hair is skin: the chin,
    the jaw, the lower cheeks and the top of the forehead included (issue 13)."""
    face = _face(name)
    skin = face.regions["skin"].mask > 0.5
    face_skin = _oval(face) & ~_features(face) & ~_hair(name, face)
    assert skin[face_skin].mean() >= 0.85
    chin = face.landmarks[[152, 175, 199]]        # chin tip, and on the way up to the lower lip
    assert _at(face, "skin", chin[1:]).min() > 0.5
    x0, y0 = face.box[:2]
    lower_cheeks = face.landmarks[[172, 136, 150, 397, 365, 379]] * 0.7 + face.landmarks[[205, 205, 205, 425, 425, 425]] * 0.3
    assert _at(face, "skin", lower_cheeks).min() > 0.5


@pytest.mark.parametrize("name", NAMES)
def test_skin_leaves_out_eyes_brows_lips_and_nostrils(name):
    face = _face(name)
    skin = face.regions["skin"].mask
    assert skin[_features(face)].mean() < 0.05          # the skin's feathered edge reaches a little way in
    assert (skin[_features(face)] > 0.5).mean() < 0.01
    x0, y0, x1, y1 = face.box
    points, shape = face.landmarks - np.float32([x0, y0]) - 0.5, (y1 - y0, x1 - x0)
    for nostril in regions.NOSTRILS:
        opening = regions._fill(shape, cv2.convexHull(points[list(nostril)]).reshape(-1, 2)) > 0.5
        assert skin[opening].max() < 0.5


@pytest.mark.parametrize("name", ["obama", "biden"])
def test_forehead_reaches_the_hairline(name):
    """Up the middle of the forehead, skin runs from FaceMesh's oval top (landmark 10) to the hair: Obama's
    hairline, where the lightness drops to his hair's; on Biden's receding hairline, to the highest a
    forehead goes (the box's top margin leaves no more room)."""
    face = _face(name)
    x0, y0, x1, y1 = face.box
    skin = face.regions["skin"].mask
    x, top = (int(v) for v in face.landmarks[10])
    column = skin[: top - y0, x - x0]
    skin_top = y0 + int(np.flatnonzero(column > 0.5)[0])
    assert top - skin_top > 0.3 * face.interocular
    assert (column[skin_top - y0:] > 0.5).all()                     # unbroken up to there
    if name == "obama":
        lightness = _lightness(photo(name).pixels[:, x:x + 1])[:, 0]
        hairline = top - int(np.flatnonzero(lightness[:top][::-1] < 40)[0])
        assert abs(skin_top - hairline) < 0.05 * face.interocular


@pytest.mark.parametrize("name, hair", [("biden", "white"), ("grace_hopper", "white"), ("astronaut", "fair")])
def test_skin_stays_off_white_and_fair_hair(name, hair):
    """White hair (low chroma, light: Biden's temples, Grace Hopper's sides) and the astronaut's fair fringe
    (traced by hand) are not skin."""
    face = _face(name)
    skin = face.regions["skin"].mask
    x0, y0, x1, y1 = face.box
    if hair == "fair":
        strands = _hair(name, face)
    else:
        lab = cv2.cvtColor(photo(name).pixels[y0:y1, x0:x1], cv2.COLOR_RGB2Lab)
        brows = int(face.landmarks[[105, 334], 1].max()) - y0
        strands = (np.hypot(lab[..., 1], lab[..., 2]) < 12) & (lab[..., 0] > 55)
        strands[brows:] = False
    assert strands.sum() > 100
    assert skin[strands].mean() < 0.1


@pytest.mark.parametrize("name", NAMES)
def test_skin_stays_on_the_person_and_near_the_face(name):
    """No skin on the background (outside the person matte) and none beside or below the face: the oval
    grown by 10% of the face's height holds all skin below the brows (neck, ears and collar stay out)."""
    face = _face(name)
    skin = face.regions["skin"]
    person = faces(name).person
    full = skin.full(person.shape)
    assert (full * (person < 0.5)).sum() < 0.005 * full.sum()
    height = float(np.linalg.norm(face.landmarks[152] - face.landmarks[10]))
    x0, y0 = face.box[:2]
    below_brows = np.arange(skin.mask.shape[0])[:, None] + y0 > face.landmarks[[105, 334], 1].max()
    beyond = ~_oval(face, 0.1 * height) & below_brows
    assert skin.mask[beyond].sum() < 0.002 * skin.mask.sum()


def test_skin_stays_off_the_dark_frames_of_glasses():
    """Grace Hopper's black upper frame is not skin (all but a rim where the colour blur mixes it with skin)."""
    face = _face("grace_hopper")
    skin = face.regions["skin"].mask
    x0, y0, x1, y1 = face.box
    lightness = _lightness(photo("grace_hopper").pixels[y0:y1, x0:x1])
    band = np.zeros_like(skin, bool)
    top, bottom = (int(v) - y0 for v in (face.landmarks[[105, 334], 1].min(), face.landmarks[[159, 386], 1].max()))
    band[top:bottom] = True
    frame = band & _oval(face) & (lightness < 25) & ~_features(face)
    assert frame.sum() > 300
    assert (skin[frame] > 0.5).mean() < 0.15
    assert skin[frame].mean() < 0.25


@pytest.mark.xfail(strict=True, reason="translucent amber rims pass for skin by colour; no shape test yet")
def test_skin_stays_off_translucent_frames():
    face = _face("grace_hopper")
    assert (_at(face, "skin", GRACE_AMBER_FRAME) > 0.5).mean() < 0.3


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", NAMES)
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
