"""Evaluation: the paper's self-reenactment protocol (Zakharov et al. 2019, Sec. 4.1), its metrics, and the
course's quality-bar measurements.

What is where (each module one concept; every public name is also importable from here):

* :mod:`~fewshot_lib.evaluate.metrics`: SSIM (:func:`ssim`, :func:`ssim_map`), PSNR, CSIM
  (:class:`IdentityNetwork`, :func:`csim`), FID (:func:`frechet_distance`, :func:`fid_from_features`),
  LPIPS and FID when their weights load (:func:`optional_metrics`); :class:`EvaluationError`.
  Notebook 08.
* :mod:`~fewshot_lib.evaluate.protocol`: the self-reenactment protocol (:class:`EvalConfig`,
  :func:`split_frames`, :func:`heldout_videos`, :func:`self_reenactment`, :func:`summarize`) and
  ``fewshot evaluate``. Notebook 08.
* :mod:`~fewshot_lib.evaluate.baselines`: what needs no model (:func:`nearest_pose_frames`,
  :func:`tps_nearest_frame`, :func:`mean_frame`, :func:`mean_colour`). Notebook 08.
* :mod:`~fewshot_lib.evaluate.references`: random vs pose-distant reference frames
  (:func:`pose_distance`, :func:`reference_frames`, :func:`reference_settings`). Notebook 08.
* :mod:`~fewshot_lib.evaluate.report`: the summary as a table, a figure and the quality bar
  (:func:`format_table`, :func:`plot_summary`, :func:`quality_bar`). Notebook 08.
* :mod:`~fewshot_lib.evaluate.identity`: whose identity ends up in the output
  (:func:`cross_reenactment`, :func:`identity_swap`, :func:`identity_leak`, :func:`adaptation_leak`)
  and ``fewshot identity-leak``. Notebooks 08 and 09.
* :mod:`~fewshot_lib.evaluate.model_card`: a checkpoint's quality table by region
  (:func:`make_model_card`) and ``fewshot model-card``. The card of the shipped checkpoint: data/README.md.

>>> rows = self_reenactment(E, G, D, heldout_videos(64, 40, 8), EvalConfig())     # doctest: +SKIP
>>> print(format_table(summarize(rows)))                                           # doctest: +SKIP
"""
from .baselines import mean_colour, mean_frame, nearest_pose_frames, nearest_shots, tps_nearest_frame
from .identity import (LEAK_MODES, PROPORTIONS, adaptation_leak, cross_reenactment, face_proportions,
                       format_leak, identity_leak, identity_swap, leak_of_pair, leak_summary, shape_error)
from .metrics import (EvaluationError, IdentityNetwork, csim, fid_from_features, frechet_distance, gaussian_window,
                      optional_metrics, psnr, ssim, ssim_map)
from .model_card import (METHODS, REGIONS, SETTINGS, format_model_card, make_model_card, person_mask,
                         region_scores)
from .protocol import (BASELINES, METRICS, VARIANTS, EvalConfig, Measurement, add_evaluate_command, heldout_videos,
                       is_synthetic, measure, self_reenactment, split_frames, summarize)
from .references import pose_distance, reference_frames, reference_settings
from .report import format_table, plot_summary, quality_bar, write_json

__all__ = [
    "BASELINES", "LEAK_MODES", "METHODS", "METRICS", "PROPORTIONS", "REGIONS", "SETTINGS", "VARIANTS", "EvalConfig",
    "EvaluationError", "IdentityNetwork", "Measurement", "adaptation_leak", "add_evaluate_command",
    "cross_reenactment", "csim", "face_proportions", "fid_from_features", "format_leak", "format_model_card",
    "format_table", "frechet_distance", "gaussian_window", "heldout_videos", "identity_leak", "identity_swap",
    "is_synthetic", "leak_of_pair", "leak_summary", "make_model_card", "mean_colour", "mean_frame", "measure",
    "nearest_pose_frames", "nearest_shots", "optional_metrics", "person_mask", "plot_summary", "pose_distance",
    "psnr", "quality_bar", "reference_frames", "reference_settings", "region_scores", "self_reenactment",
    "shape_error", "split_frames", "ssim", "ssim_map", "summarize", "tps_nearest_frame", "write_json",
]
