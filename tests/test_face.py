"""Face analysis: every face found (one, two, five small ones, none), landmarks in full-resolution
coordinates at any size, the person matte, the overlay, and a quiet mediapipe."""
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage import data

from retouch.face import analyse, detect_landmarks, draw_overlay
from retouch.photo import Photo

from portraits import OUTPUT, faces, photo, save_png

# (portrait, scale, x, y) pasted onto a textured canvas; scales give faces 90-150 px wide.
COMPOSITES = {
    "two": ((1100, 620), [("astronaut", 1.0, 20, 50), ("grace_hopper", 1.0, 560, 10)]),
    "five": ((2000, 1200), [("astronaut", 1.0, 40, 60), ("grace_hopper", 0.55, 640, 80),
                            ("astronaut", 1.5, 1200, 0), ("grace_hopper", 0.75, 100, 700),
                            ("astronaut", 1.15, 580, 590)]),
}


def _canvas(size: tuple[int, int]) -> np.ndarray:
    """A smooth, mottled grey wall (no faces in it)."""
    noise = np.random.default_rng(7).random((size[1] // 48 + 1, size[0] // 48 + 1, 1)).astype(np.float32)
    smooth = cv2.resize(noise, size, interpolation=cv2.INTER_CUBIC)[..., None]
    return np.clip(0.3 + 0.15 * smooth * np.array([1.0, 0.95, 0.9], np.float32), 0, 1)


def composite(name: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """The composite's pixels and, per pasted portrait, where its face's landmarks should land."""
    size, placements = COMPOSITES[name]
    canvas = _canvas(size)
    expected = []
    for portrait, scale, x, y in placements:
        pixels = photo(portrait).pixels
        if scale != 1.0:
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
            pixels = np.clip(cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=interpolation), 0, 1)
        canvas[y:y + pixels.shape[0], x:x + pixels.shape[1]] = pixels
        expected.append(faces(portrait).items[0].landmarks * scale + np.array([x, y], np.float32))
    return canvas, expected


@pytest.fixture(scope="module", params=sorted(COMPOSITES))
def analysed_composite(request):
    pixels, expected = composite(request.param)
    return request.param, pixels, expected, analyse(Photo(pixels), identity=False)


@pytest.fixture(scope="module")
def upscaled():
    """The astronaut upscaled to 3000 px (landmarks must scale with it)."""
    pixels = np.clip(cv2.resize(photo("astronaut").pixels, (3000, 3000), interpolation=cv2.INTER_CUBIC), 0, 1)
    return pixels, detect_landmarks(pixels)


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_one_face_with_landmarks_inside_its_box(name):
    found = faces(name)
    assert len(found) == 1
    face = found.items[0]
    assert face.landmarks.shape == (478, 2) and face.landmarks.dtype == np.float32
    x0, y0, x1, y1 = face.box
    assert (face.landmarks >= [x0, y0]).all() and (face.landmarks <= [x1, y1]).all()
    assert 0.5 <= face.confidence <= 1.0
    assert found.size == photo(name).size
    # the box holds the forehead: at least 15% of the landmark height above the top landmark
    assert face.landmarks[:, 1].min() - y0 >= 0.15 * np.ptp(face.landmarks[:, 1]) or y0 == 0


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_embedding_is_normalised(name):
    embedding = faces(name).items[0].embedding
    assert embedding.shape == (128,)
    assert np.linalg.norm(embedding) == pytest.approx(1.0, abs=1e-3)


def test_composite_finds_every_face_where_it_was_pasted(analysed_composite):
    name, pixels, expected, found = analysed_composite
    assert len(found) == len(expected), name
    for landmarks in expected:
        interocular = np.linalg.norm(landmarks[468] - landmarks[473])
        errors = [np.linalg.norm(f.landmarks - landmarks, axis=1).mean() / interocular for f in found]
        assert min(errors) < 0.05, (name, min(errors))
    widths = sorted(round(np.ptp(f.landmarks[:, 0])) for f in found)
    if name == "five":
        assert widths[0] < 100 and widths[-1] < 160, widths     # the small faces the full-range path is for


def test_no_face_no_person():
    found = analyse(Photo(data.coffee().astype(np.float32) / 255), identity=False)
    assert len(found) == 0 and found.person is None
    assert found.size == (600, 400)


def test_landmarks_scale_with_the_image(upscaled):
    pixels, found = upscaled
    assert len(found) == 1
    factor = pixels.shape[1] / 512
    small = faces("astronaut").items[0]
    errors = np.linalg.norm(found[0].landmarks - small.landmarks * factor, axis=1)
    assert np.median(errors) < 3.0 and np.percentile(errors, 95) < 0.03 * found[0].interocular, \
        (np.median(errors), np.percentile(errors, 95))
    assert np.allclose(found[0].box, np.array(small.box) * factor, atol=0.03 * (small.box[2] - small.box[0]) * factor)


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_redetection_on_the_face_box_alone(name):
    """What the drift measure does: detect again on just the face's box."""
    face = faces(name).items[0]
    x0, y0, x1, y1 = face.box
    found = detect_landmarks(photo(name).pixels[y0:y1, x0:x1])
    assert len(found) == 1
    error = np.linalg.norm(found[0].landmarks + [x0, y0] - face.landmarks, axis=1).mean()
    assert error < 0.03 * face.interocular


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_person_matte_covers_the_person_not_the_background(name):
    found = faces(name)
    matte = found.person
    height, width = photo(name).pixels.shape[:2]
    assert matte is not None and matte.shape == (height, width) and matte.dtype == np.float32
    assert 0.0 <= matte.min() and matte.max() <= 1.0
    corner = 40
    assert matte[:corner, :corner].mean() < 0.02 and matte[:corner, -corner:].mean() < 0.02
    x0, y0, x1, y1 = found.items[0].box
    centre = found.items[0].landmarks[[1, 4, 6, 168]]       # nose and its bridge
    assert all(matte[int(y), int(x)] > 0.95 for x, y in centre)
    # soft at the edge (hair), hard inside and far away
    assert 0.003 < np.mean((matte > 0.05) & (matte < 0.95)) < 0.1


def test_person_false_and_identity_false_skip_their_work():
    found = analyse(photo("astronaut"), identity=False, person=False)
    assert found.person is None and found.items[0].embedding is None
    assert set(found.items[0].regions)


def test_overlay_draws_on_faces_and_leaves_the_rest(analysed_composite):
    name, pixels, _, found = analysed_composite
    drawn = draw_overlay(pixels, found)
    assert drawn.shape == pixels.shape and drawn.dtype == np.uint8
    original = np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8)
    changed = np.abs(drawn.astype(int) - original).max(-1) > 8
    for face in found:
        x0, y0, x1, y1 = face.box
        assert changed[y0:y1, x0:x1].mean() > 0.2
    assert changed.mean() < 0.25
    save_png(drawn.astype(np.float32) / 255, f"overlay_{name}.png")


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_overlay_of_portraits(name):
    drawn = draw_overlay(photo(name).pixels, faces(name))
    assert save_png(drawn.astype(np.float32) / 255, f"overlay_{name}.png").exists()
    assert (OUTPUT / f"overlay_{name}.png").stat().st_size > 10_000


def test_mediapipe_is_quiet():
    """Mediapipe's start-up chatter must not reach the CLI's stderr."""
    code = ("import numpy as np; from skimage import data; from retouch.face import analyse; "
            "from retouch.photo import Photo; "
            "f = analyse(Photo(data.astronaut().astype(np.float32) / 255), identity=False); print(len(f))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert result.stderr.strip() == ""


def test_stderr_survives_graphs_created_on_two_threads():
    """A big frame's first analysis creates the small-face pass's graph on the helper thread while the
    main thread creates its own: each silences file descriptor 2 while it does, and stderr must come back
    (overlapping redirections once left it silenced for good, swallowing every later error)."""
    code = ("import os, cv2, numpy as np; cv2.setNumThreads(2); from retouch.face import analyse; "
            "from retouch.photo import Photo; "
            "analyse(Photo(np.full((2667, 4000, 3), 0.5, np.float32)), identity=False); "
            "os.write(2, b'stderr is open')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "stderr is open" in result.stderr
