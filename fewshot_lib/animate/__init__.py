"""One photo in, a talking-head video out: the whole pipeline behind ``fewshot animate``.

>>> animate("face.jpg", drive="driver.mp4", out="talking.mp4")          # doctest: +SKIP
>>> for frame in animate_frames("face.jpg"):                            # doctest: +SKIP
...     ...                                                              # uint8 (256, 256, 3), the built-in sweep

The steps, each a piece built earlier in the course:

1. **Source** (:class:`Source`): a photo, or T frames of one person; landmarks detected
   (dlib by default), the face cropped square at the output side ``size`` (notebook 01).
   The crop *is* the output's frame: a 256² crop animates at 256².
2. **Driver** (:class:`Driver`): the landmarks that drive, one set per output frame: a video
   file (landmarks detected per frame, frames without a face skipped as in ``fewshot
   prepare``), the built-in **sweep** of the source's own face through head poses and
   expressions (:func:`sweep_motion`), or a built-in **synthetic** person talking. The
   driver is cropped like the source (a square box around its neutral frame's landmarks),
   so its landmarks are in pixels of an R × R crop.
3. **Landmark adaptation** (notebook 09, :func:`~fewshot_lib.puppeteer.adapt_landmarks`), on
   by default: the driver's motion on the source's face. ``raw=True`` is the paper's mode:
   the driver's own landmarks, as they sit in its crop.
4. **Method** (:data:`METHODS`): draws the source with the driving landmarks, R × R frames:
   ``"tps"`` warps the source's pixels with a thin-plate spline (notebook 10);
   ``"paper"`` is the paper's person model (notebook 07), drawn at its 64² and resized.
5. **Output**: frames streamed into an mp4 or GIF marked as synthetic (:mod:`~fewshot_lib.video`),
   alone or next to the driver and the source (``layout="side-by-side"``).

Every argument is checked before any landmark is detected, and the video is written under a
temporary name beside ``out`` and renamed at the end: a failure never leaves half a video.
Not introduced by one notebook: it strings together notebooks 01, 07, 09 and 10.

What is where (each module one concept; every public name is also importable from here):

* :mod:`~fewshot_lib.animate.source`: the person to animate (:class:`Source`) and :class:`AnimateError`.
* :mod:`~fewshot_lib.animate.driver`: the landmarks that drive (:class:`Driver`: a video, images,
  :func:`sweep_motion`, a synthetic person).
* :mod:`~fewshot_lib.animate.motion`: the driving landmarks on the source's face (:func:`drive_landmarks`,
  :func:`openings`, :func:`keep_open`) and the source frame nearest in pose (:func:`nearest_reference`).
* :mod:`~fewshot_lib.animate.methods`: the rendering methods (:class:`Method`, :class:`TPSMethod`,
  :class:`PaperMethod`, :class:`WarpMethod`, :data:`METHODS`, :class:`MethodOptions`).
* :mod:`~fewshot_lib.animate.pipeline`: the checks, :func:`prepare_animation`, :class:`Animation`,
  :func:`animate_frames`, :func:`animate`, :func:`check_output`, and ``fewshot animate``
  (:func:`add_animate_command`).
"""
from .driver import SMOOTH, SWEEP_FRAMES, SYNTHETIC_FRAMES, Driver, sweep_motion
from .methods import METHODS, MIN_OPENING, Method, MethodOptions, PaperMethod, TPSMethod, WarpMethod
from .motion import OPENINGS, drive_landmarks, keep_open, nearest_reference, normalise_shape, openings
from .pipeline import (DEFAULT_FPS, DEFAULT_METHOD, LAYOUTS, MIN_SIZE, Animation, add_animate_command,
                       animate, animate_frames, check_output, prepare_animation)
from .source import AnimateError, Source

__all__ = [
    "DEFAULT_FPS", "DEFAULT_METHOD", "LAYOUTS", "METHODS", "MIN_OPENING", "MIN_SIZE", "OPENINGS",
    "SMOOTH", "SWEEP_FRAMES", "SYNTHETIC_FRAMES", "AnimateError", "Animation", "Driver", "Method", "MethodOptions",
    "PaperMethod", "Source", "TPSMethod", "WarpMethod", "add_animate_command", "animate", "animate_frames",
    "check_output", "drive_landmarks", "keep_open", "nearest_reference", "normalise_shape", "openings",
    "prepare_animation", "sweep_motion",
]
