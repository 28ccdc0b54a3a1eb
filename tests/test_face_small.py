"""The small-face pass: a face about 120 px wide in a 6000x4000 frame (30 px on the default 1500 px proxy)
is found with all its landmarks where it was pasted, only thanks to that pass; a big frame without a face
still has none."""
import cv2
import numpy as np
import pytest
from skimage import data

from retouch.face import detect_landmarks
from retouch.face import landmarks as landmark_module

from portraits import faces, photo

FRAME = (6000, 4000)
FACE_WIDTH = 120                 # the pasted face's landmark extent, full-resolution pixels
PASTED_AT = (4100, 2700)


@pytest.fixture(scope="module")
def backdrop() -> np.ndarray:
    """skimage's coffee (no face in it) upscaled to a 24 MP frame, float32 RGB."""
    return np.clip(cv2.resize(data.coffee().astype(np.float32) / 255, FRAME, interpolation=cv2.INTER_CUBIC), 0, 1)


@pytest.fixture(scope="module")
def small_face(backdrop) -> tuple[np.ndarray, np.ndarray]:
    """The backdrop with the astronaut pasted at a scale that makes her face FACE_WIDTH wide, and where
    her landmarks should land."""
    reference = faces("astronaut").items[0].landmarks
    scale = FACE_WIDTH / np.ptp(reference[:, 0])
    portrait = cv2.resize(photo("astronaut").pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    pixels = backdrop.copy()
    x, y = PASTED_AT
    pixels[y:y + portrait.shape[0], x:x + portrait.shape[1]] = np.clip(portrait, 0, 1)
    return pixels, reference * scale + np.array(PASTED_AT, np.float32)


@pytest.mark.parametrize("frame, tile", [
    ((4000, 6000), 384),          # 24 MP: 4x the proxy, a 128 px face is 32 proxy px, 16 of the model's 192
    ((3000, 4000), 576),          # 12 MP: bigger tiles see the same faces
    ((2400, 3600), None),         # 2.4x: the 640 px tiles already see 128 px faces
    ((8000, 12000), 384),         # 96 MP: never below twice the model's input
])
def test_small_face_tiles_are_sized_for_the_frame(frame, tile):
    proxy = tuple(round(side * 1500 / max(frame)) for side in frame)
    assert landmark_module.small_face_tile(frame, proxy) == tile


@pytest.mark.timeout(120)
def test_a_small_face_in_a_big_frame_is_found_with_its_landmarks(small_face):
    pixels, expected = small_face
    found = detect_landmarks(pixels)
    assert len(found) == 1
    face = found[0]
    assert face.landmarks.shape == (478, 2)
    error = np.linalg.norm(face.landmarks - expected, axis=1).mean() / face.interocular
    assert error < 0.05, error
    assert np.ptp(face.landmarks[:, 0]) == pytest.approx(FACE_WIDTH, rel=0.1)


@pytest.mark.timeout(120)
def test_without_the_small_face_pass_that_face_is_missed(small_face, monkeypatch):
    monkeypatch.setattr(landmark_module, "small_face_tile", lambda frame, proxy: None)
    assert detect_landmarks(small_face[0]) == []


@pytest.mark.timeout(120)
def test_a_big_frame_without_a_face_has_none(backdrop):
    assert detect_landmarks(backdrop) == []


@pytest.mark.timeout(180)
def test_in_a_square_frame_the_small_face_tiles_alone_find_mid_size_faces(monkeypatch):
    """A square 23 MP frame: the small-face tiles, overlapping as much as the 640 px level would, take
    fewer model runs than both levels, so they run alone. Faces 60-120 proxy px wide (what the 640 px
    tiles are for), one of them across a tile edge, must all be found where they were pasted."""
    frame = (4800, 4800)
    coffee = data.coffee().astype(np.float32) / 255
    backdrop = np.clip(cv2.resize(coffee, frame, interpolation=cv2.INTER_CUBIC), 0, 1)
    reference = faces("astronaut").items[0].landmarks
    pixels, expected = backdrop.copy(), []
    for width, corner in ((380, (100, 150)), (300, (1000, 1700)), (200, (3300, 3400))):
        scale = width / np.ptp(reference[:, 0])
        portrait = cv2.resize(photo("astronaut").pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rows, columns = slice(corner[1], corner[1] + portrait.shape[0]), slice(corner[0], corner[0] + portrait.shape[1])
        pixels[rows, columns] = np.clip(portrait, 0, 1)
        expected.append(reference.mean(0) * scale + np.array(corner, np.float32))
    levels = []
    tiled = landmark_module._tiled_detections
    monkeypatch.setattr(landmark_module, "_tiled_detections",
                        lambda proxy, tile, overlap, graph="detect_full": levels.append(tile) or
                        tiled(proxy, tile, overlap, graph))
    found = detect_landmarks(pixels)
    assert landmark_module.TILE not in levels and len(levels) == 1
    centres = sorted(face.landmarks.mean(0).tolist() for face in found)
    assert len(centres) == 3
    assert np.allclose(centres, sorted(point.tolist() for point in expected), atol=20)
