"""The puppeteering widget's update functions, without a display."""
import cv2
import numpy as np
import pytest
import torch

from fewshot_lib.data import SyntheticConfig, synthetic_split
from fewshot_lib.finetune import FinetuneConfig, Shots, finetune
from fewshot_lib.landmarks import draw_sketches
from fewshot_lib.models import Discriminator, Embedder, Generator, get_preset
from fewshot_lib.puppeteer import driving_landmarks
from fewshot_lib.widgets import SLIDERS, PuppetWidget

TINY = get_preset("tiny")


@pytest.fixture(scope="module")
def widget():
    source, driver = synthetic_split("heldout", SyntheticConfig(size=32, frames=8, heldout_identities=2, videos=1))
    torch.manual_seed(0)
    E, G, D = Embedder(TINY).eval(), Generator(TINY).eval(), Discriminator(TINY, 2).eval()
    person = finetune(E, G, D, Shots.from_video(source, [0, 1, 2]), FinetuneConfig(epochs=0), progress=False)
    raw = driving_landmarks(person, driver.landmarks, driver.size, adapt=False)
    adapted = driving_landmarks(person, driver.landmarks, driver.size, adapt=True)
    return PuppetWidget(person, raw, adapted, display_size=64)


def test_moving_a_slider_redraws_sketch_and_frame(widget):
    start_sketch, start_frame = widget.sketch_image.value, widget.frame_image.value
    assert bytes(start_frame[:4]) == b"\x89PNG", "the widget shows a PNG from the start"
    shown = widget.update(yaw=20, mouth_open=1)
    assert widget.sketch_image.value != start_sketch and widget.frame_image.value != start_frame
    assert shown["result"].shape == (32, 32, 3) and shown["sketch"].shape == (32, 32, 3)
    np.testing.assert_allclose(shown["landmarks"], widget.slider_landmarks())
    assert widget.sliders["yaw"].value == 20 and widget.frames_per_second > 0
    assert "frames per second" in widget.status.value


def test_the_images_travel_at_the_models_size_and_the_browser_enlarges_them(widget):
    shown = widget.update(pitch=5)
    encoded = np.frombuffer(widget.sketch_image.value, np.uint8)
    sketch = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(sketch, shown["sketch"])              # lossless, 32², not enlarged
    assert widget.frame_image.width == widget.sketch_image.width == "64"   # the display size
    styles = [child.value for child in widget.widget.children if hasattr(child, "value")]
    assert any("image-rendering: pixelated" in style and "fewshot-frame" in style for style in styles)


def test_a_slider_change_from_the_frontend_redraws_too(widget):
    before = widget.frame_image.value
    widget.sliders["smile"].value = 1.0            # what a user's drag does: the observer redraws
    assert widget.frame_image.value != before


def test_sliders_cover_head_pose_and_expression(widget):
    assert set(SLIDERS) == {"yaw", "pitch", "roll", "mouth_open", "smile", "blink"}
    with pytest.raises(KeyError, match="no slider"):
        widget.update(nose=1)


def test_the_driver_plays_raw_or_adapted(widget):
    raw = widget.show_driver_frame(3, "raw")["landmarks"]
    adapted = widget.show_driver_frame(3, "adapted")["landmarks"]
    np.testing.assert_allclose(raw, widget.driver["raw"][3])
    assert not np.allclose(raw, adapted), "adaptation changes the driving landmarks"
    widget.frame_slider.value = 5                  # what the play button does
    np.testing.assert_allclose(widget.last["landmarks"], widget.driver[widget.mode.value][5])


def test_the_method_switch_draws_with_the_warping_person_model():
    from fewshot_lib.finetune import WarpFineTuner
    from fewshot_lib.warping.generator import WarpingGenerator

    (source,) = synthetic_split("heldout", SyntheticConfig(size=32, frames=8, heldout_identities=1, videos=1))
    torch.manual_seed(0)
    E, G, D = Embedder(TINY).eval(), Generator(TINY).eval(), Discriminator(TINY, 2).eval()
    shots = Shots.from_video(source, [0, 1, 2])
    paper = finetune(E, G, D, shots, FinetuneConfig(epochs=0), progress=False)
    warping = WarpFineTuner(WarpingGenerator(E, G), D, shots, FinetuneConfig(epochs=0)).person_model()
    widget = PuppetWidget(paper, display_size=64, methods={"warp": warping})
    assert widget.method.options == ("paper", "warp")
    painted = widget.update(yaw=10)["result"]
    widget.method.value = "warp"                   # what a click on the toggle does
    warped = widget.last["result"]
    assert widget.person is warping and not np.array_equal(painted, warped)
    # The untrained warp is mostly the source's own pixels: far closer to them than the untrained G's paint.
    own = source.frame(0).astype(float)
    assert np.abs(warped - own).mean() < np.abs(painted - own).mean()
    with pytest.raises(KeyError, match="no method"):
        widget.set_method("tps")


def test_a_compiled_widget_draws_the_same_frames(widget):
    from fewshot_lib.widgets import drawer

    compiled = drawer(widget.person, compile=True)
    landmarks = widget.person.landmarks[2:3]                 # (1, 68, 2)
    sketches = torch.from_numpy(draw_sketches(landmarks, widget.person.size)).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        torch.testing.assert_close(compiled.draw(sketches, torch.from_numpy(landmarks)),
                                   widget.person.draw(sketches, torch.from_numpy(landmarks)), atol=1e-4, rtol=0)


def test_a_widget_whose_compiling_fails_says_so_and_draws_uncompiled(widget, monkeypatch, capsys):
    from fewshot_lib.widgets import drawer

    def no_compiler(module, *args, **kwargs):                # as torch.compile fails without a C++ compiler
        def fail(*_args, **_kwargs):
            raise RuntimeError("no working C++ compiler found\nmore details")
        module.forward = fail
    monkeypatch.setattr(torch.nn.Module, "compile", no_compiler)
    fallback = drawer(widget.person, compile=True)
    assert "torch.compile failed (RuntimeError: no working C++ compiler found); the widget draws without " \
           "compiling" in capsys.readouterr().out
    landmarks = widget.person.landmarks[:1]
    sketches = torch.from_numpy(draw_sketches(landmarks, widget.person.size)).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert fallback.draw(sketches, torch.from_numpy(landmarks)).shape == (1, 3, 32, 32)
