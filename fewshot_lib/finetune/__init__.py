"""Few-shot fine-tuning (paper, "Two variants"): a model of a new person from T frames, or one photo.

Meta-learning gave us E, G (with its projection P) and D (with w₀, b). For a new person with
T frames x_1..x_T (T = 1 works: one photo) and their landmark sketches y_1..y_T::

    ê_NEW = (1/T) Σ_t E(x_t, y_t)          embed the T frames once; E is then dropped
    ψ′    = P · ê_NEW                       G's AdaIN parameters become a free vector
    w′    = w₀ + ê_NEW,  b′ = b             D's projection column for this person

then train all of G (its person-generic weights ψ and ψ′) and all of D (θ, w′, b′) on the T
frames: G on L_CNT + L_ADV, D on L_DSC, no L_MCH, one G step then ``d_steps`` D steps, as in
meta-learning. Zero epochs is the feed-forward (FF) use of the meta-learned networks: the same
call, nothing trained. (The paper's FF *model* is also meta-trained without L_MCH; run this
with such a checkpoint and ``epochs=0`` to get exactly that.)

What comes out is a :class:`PersonModel`: G's weights without P, plus ψ′, plus the person's
own landmarks (puppeteering adapts other faces' motion onto them). It is saved as safetensors
(no code runs on loading) and draws frames from landmarks without E or D.

One module per part: :mod:`.shots` (the T frames), :mod:`.person` (the person model), :mod:`.tuner`
(fine-tuning) and :mod:`.cli` (``fewshot finetune``). Introduced in notebook 07.
"""
from .shots import Shots, resize_landmarks
from .person import PersonModel, PersonModelError
from .tuner import FinetuneConfig, FineTuner, WarpFineTuner, embed_person, finetune, finetune_warp
from .cli import add_finetune_command, cli_overrides

__all__ = ["FineTuner", "FinetuneConfig", "PersonModel", "PersonModelError", "Shots", "WarpFineTuner",
           "add_finetune_command", "cli_overrides", "embed_person", "finetune", "finetune_warp",
           "resize_landmarks"]
