"""The live puppeteering widget: sliders move the person's own landmarks, the person model draws them.

Six sliders (head yaw, pitch, roll; mouth opening, smile, blink) pose the synthetic dataset's
mean face (``data.synthetic.geometry``); landmark adaptation (:func:`~fewshot_lib.puppeteer.posed_landmarks`)
carries that motion onto the person's own neutral landmarks, so the face keeps its shape. The
sketch and the generated frame update at every change. A play button steps through a driving
video's landmarks instead (raw or adapted). With ``methods`` (e.g. the paper's person model and the
warping one of notebook 10), a switch chooses which model draws.

Everything the widget shows comes from :meth:`PuppetWidget.update` and :meth:`PuppetWidget.show_driver_frame`,
which work without a display (tests call them directly); ipywidgets only wires them to the controls.
Introduced in notebook 09.
"""
from __future__ import annotations

import copy
import time
from collections import deque

import cv2
import numpy as np

from .data.synthetic.geometry import Expression, Pose
from .data.synthetic.motion import PITCH_LIMIT, ROLL_LIMIT, YAW_LIMIT
from .finetune import PersonModel
from .models import fold_spectral_norms
from .provenance import embed
from .puppeteer import drive, neutral_frame, posed_landmarks

SLIDERS = {                      # name: (minimum, maximum, step) — the synthetic heads' own ranges
    "yaw": (-YAW_LIMIT, YAW_LIMIT, 1.0),
    "pitch": (-PITCH_LIMIT, PITCH_LIMIT, 1.0),
    "roll": (-ROLL_LIMIT, ROLL_LIMIT, 1.0),
    "mouth_open": (0.0, 1.0, 0.05),
    "smile": (0.0, 1.0, 0.05),
    "blink": (0.0, 1.0, 0.05),
}


# The images travel at the model's size (a 64² PNG encodes ~6× faster than its 256² enlargement) and the
# browser enlarges them to ``display_size``, pixel by pixel: nearest neighbour, no invented detail.
PIXELATED = "<style>.fewshot-sketch, .fewshot-frame { image-rendering: pixelated; }</style>"


