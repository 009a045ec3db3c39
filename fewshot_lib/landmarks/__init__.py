"""Landmarks: the iBUG-68 schema, detector backends, the landmark sketch and face crops.

>>> from fewshot_lib.landmarks import detect, draw_sketch, crop_face   # doctest: +SKIP
>>> points = detect("face.jpg", backend="dlib")       # (68, 2) float32 pixel (x, y)
>>> crop, points = crop_face("face.jpg", points, size=256)
>>> sketch = draw_sketch(points, size=256)            # (256, 256, 3) uint8: the generator's input

Introduced in notebook 01.
"""
from .backends import BACKENDS, Backend, BackendUnavailableError, DlibBackend, Face, FaceAlignmentBackend, get_backend
from .crop import CropBox, crop_face, face_box, face_boxes
from .detect import LandmarkTrack, NoFaceError, detect, detect_all, detect_video, follow_face, load_image
from .portraits import PORTRAITS, load_portrait
from .schema import NUM_LANDMARKS, PART_BY_NAME, PARTS, Part
from .sketch import draw_sketch, draw_sketches, line_width
from .smoothing import smooth_track

__all__ = [
    "BACKENDS", "Backend", "BackendUnavailableError", "CropBox", "DlibBackend", "Face", "FaceAlignmentBackend",
    "LandmarkTrack", "NUM_LANDMARKS", "NoFaceError", "PARTS", "PART_BY_NAME", "PORTRAITS", "Part", "crop_face", "detect",
    "detect_all", "detect_video", "draw_sketch", "draw_sketches", "face_box", "face_boxes", "follow_face",
    "get_backend", "line_width", "load_image", "load_portrait", "smooth_track",
]
