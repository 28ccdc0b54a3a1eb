"""How deep inside a face's skin region a pixel lies, measured from the region's outer edge (its outline).

The skin region reaches the hairline, the face's sides, the jaw and the chin. Its outer edge is where the
face turns away from the light (its shading there is form) and where skin meets hair, background or a
frame (the region's colour model is least sure there). The holes the features leave (eyes, brows, lips,
nostrils) are inside the face and are not its outline; nor is the crop's border (a face cut by the
photo's edge goes on beyond it).
"""
from __future__ import annotations

import cv2
import numpy as np

SKIN = 0.5   # mask values above this are skin


def depth_inside(skin: np.ndarray, interocular: float) -> np.ndarray:
    """Per pixel of the soft (or bool) skin mask `skin` (HxW), the distance in inter-ocular distances to
    the region's outline: to the nearest non-skin pixel connected to the mask's border (hair, background,
    neck, a beard reaching the outline). Infinite everywhere when no non-skin touches the border."""
    outside = (skin <= SKIN).astype(np.uint8) if skin.dtype != bool else (~skin).astype(np.uint8)
    _, labels = cv2.connectedComponents(outside, connectivity=4)
    rim = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    beyond = np.isin(labels, rim[rim > 0])
    if not beyond.any():
        return np.full(skin.shape, np.inf, np.float32)
    distance = cv2.distanceTransform((~beyond).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    return distance / np.float32(max(interocular, 1e-6))
