"""Notebook 07's fine-tuning curve: test frames in new poses (pose_distant_split), how a curve moved (curve_trend)."""
import numpy as np
import pytest

from fewshot_lib.evaluate import EvaluationError, heldout_videos, pose_distance, split_frames
from fewshot_lib.evaluate.protocol import curve_trend, pose_distant_split


def nearest_shot(video, shots, frames):
    """Degrees of head pose from each frame to its nearest shot."""
    return np.array([pose_distance(video, int(t))[shots].min() for t in frames])


def test_pose_distant_split_keeps_the_test_frames_far_from_every_shot():
    video = heldout_videos(32, 32, identities=1)[0]
    order, test = pose_distant_split(video, 8, 8)
    assert len(order) == 8 and len(test) == 8 and not set(order.tolist()) & set(test.tolist())
    assert list(test) == sorted(test)
    far = nearest_shot(video, order, test)
    random_order, random_test = split_frames(len(video), 8, 8, seed=0)
    near = nearest_shot(video, random_order, random_test)
    assert far.min() > near.max()                      # every test frame farther from the shots than any random one
    # farthest first: the first T shots are the T farthest, so the 1 shot is among the 8
    distances = nearest_shot(video, order[:1], test).mean(), nearest_shot(video, order[-1:], test).mean()
    assert distances[0] >= distances[1]
    np.testing.assert_array_equal(pose_distant_split(video, 4, 8)[0], order[:4])
    np.testing.assert_array_equal(pose_distant_split(video, 4, 8)[1], test)


def test_pose_distant_split_needs_enough_frames():
    video = heldout_videos(32, 10, identities=1)[0]
    with pytest.raises(EvaluationError, match="cannot give"):
        pose_distant_split(video, 8, 4)


@pytest.mark.parametrize("values, trend", [
    ([0.50, 0.55, 0.60, 0.62], "rose"),
    ([0.50, 0.60, 0.63, 0.628], "rose"),               # within the tolerance of its best: still rising
    ([0.50, 0.60, 0.63, 0.60], "peaked"),              # over-fitting: fell back from its best
    ([0.50, 0.49, 0.47, 0.45], "fell"),
    ([0.50, 0.502, 0.499, 0.501], "flat"),
])
def test_curve_trend(values, trend):
    assert curve_trend(values) == trend


def test_curve_trend_refuses_too_little():
    with pytest.raises(EvaluationError):
        curve_trend([0.5])
    with pytest.raises(EvaluationError):
        curve_trend([0.5, float("nan")])
