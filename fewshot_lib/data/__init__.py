"""Data: on-disk records, the synthetic talking heads, video preparation and K-shot episodes.

>>> from fewshot_lib.data import VideoDataset, make_loader, synthetic_split   # doctest: +SKIP
>>> dataset = VideoDataset(synthetic_split("train"), k=8)     # or VideoDataset("runs/synth/train")
>>> batch = next(iter(make_loader(dataset, batch_size=4)))
>>> batch["frames"].shape                                     # (B, K, 3, S, S) in [-1, 1]

Introduced in notebook 02.
"""
from .episodes import EpisodeError, EpisodeSampler, Video, VideoDataset, make_loader, to_tensor
from .records import Record, RecordError, find_records, write_record
from .synthetic import (HELDOUT_FIRST, SPLITS, VAL_FIRST, Expression, FaceShape, Identity, Pose, Scene,
                        SyntheticConfig, SyntheticHeads, SyntheticVideo, default_config, render_frame,
                        synthetic_split, write_synthetic)

__all__ = [
    "EpisodeError", "EpisodeSampler", "Expression", "FaceShape", "HELDOUT_FIRST", "Identity", "Pose", "Record",
    "RecordError", "SPLITS", "Scene", "SyntheticConfig", "SyntheticHeads", "SyntheticVideo", "VAL_FIRST", "Video",
    "VideoDataset", "default_config", "find_records", "make_loader", "render_frame", "synthetic_split",
    "to_tensor", "write_record", "write_synthetic",
]
