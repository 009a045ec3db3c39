"""Is an animated photo still a face, in the right pose, of the same person? Measured with dlib.

For a real photo there is no ground-truth video to compare with, so the self-reenactment metrics
(SSIM, PSNR) do not apply. Three questions a viewer asks instead, each answered by dlib, which
was trained on photos of real people and knows nothing of our models:

* **a face**: dlib's HOG detector finds a face in the frame (fraction of frames);
* **the right pose**: the 68 landmarks dlib finds there lie near the landmarks that drove the
  frame: NME = mean_j ‖l̂_j − l_j‖ / ‖l_36 − l_45‖ (normalised by the driving face's outer-eye-corner
  distance, the "inter-ocular" NME of 300-W);
* **the same person**: dlib's face distance, ‖id(frame) − id(photo)‖ with its 128-D face-recognition
  embedding, is below dlib's same-person threshold of 0.6.

Issue 13's bar for a one-photo animation: a face in ≥ 95 % of frames, NME ≤ 0.06, and the same
person in ≥ 95 % of frames. Introduced in notebook 10.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

SAME_PERSON = 0.6        # dlib's documented threshold on face distance for "the same person"
NME_BAR = 0.06           # issue 13's bar on landmark error (inter-ocular)
FRACTION_BAR = 0.95      # ... and on the fractions of frames


@dataclass(frozen=True)
class AnimationQuality:
    """What dlib says about a sequence of animated frames (fractions in [0, 1], NME and distances)."""

    frames: int
    face_found: float             # fraction of frames where dlib finds a face
    nme: float                    # median NME over the frames with a face
    same_person: float            # fraction of all frames with face distance < 0.6 (no face: not the same)
    face_distance: float          # median face distance over the frames with a face

    def meets_bar(self) -> bool:
        return self.face_found >= FRACTION_BAR and self.nme <= NME_BAR and self.same_person >= FRACTION_BAR

    def to_dict(self) -> dict:
        return {**asdict(self), "meets_bar": self.meets_bar()}

    def __str__(self) -> str:
        return (f"{self.frames} frames: a face in {self.face_found:.0%}, NME {self.nme:.3f}, "
                f"the same person in {self.same_person:.0%} (median face distance {self.face_distance:.3f})")


def inter_ocular_nme(found: np.ndarray, driving: np.ndarray) -> float:
    """NME of landmarks ``found`` (68, 2) against ``driving`` (68, 2), normalised by the outer eye corners."""
    scale = np.linalg.norm(driving[36] - driving[45])
    return float(np.linalg.norm(found - driving, axis=-1).mean() / scale)


def measure_animation(frames: Sequence[np.ndarray], driving_landmarks: np.ndarray, photo: np.ndarray,
                      photo_landmarks: np.ndarray, backend: str = "dlib") -> AnimationQuality:
    """The three measures for uint8 ``frames`` (T, R, R, 3) driven by ``driving_landmarks`` (T, 68, 2)
    (pixels of the frames), against the source ``photo`` (uint8) with its landmarks (68, 2)."""
    from .evaluate import IdentityNetwork
    from .landmarks import NoFaceError, detect

    identity = IdentityNetwork()
    source = identity.embed(photo, np.asarray(photo_landmarks, np.float32))
    found, nmes, distances = 0, [], []
    for frame, driving in zip(frames, np.asarray(driving_landmarks, np.float32)):
        try:
            points = detect(np.ascontiguousarray(frame), backend)
        except NoFaceError:
            continue
        found += 1
        nmes.append(inter_ocular_nme(points, driving))
        distances.append(float(np.linalg.norm(identity.embed(frame, points) - source)))
    count = len(frames)
    return AnimationQuality(frames=count, face_found=found / count,
                            nme=float(np.median(nmes)) if nmes else float("nan"),
                            same_person=sum(d < SAME_PERSON for d in distances) / count,
                            face_distance=float(np.median(distances)) if distances else float("nan"))
