"""A fake-frame detector: a small CNN that tells the course's generated frames from real ones, and its limits.

The other side of everything this course builds. The pieces, one module each:

* :mod:`.generators`: the fakes, from the three generators of the course (``"paper"``, ``"tps"``,
  ``"warp"``), each forging the same target frames of a synthetic person from K of its other frames;
* :mod:`.frames`: the labelled frames of a split: real (the true targets, crops of a real photo) and
  each generator's fakes; training and held-out people never meet;
* :mod:`.augment`: random shifts, flips and colour jitter of a training batch;
* :mod:`.model`: :class:`FakeDetector`, four convolutions from a 64² frame to one logit, saved as safetensors;
* :mod:`.train`: :class:`DetectorConfig` and :func:`train_detector` (binary cross-entropy, AdamW);
* :mod:`.roc`: the ROC curve and its area, by hand;
* :mod:`.evaluate`: AUC per generator, the cross-generator table, the table after JPEG 50, resizing to
  50 % and back, H.264 (:mod:`fewshot_lib.perturb`: what a frame goes through after it is made);
* :mod:`.detect` and :mod:`.cli`: ``fewshot detect FILE…`` and ``fewshot detector-train``.

>>> train, test = build_frames("train"), build_frames("heldout")           # doctest: +SKIP
>>> detector = train_detector(*train.labelled(["paper"]))                    # real vs the paper's fakes
>>> generator_aucs(detector, test)                                           # {'paper': AUC, 'tps': AUC, 'warp': AUC}

Introduced in notebook 11.
"""
from .augment import augment
from .cli import add_detect_command, add_detector_train_command
from .detect import LIMITS, Detection, detect, read_frames, square
from .evaluate import PERTURBATIONS, cross_generator, format_table, generator_aucs, robustness
from .frames import PHOTOS, SIZE, FrameSet, FramesConfig, build_frames, clips, default_frames_config, photo_crops
from .generators import FAKERS, GENERATORS, Clip, make_fakes
from .model import SHIPPED, DetectorError, FakeDetector, load_detector
from .roc import auc, roc_auc, roc_curve
from .train import DetectorConfig, default_detector_config, predict, train_detector

__all__ = [
    "FAKERS", "GENERATORS", "LIMITS", "PERTURBATIONS", "PHOTOS", "SHIPPED", "SIZE", "Clip", "Detection",
    "DetectorConfig", "DetectorError", "FakeDetector", "FrameSet", "FramesConfig", "add_detect_command",
    "add_detector_train_command", "auc", "augment", "build_frames", "clips", "cross_generator",
    "default_detector_config", "default_frames_config", "detect", "format_table", "generator_aucs",
    "load_detector", "make_fakes", "photo_crops", "predict", "read_frames", "robustness", "roc_auc",
    "roc_curve", "square", "train_detector",
]