def png(image: np.ndarray) -> bytes:
    """uint8 ``(S, S, 3)`` RGB → PNG bytes (compression level 1 of 9: a few % larger, twice as fast)."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("OpenCV could not encode a PNG")
    return data.tobytes()


def drawer(model, compile: bool = False):
    """What a widget draws ``model`` with: a copy whose spectral norms are folded (the same numbers, faster),
    and with ``compile`` whose calls run through ``torch.compile`` (compiled here, on a first frame of the
    model's own pose: about a minute on a CPU; the warp method then redrew 1.2–1.3× faster in our runs).
    Where compiling fails (e.g. no C++ compiler for torch's CPU backend) it says so and returns the
    uncompiled copy."""
    folded = fold_spectral_norms(model)
    if not compile:
        return folded
    compiled = copy.deepcopy(folded)                 # neither the caller's model nor the fallback is changed
    compiled.compile()                               # nn.Module.compile: every call of it runs compiled
    try:
        next(drive(compiled, model.landmarks[:1], batch_size=1))   # compiles now, not at the first slider move
    except Exception as problem:                                    # torch's compilers raise many kinds
        first_line = (str(problem).splitlines() or [""])[0][:200]
        print(f"torch.compile failed ({type(problem).__name__}: {first_line}); the widget draws without compiling")
        return folded
    return compiled


class PuppetWidget:
    """Sliders and a play button that drive ``person``; ``display(widget.widget)`` shows it.

    ``driver``: optional landmarks ``(T, 68, 2)`` of a driving video, in pixels of the person's
    frames (raw: the paper's puppeteering); ``adapted_driver``: the same motion adapted onto the
    person (see :func:`~fewshot_lib.puppeteer.driving_landmarks`). ``fps``: the play button's rate.
    ``methods``: other person models of the same person and size by name (e.g. ``{"warp": warp_person}``);
    a switch then chooses between ``"paper"`` (``person``) and them. ``compile``: draw through
    ``torch.compile``d copies (see :func:`drawer`): about a minute of compiling per method here, then
    faster redraws.
    """

    def __init__(self, person: PersonModel, driver: np.ndarray | None = None,
                 adapted_driver: np.ndarray | None = None, display_size: int = 192, fps: float = 8.0,
                 methods: dict | None = None, compile: bool = False):
        import ipywidgets as w

        self.people = {"paper": person, **(methods or {})}
        odd = [name for name, model in self.people.items() if model.size != person.size]
        if odd:
            raise ValueError(f"methods {odd} draw at another size than the person model ({person.size}²)")
        self.person, self.display_size = person, display_size
        self.drawers = {name: drawer(model, compile) for name, model in self.people.items()}
        self.drawer = self.drawers["paper"]
        self.source = person.landmarks[neutral_frame(person.landmarks)]       # (68, 2) the person's own face
        self.driver = {"raw": driver, "adapted": adapted_driver}
        self.seconds: deque[float] = deque(maxlen=50)                          # recent render times
        self.last: dict[str, np.ndarray] = {}
        self._quiet = False
        self.sliders = {name: w.FloatSlider(value=0.0, min=lo, max=hi, step=step, description=name,
                                            continuous_update=True)
                        for name, (lo, hi, step) in SLIDERS.items()}
        for name, slider in self.sliders.items():
            slider.add_class(f"fewshot-{name}")
            slider.observe(lambda _: self._from_sliders(), names="value")
        size = dict(width=display_size, height=display_size)
        self.sketch_image = w.Image(format="png", **size).add_class("fewshot-sketch")
        self.frame_image = w.Image(format="png", **size).add_class("fewshot-frame")
        self.status = w.Label()
        controls = [w.HTML("<b>head and face</b>"), *self.sliders.values()]
        if len(self.people) > 1:
            self.method = w.ToggleButtons(options=list(self.people), description="method")
            self.method.observe(lambda change: self.set_method(change["new"]), names="value")
            controls += [self.method]
        if driver is not None:
            self.play = w.Play(min=0, max=len(driver) - 1, interval=int(1000 / fps), description="play driver")
            self.frame_slider = w.IntSlider(min=0, max=len(driver) - 1, description="driver frame")
            w.jslink((self.play, "value"), (self.frame_slider, "value"))
            self.mode = w.ToggleButtons(options=["adapted", "raw"] if adapted_driver is not None else ["raw"],
                                        description="landmarks")
            self.frame_slider.observe(lambda change: self.show_driver_frame(change["new"]), names="value")
            self.mode.observe(lambda _: self.show_driver_frame(self.frame_slider.value), names="value")
            controls += [w.HTML("<b>driving video</b>"), w.HBox([self.play, self.frame_slider]), self.mode]
        images = w.HBox([w.VBox([w.Label("landmark sketch"), self.sketch_image]),
                         w.VBox([w.Label("generated frame"), self.frame_image])])
        self.widget = w.VBox([w.HBox([w.VBox(controls), images]), self.status, w.HTML(PIXELATED)])
        self.update()

    def render(self, landmarks: np.ndarray) -> dict[str, np.ndarray]:
        """Draw ``landmarks`` ``(68, 2)``: sketch and generated frame, shown in the widget and returned."""
        start = time.perf_counter()
        out = next(drive(self.drawer, landmarks[None], batch_size=1))
        self.sketch_image.value = png(out["sketch"])
        self.frame_image.value = png(embed(out["result"]))     # a saved snapshot is marked
        self.seconds.append(time.perf_counter() - start)
        self.status.value = f"{self.frames_per_second:.1f} frames per second (sketch + generator + PNG)"
        self.last = out
        return out

    def set_method(self, name: str) -> dict[str, np.ndarray]:
        """Draw with the person model ``name`` from now on (``"paper"`` or a key of ``methods``); redraws."""
        if name not in self.people:
            raise KeyError(f"no method {name!r}; this widget has {', '.join(self.people)}")
        self.person, self.drawer, self.seconds = self.people[name], self.drawers[name], deque(maxlen=50)
        return self._from_sliders()

    def update(self, **values: float) -> dict[str, np.ndarray]:
        """Set some sliders (e.g. ``yaw=20, smile=1``), then redraw once; returns what is shown."""
        unknown = set(values) - set(SLIDERS)
        if unknown:
            raise KeyError(f"no slider {sorted(unknown)}; the sliders are {', '.join(SLIDERS)}")
        self._quiet = True                                   # one redraw, not one per slider
        try:
            for name, value in values.items():
                self.sliders[name].value = value
        finally:
            self._quiet = False
        return self._from_sliders()

    def slider_landmarks(self) -> np.ndarray:
        """The person's landmarks ``(68, 2)`` moved by the sliders' pose and expression."""
        v = {name: slider.value for name, slider in self.sliders.items()}
        pose = Pose(yaw=v["yaw"], pitch=v["pitch"], roll=v["roll"])
        return posed_landmarks(self.source, pose, Expression(mouth_open=v["mouth_open"], smile=v["smile"],
                                                             blink=v["blink"]))

    def _from_sliders(self) -> dict[str, np.ndarray]:
        return self.last if self._quiet else self.render(self.slider_landmarks())

    def show_driver_frame(self, t: int, mode: str | None = None) -> dict[str, np.ndarray]:
        """Draw frame ``t`` of the driving video, with ``mode`` ``"raw"`` or ``"adapted"`` landmarks
        (default: the toggle's)."""
        mode = mode or self.mode.value
        if self.driver.get(mode) is None:
            raise ValueError(f"no {mode} driving landmarks: pass driver= (and adapted_driver=) to PuppetWidget")
        return self.render(self.driver[mode][int(t)])

    @property
    def frames_per_second(self) -> float:
        """Redraws per second, over the recent ones."""
        return len(self.seconds) / max(sum(self.seconds), 1e-9)
