"""A picture of what analysis found: tinted region masks, landmarks, boxes, confidences, matte outline."""
from __future__ import annotations

import cv2
import numpy as np

from ..photo import Faces
from .landmarks import to_uint8

# RGB tint per region; later entries are drawn over earlier ones.
TINTS = {"skin": (0, 200, 80), "under_eye": (170, 60, 255), "brows": (255, 140, 0), "lips": (255, 0, 60),
         "inner_mouth": (255, 240, 0), "scleras": (0, 140, 255), "irises": (0, 255, 255)}
TINT_OPACITY = 0.45
BOX_COLOUR, POINT_COLOUR, MATTE_COLOUR = (255, 255, 0), (255, 255, 255), (255, 0, 255)


def draw_overlay(pixels: np.ndarray, faces: Faces) -> np.ndarray:
    """uint8 RGB copy of float RGB `pixels` with `faces` drawn on it (line widths follow the frame size)."""
    image = to_uint8(pixels).astype(np.float32)
    thickness = max(1, round(max(image.shape[:2]) / 600))
    for face in faces:
        x0, y0, x1, y1 = face.box
        patch = image[y0:y1, x0:x1]
        for name, tint in TINTS.items():
            region = face.regions.get(name)
            if region is not None:
                alpha = TINT_OPACITY * region.crop(face.box)[..., None]
                patch += alpha * (np.array(tint, np.float32) - patch)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    if faces.person is not None:
        outline = (faces.person > 0.5).astype(np.uint8)
        contours, _ = cv2.findContours(outline, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(image, contours, -1, MATTE_COLOUR, thickness, cv2.LINE_AA)
    for face in faces:
        x0, y0, x1, y1 = face.box
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), BOX_COLOUR, thickness, cv2.LINE_AA)
        dot = max(1, round(face.interocular / 120))
        for x, y in face.landmarks:
            cv2.circle(image, (int(x), int(y)), dot, POINT_COLOUR, -1, cv2.LINE_AA)
        cv2.putText(image, f"{face.confidence:.2f}", (x0, max(0, y0 - 4 * thickness)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, BOX_COLOUR, thickness, cv2.LINE_AA)
    return image
