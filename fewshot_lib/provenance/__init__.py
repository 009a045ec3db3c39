"""Provenance: everything the library writes says that a model made it, three ways.

* a **watermark** in the pixels (:mod:`.watermark`, carrying :mod:`.payload`): survives re-encoding,
  JPEG and resizing, so it is still there after an upload; anyone can read (and remove) it;
* a signed **C2PA manifest** in mp4, PNG and JPEG files (:mod:`.manifest`): says which tool and
  model made the file, and fails validation if a byte changes; any re-encode strips it;
* the **metadata comment** of videos (:data:`fewshot_lib.video.PROVENANCE`): the weakest, kept as well.

:mod:`.images` writes marked stills; :class:`fewshot_lib.video.VideoWriter` marks every frame;
:mod:`.verify` (``fewshot verify FILE…``) reads all three; :mod:`.survival` measures what the
watermark survives. Introduced in notebook 11.
"""
from .images import save_figure, write_image
from .manifest import ManifestStatus, read_manifest, sign
from .payload import Payload, model_code
from .watermark import MarkConfig, Reading, embed, read

__all__ = ["ManifestStatus", "MarkConfig", "Payload", "Reading", "embed", "model_code", "read", "read_manifest",
           "save_figure", "sign", "write_image"]
