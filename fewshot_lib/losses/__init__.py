"""Losses (paper, Section 3.2): L_CNT, L_ADV with feature matching, L_MCH, L_DSC, and their weights.

Typical use in a training step (shapes: x, x_hat (B, 3, H, W); e (B, K, N); W_i (B, N))::

    content, description = build_content_loss(weights)      # print(description) into the log
    loss_G = (content(x_hat, x)
              + adversarial_loss(score_fake, feats_real, feats_fake, weights.feature_matching)
              + weights.match * embedding_match_loss(e, W_i))
    loss_D = discriminator_hinge_loss(score_real, score_fake_detached)

Introduced in notebook 05.
"""
from .adversarial import adversarial_loss, discriminator_hinge_loss, feature_matching_loss
from .config import LossWeights
from .content import FALLBACKS, ContentLoss, build_content_loss, multiscale_l1
from .matching import embedding_match_loss
from .perceptual import (LAYERS, SPECS, VGG19, VGGFACE, ChecksumError, PerceptualNetwork, PerceptualSpec,
                         WeightsError, WeightsNotFound, caffe_preprocess, find_weights, load_perceptual_network,
                         perceptual_loss, verify_checksum, weights_path)

__all__ = [
    "FALLBACKS", "LAYERS", "SPECS", "VGG19", "VGGFACE", "ChecksumError", "ContentLoss", "LossWeights",
    "PerceptualNetwork", "PerceptualSpec", "WeightsError", "WeightsNotFound", "adversarial_loss",
    "build_content_loss", "caffe_preprocess", "discriminator_hinge_loss", "embedding_match_loss",
    "feature_matching_loss", "find_weights", "load_perceptual_network", "multiscale_l1", "perceptual_loss",
    "verify_checksum", "weights_path",
]
