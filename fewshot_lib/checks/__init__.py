"""Self-checks for the course's exercises: ``check_<name>(your_function)``.

Each exercise asks for one function; the cell after it hands that function to its check::

    from fewshot_lib.checks import check_adain
    check_adain(adain_by_hand)

A check tests *properties* on seeded inputs (shapes, agreement with the library, invariances,
gradients, the paper's constraints), never stored answers, and prints one line per property::

    check_adain: AdaIN(x, ψ) = ψ_scale · IN(x) + ψ_bias, with ψ = [scale | bias]
      ✓ equals fewshot_lib.models.AdaIN   (max |diff| 4.8e-07)
      ✗ each channel's mean is its ψ bias   (max |diff| 1.3)

Then it raises :class:`CheckFailed` listing what failed, with a hint. The
``NotImplementedError`` of an exercise not done yet passes through unchanged: a student copy
stops at the exercise with the exercise's own message (``docs/instructors.md``).

One module per notebook, named for its chapter (``landmarks`` for 01 … ``responsible_use`` for 11); :mod:`.check` holds
the :class:`Check` they are built on. Introduced in notebook 01; every notebook's exercises use it.
"""
from .check import Check, CheckFailed
from .landmarks import check_sketch_strokes, check_distance_to_polyline
from .data import check_draw_episode, check_to_tensor
from .embedder import check_largest_singular_value, check_down_block, check_self_attention
from .generator import check_instance_norm, check_adain, check_adain_params, check_projection_score
from .losses import check_hinge_loss, check_adversarial_loss, check_embedding_match
from .meta_learning import check_embed_and_generate, check_discriminator_losses
from .meta_learning import check_not_collapsed as check_not_collapsed
from .fine_tuning import check_fine_tuning_start, check_fine_tuning_losses
from .evaluation import check_ssim, check_nearest_pose
from .puppeteering import check_similarity, check_adapt_frame
from .warping import check_tps_fit, check_tps_grid
from .responsible_use import check_dct_matrix, check_dither_modulation, check_dither_reading

# check_not_collapsed is importable but not listed: it checks a training run, not an exercise
__all__ = [
    "Check", "CheckFailed", "check_adain", "check_adain_params", "check_adapt_frame", "check_adversarial_loss",
    "check_dct_matrix", "check_discriminator_losses", "check_dither_modulation", "check_dither_reading", "check_distance_to_polyline", "check_down_block", "check_draw_episode",
    "check_embed_and_generate", "check_embedding_match", "check_fine_tuning_losses", "check_fine_tuning_start",
    "check_hinge_loss", "check_instance_norm", "check_largest_singular_value", "check_nearest_pose",
    "check_projection_score", "check_self_attention", "check_similarity", "check_sketch_strokes", "check_ssim",
    "check_to_tensor",
    "check_tps_fit", "check_tps_grid",
]
