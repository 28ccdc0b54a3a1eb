"""background: known answers on the astronaut (issue): the far background becomes the target colour, the
face core is untouched and there is no halo just outside the person; plus gradient, image and params."""
import functools

import cv2
import numpy as np
import pytest
from PIL import Image

from retouch import edits
from retouch.color import delta_e_rgb, to_lab, to_linear, to_srgb
from retouch.edits import background
from retouch.params import ParamError
from retouch.photo import Faces
from retouch.pipeline import blend

from portraits import faces, photo, save_png, side_by_side

FAR = 0.03        # share of the image width beyond which a background pixel counts as far from the person
NEAR = 0.015      # width of the band just outside the person's edge (matte < 0.5) checked for a halo
HALO_ALPHA = 0.1  # ... in its nearly clear pixels


def distance_to(region: np.ndarray) -> np.ndarray:
    """Euclidean distance in pixels from each pixel to the nearest pixel of `region` (bool)."""
    return cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


@functools.lru_cache(maxsize=None)
def scene(name: str):
    """A portrait, its analysis, and each pixel's distance to the person (matte >= 0.5)."""
    picture, found = photo(name), faces(name)
    return picture, found, distance_to(found.person >= 0.5)


@pytest.fixture(scope="module")
def astronaut():
    return scene("astronaut")


def replaced(astronaut, **values):
    picture, found, _ = astronaut
    params = background.Params(**values)
    change = background.apply(picture, found, params)
    target = np.broadcast_to(background.backdrop(params, *picture.size), picture.pixels.shape)
    return blend(picture.pixels, change, 1.0), target, change


def halo(astronaut, result, target) -> float:
    """Mean dE2000 to the target in the band just outside the person's edge, where the matte is nearly
    clear (alpha < HALO_ALPHA: pixels with more alpha are hair, whose ideal is not the target)."""
    picture, found, outside = astronaut
    band = (outside > 0) & (outside <= NEAR * picture.size[0]) & (found.person < HALO_ALPHA)
    return float(delta_e_rgb(result[band], target[band]).mean())


def face_core(astronaut) -> np.ndarray:
    """The face's skin farther than FAR inside the person's edge: what a background edit must not touch."""
    picture, found, _ = astronaut
    skin = found.items[0].regions["skin"].full(picture.pixels.shape[:2]) > 0.99
    return skin & (distance_to(found.person < 0.5) > FAR * picture.size[0])


def save_zoom(before: np.ndarray, after: np.ndarray, box, name: str) -> None:
    """Before | after of `box` (x0, y0, x1, y1), upscaled 4x with nearest pixels, to look at at 100%."""
    x0, y0, x1, y1 = box
    pair = np.concatenate([before[y0:y1, x0:x1], after[y0:y1, x0:x1]], axis=1)
    save_png(cv2.resize(pair, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST), name)


@pytest.mark.parametrize("name, color, hair", [
    ("astronaut", "grey", (120, 0, 330, 150)),
    ("astronaut", "white", (120, 0, 330, 150)),
    ("grace_hopper", "grey", (130, 0, 400, 200)),
])
def test_known_answer_far_background_target_face_core_untouched_no_halo(name, color, hair):
    portrait = scene(name)
    picture, _, outside = portrait
    result, target, _ = replaced(portrait, color=color)
    plain, _, _ = replaced(portrait, color=color, decontaminate=0.0)
    far = outside > FAR * picture.size[0]
    far_share = float((delta_e_rgb(result[far], target[far]) <= 2.0).mean())
    core = face_core(portrait)
    core_change = float(delta_e_rgb(result[core], picture.pixels[core]).max())
    edge, edge_plain = halo(portrait, result, target), halo(portrait, plain, target)
    print(f"\n{name} on {color}: far within dE2 {far_share:.4f}, face core max dE {core_change:.3f} "
          f"({int(core.sum())} px), halo band mean dE {edge:.2f} (plain alpha blending {edge_plain:.2f})")
    side_by_side(picture.pixels, result, f"background_{name}_{color}.png")
    save_zoom(picture.pixels, result, hair, f"background_{name}_{color}_hair_zoom.png")
    assert far_share >= 0.99
    assert core.sum() > 1000 and core_change < 0.5
    assert edge <= 5.0
    # near-clear pixels hold little of either background; where decontamination matters (the old wall in
    # the hair) is known-answer tested in test_hair_matte.py
    assert edge < edge_plain + 0.5


def test_mask_covers_every_changed_pixel_and_spares_the_core(astronaut):
    picture, found, _ = astronaut
    _, _, change = replaced(astronaut)
    assert change.box == (0, 0, *picture.size)
    moved = np.abs(change.pixels - picture.pixels).max(axis=-1) > 1e-6
    assert np.all(change.mask[moved] == 1.0)
    assert np.all(change.mask[face_core(astronaut)] == 0.0)
    assert np.all(change.mask[found.person <= 0.0] == 1.0)


def test_without_decontamination_or_wrap_it_is_alpha_blending_in_linear_light(astronaut):
    picture, found, _ = astronaut
    result, target, _ = replaced(astronaut, color="#3060a0", decontaminate=0.0, light_wrap=0.0)
    alpha = background.matte_alpha(found.person)[..., None]
    expected = to_srgb(alpha * to_linear(picture.pixels) + (1 - alpha) * to_linear(target))
    assert np.abs(result - expected).max() < 1e-4


