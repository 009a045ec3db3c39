"""Widgets as a still of their last state: what a page can show of a widget without a kernel.

A notebook executed headlessly keeps each widget's last state in its metadata (nbclient stores it). The
interactive view needs the widgets' JavaScript (normally fetched from a CDN) *and* a kernel to answer the
sliders, so a static page cannot give it; instead each widget output becomes plain HTML drawn from that state:
boxes, text, progress bars, images, and the controls disabled at their last value, with a note that moving
them needs a live kernel (the Colab link). Unknown widgets keep their text fallback.
"""
from __future__ import annotations

import html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CONTROLS = ("Slider", "Button", "Dropdown", "Checkbox", "Text", "RadioButtons", "Play", "Select")
NOTE = ('<p class="fewshot-widget-note">A still of this widget\'s last state: its controls need a live kernel. '
        'Open the notebook in Colab (link at the top) or JupyterLab to move them.</p>')


def _model_id(reference) -> str:
    return str(reference).removeprefix("IPY_MODEL_")


def _image(model: dict) -> str:
    """An Image widget's bytes (a base64 buffer of its state) as an ``<img>``."""
    data = next((b["data"] for b in model.get("buffers", []) if b.get("path") == ["value"]), "")
    if not data:
        return ""
    state = model["state"]
    size = "".join(f' {k}="{html.escape(str(state[k]))}"' for k in ("width", "height") if state.get(k))
    return f'<img src="data:image/{html.escape(state.get("format", "png"))};base64,{data}"{size} alt="">'


def render(model_id: str, models: dict) -> tuple[str, bool]:
    """(HTML of the widget ``model_id`` and its children, whether any of them is a control)."""
    model = models.get(_model_id(model_id))
    if model is None:
        return "", False
    name, state = model["model_name"].removesuffix("Model"), model["state"]
    label = html.escape(str(state.get("description", "")))
    if name in ("HBox", "VBox", "Box", "GridBox"):
        parts = [render(child, models) for child in state.get("children", [])]
        inner = "".join(part for part, _ in parts)
        return f'<div class="fewshot-{name.lower()}">{inner}</div>', any(control for _, control in parts)
    if name in ("HTML", "HTMLMath"):
        return f'<span>{label} {state.get("value", "")}</span>', False
    if name == "Label":
        return f'<span>{html.escape(str(state.get("value", "")))}</span>', False
    if name.endswith("Progress"):
        return f'<progress max="{state.get("max", 100)}" value="{state.get("value", 0)}"></progress>', False
    if name == "Image":
        return _image(model), False
    if name.endswith("Slider"):
        value = state.get("value", 0)
        return (f'<label class="fewshot-slider">{label} <input type="range" disabled min="{state.get("min", 0)}" '
                f'max="{state.get("max", 100)}" step="{state.get("step", 1)}" value="{value}"> {value}</label>'), True
    if name in ("Button", "ToggleButton"):
        return f'<button disabled>{label}</button>', True
    if "_options_labels" in state:                        # Dropdown, ToggleButtons, RadioButtons, Select
        index = state.get("index")
        options = "".join(f'<option{" selected" if i == index else ""}>{html.escape(str(option))}</option>'
                          for i, option in enumerate(state["_options_labels"]))
        return f'<label>{label} <select disabled>{options}</select></label>', True
    if name == "Checkbox":
        checked = " checked" if state.get("value") else ""
        return f'<label><input type="checkbox" disabled{checked}> {label}</label>', True
    return "", any(name.endswith(control) for control in CONTROLS)


def freeze_widgets(nb) -> None:
    """Replace every widget output of ``nb`` by a still of the widget's last state (see the module's note)."""
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).pop(WIDGET_VIEW, None)
            if view is None:
                continue
            still, has_controls = render(view["model_id"], models)
            if still:
                note = NOTE if has_controls else ""
                output["data"] = {"text/html": f'<div class="fewshot-widget">{still}{note}</div>'}
    nb.metadata.pop("widgets", None)
