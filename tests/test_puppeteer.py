"""Puppeteering: the similarity fit, landmark adaptation, neutral frames, streaming drive, export."""
import types

import numpy as np
import pytest
import torch

from fewshot_lib.data import Expression, Pose, SyntheticConfig, synthetic_split
from fewshot_lib.evaluate import cross_reenactment, face_proportions, identity_leak
from fewshot_lib.finetune import FinetuneConfig, Shots, finetune
from fewshot_lib.models import Discriminator, Embedder, Generator, get_preset
from fewshot_lib.puppeteer import (adapt_landmarks, as_complex, driving_landmarks, drive, export_puppeteering,
                                   mean_face_landmarks, neutral_frame, neutral_mean_face, posed_landmarks,
                                   similarity)
from fewshot_lib.video import read_metadata, read_video

TINY = get_preset("tiny")


def heldout(people=2, frames=24, size=32):
    return synthetic_split("heldout", SyntheticConfig(size=size, frames=frames, heldout_identities=people, videos=1))


def tiny_person(video, epochs=0):
    torch.manual_seed(0)
    E, G, D = Embedder(TINY).eval(), Generator(TINY).eval(), Discriminator(TINY, 2).eval()
    return finetune(E, G, D, Shots.from_video(video, [0, 2, 4]), FinetuneConfig(epochs=epochs), progress=False)


def test_similarity_recovers_scale_rotation_and_shift():
    points = as_complex(mean_face_landmarks())
    z = 1.3 * np.exp(0.2j)
    moved = z * (points - points.mean()) + points.mean() + (4 - 2j)
    fitted, c_s, c_t = similarity(points, moved)
    np.testing.assert_allclose(fitted, z)
    np.testing.assert_allclose(c_t - c_s, 4 - 2j)


def test_adapting_onto_the_drivers_own_face_gives_the_driver_back():
    driver = heldout(1)[0].landmarks
    reference = driver[neutral_frame(driver)]
    np.testing.assert_allclose(adapt_landmarks(driver, reference, reference), driver, atol=1e-4)


def test_adaptation_keeps_the_sources_shape_on_a_synthetic_driver():
    source, driver = heldout(2, frames=24, size=64)
    _, truth = cross_reenactment(source, driver, range(len(driver)))      # the source making the driver's motion
    raw = driver.landmarks
    adapted = adapt_landmarks(raw, raw[neutral_frame(raw)], source.landmarks[neutral_frame(source.landmarks)])
    leak_raw, leak_adapted = identity_leak(raw, truth), identity_leak(adapted, truth)
    # measured: shape error 0.064 → 0.016, proportion error 0.096 → 0.008 (identities 1000000 and 1000001)
    assert leak_adapted["shape error"] < 0.5 * leak_raw["shape error"]
    assert leak_adapted["proportion error"] < 0.25 * leak_raw["proportion error"]
    jaw = face_proportions(adapted)[:, 0].mean()
    assert abs(jaw - face_proportions(truth)[:, 0].mean()) < abs(face_proportions(raw)[:, 0].mean() - jaw)


def test_neutral_frame_prefers_a_closed_mouth_facing_the_camera():
    faces = [mean_face_landmarks(Pose(yaw=25), Expression()), mean_face_landmarks(Pose(), Expression(mouth_open=1)),
             mean_face_landmarks(Pose(), Expression()), mean_face_landmarks(Pose(roll=12), Expression(blink=1))]
    assert neutral_frame(np.stack(faces)) == 2


def test_sliders_move_the_sources_landmarks_only_when_asked():
    source = heldout(1)[0].landmarks[0]
    np.testing.assert_allclose(posed_landmarks(source, Pose(), Expression()), source, atol=1e-4)
    opened = posed_landmarks(source, Pose(), Expression(mouth_open=1))
    assert opened[66, 1] - opened[62, 1] > source[66, 1] - source[62, 1] + 1, "the lips part"
    turned = posed_landmarks(source, Pose(roll=10), Expression())
    tilt = lambda p: np.degrees(np.arctan2(p[45, 1] - p[36, 1], p[45, 0] - p[36, 0]))
    assert 7 < tilt(turned) - tilt(source) < 13
    neutral = neutral_mean_face(64)                       # the sliders' reference, cached for every redraw
    np.testing.assert_array_equal(neutral, mean_face_landmarks(size=64))
    with pytest.raises(ValueError, match="read-only"):
        neutral[0, 0] = 0.0


def test_drive_streams_one_frame_per_landmark_set():
    source, driver = heldout(2)
    person = tiny_person(source)
    landmarks = driving_landmarks(person, driver.landmarks, driver.size, adapt=True)
    frames = drive(person, landmarks, batch_size=4)
    assert isinstance(frames, types.GeneratorType), "frames are made on demand"
    outputs = list(frames)
    assert len(outputs) == len(driver) and outputs[0]["result"].shape == (32, 32, 3)
    assert outputs[0]["result"].dtype == np.uint8 and outputs[0]["sketch"].shape == (32, 32, 3)
    np.testing.assert_allclose(driving_landmarks(person, driver.landmarks, driver.size, adapt=False), driver.landmarks)


def test_export_puppeteering_writes_a_side_by_side_synthetic_video(tmp_path):
    source, driver = heldout(2, frames=6)
    person = tiny_person(source)
    path = export_puppeteering(tmp_path / "puppet.mp4", person, driver, adapt=True, fps=4)
    frames = list(read_video(path))
    assert len(frames) == 6 and frames[0].shape == (32, 3 * 32 + 2 * 2, 3)   # driver | sketch | result
    assert "SYNTHETIC" in read_metadata(path)["comment"]
