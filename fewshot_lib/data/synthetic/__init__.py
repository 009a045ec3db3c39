"""The built-in synthetic talking heads: procedural people with exact iBUG-68 landmarks.

``geometry`` builds the 3D face (shape + expression -> 68 points, pose, camera); ``appearance``
says what people and their surroundings look like; ``motion`` moves them over time;
``render`` paints frames from the same geometry; ``dataset`` makes people, videos and splits.

>>> from fewshot_lib.data.synthetic import SyntheticHeads, synthetic_split   # doctest: +SKIP
>>> video = SyntheticHeads(seed=0).video(identity=0, video=0, num_frames=32, size=64)
>>> image, points = video.frame(0), video.landmarks[0]        # (64, 64, 3) uint8, (68, 2) float32
>>> train = synthetic_split("train")                          # a list of SyntheticVideo

Introduced in notebook 02.
"""
from .appearance import HAIR_STYLES, Appearance, Glasses, HairStyle, Identity, Scene, random_appearance, random_scene
from .dataset import (HELDOUT_FIRST, SPLITS, VAL_FIRST, SyntheticConfig, SyntheticHeads, SyntheticVideo,
                      add_synth_command, default_config, split_keys, synthetic_split, write_synthetic)
from .geometry import Camera, Expression, FaceShape, Pose, landmarks_3d
from .motion import Motion, random_motion
from .render import render_backdrop, render_frame

__all__ = [
    "HAIR_STYLES", "HELDOUT_FIRST", "SPLITS", "VAL_FIRST", "Appearance", "Camera", "Expression", "FaceShape",
    "Glasses", "HairStyle", "Identity", "Motion", "Pose", "Scene", "SyntheticConfig", "SyntheticHeads",
    "SyntheticVideo", "add_synth_command", "default_config", "landmarks_3d", "random_appearance",
    "random_motion", "random_scene", "render_backdrop", "render_frame", "split_keys", "synthetic_split",
    "write_synthetic",
]