def test_half_strength_is_halfway(astronaut):
    picture, _, _ = astronaut
    result, _, change = replaced(astronaut, color="white")
    half = blend(picture.pixels, change, 0.5)
    assert np.allclose(half, (picture.pixels + result) / 2, atol=1e-5)


def test_gradient_is_vertical_and_monotone(astronaut):
    picture, found, _ = astronaut
    result, target, _ = replaced(astronaut, mode="gradient", color="studio-grey")
    clear = found.person <= 0.0
    assert np.allclose(result[clear], target[clear], atol=1e-6)
    rows = background.backdrop(background.Params(mode="gradient", color="studio-grey"), *picture.size)
    assert rows.shape == (picture.size[1], 1, 3)        # one colour per row: the same in every column
    lightness = to_lab(rows[:, 0])[:, 0]
    assert np.all(np.diff(lightness) <= 1e-3) and lightness[0] - lightness[-1] > 15
    assert delta_e_rgb(rows[0, 0], background.hex_rgb(background.COLORS["studio-grey"])) < 0.5
    side_by_side(picture.pixels, result, "background_astronaut_gradient.png")


def test_gradient_to_a_given_bottom_colour():
    rows = background.backdrop(background.Params(mode="gradient", color="white", color2="#203040"), 4, 300)
    assert delta_e_rgb(rows[-1, 0], background.hex_rgb("#203040")) < 0.5
    assert np.all(np.diff(to_lab(rows[:, 0])[:, 0]) < 0)


def test_image_backdrop_covers_the_frame_centre_cropped(astronaut, tmp_path):
    picture, found, _ = astronaut
    wide = np.zeros((200, 400, 3), np.uint8)                  # 2:1 pattern onto a square frame
    wide[..., 0] = np.linspace(0, 255, 400)[None, :]           # red encodes the source column
    wide[..., 2] = 200
    path = tmp_path / "backdrop.png"
    Image.fromarray(wide).save(path)
    result, target, _ = replaced(astronaut, mode="image", image=str(path))
    assert target.shape == picture.pixels.shape and (target[..., 2] > 0.75).all()   # no uncovered pixel
    red = target[..., 0].mean(axis=0)                          # the middle half of the source columns
    assert abs(red[0] - 0.25) < 0.02 and abs(red[-1] - 0.75) < 0.02
    clear = found.person <= 0.0
    assert np.allclose(result[clear], target[clear], atol=1e-6)
    side_by_side(picture.pixels, result, "background_astronaut_image.png")


def test_no_person_means_nothing(astronaut):
    picture, found, _ = astronaut
    assert background.apply(picture, Faces(found.items, None, picture.size), background.Params()).empty


def test_runs_without_a_face_when_a_person_is_found(astronaut):
    picture, found, _ = astronaut
    assert not edits.get("background").needs_face
    change = background.apply(picture, Faces([], found.person, picture.size), background.Params())
    assert not change.empty


@pytest.mark.parametrize("value, expected", [
    ("#A0b0C0", "#a0b0c0"), ("a0b0c0", "#a0b0c0"), ("#FfF", "#ffffff"), ("gray", "#808080"), ("Studio Gray", background.COLORS["studio-grey"]),
    ("white", "#ffffff"),
])
def test_colours_accept_hex_and_names(value, expected):
    assert background.Params(color=value).color == expected


@pytest.mark.parametrize("values, fragment", [
    ({"color": "pink"}, "background.color: 'pink'"),
    ({"color": "#12345"}, "background.color: '#12345'"),
    ({"color": "#ggg"}, "background.color: '#ggg'"),
    ({"color2": "nope", "mode": "gradient"}, "background.color2: 'nope'"),
    ({"mode": "blur"}, "background.mode: 'blur'"),
    ({"mode": "image"}, "background.image"),
    ({"mode": "image", "image": "/no/such/backdrop.jpg"}, "background.image: '/no/such/backdrop.jpg'"),
])
def test_bad_params_name_the_parameter_and_value(values, fragment):
    with pytest.raises(ParamError, match=fragment):
        background.Params(**values)


def test_numeric_params_are_declared_and_bounded():
    declared = edits.get("background").declarations
    assert set(declared) == {"light_wrap", "decontaminate"}
    assert declared["light_wrap"].limit <= 0.3 and declared["decontaminate"].limit == 1.0
    with pytest.raises(ParamError, match="background.light_wrap"):
        edits.get("background").params({"light_wrap": 0.5})


def test_an_image_backdrop_is_read_when_the_params_are_built_never_by_the_edit(astronaut, tmp_path, monkeypatch):
    """Edits never read files: the picture parameter holds the pixels, read once when the params were
    built; records and digests still see its path."""
    from retouch import io, presets
    path = tmp_path / "paper.png"
    Image.fromarray(np.full((40, 60, 3), (200, 180, 150), np.uint8)).save(path)
    preset = presets.with_changes(presets.load("corporate"), only=("background",),
                                  settings={"background.mode": "image", "background.image": str(path)})
    params = preset.step("background").params
    assert params.image == str(path) and params.image.pixels.shape == (40, 60, 3)
    assert preset.summary()["steps"][0]["params"]["image"] == str(path)

    def refuse(*args, **kwargs):
        raise AssertionError("the background edit opened a file")
    monkeypatch.setattr(io, "read", refuse)
    picture, found, _ = astronaut
    assert not edits.get("background").apply(picture, found, params).empty
