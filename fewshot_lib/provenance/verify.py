"""``fewshot verify FILE…``: which marks an image or a video carries, and a verdict.

    fewshot verify runs/09_puppeteering/puppet.mp4 runs/train/samples/*.png
    fewshot verify --survival            # the watermark's survival table (notebook 11)

For each file: the watermark (the decoded payload, its bit accuracy, over how many frames), the
C2PA manifest (valid / tampered / absent) and the metadata comment of a video. The exit status is
2 when some file's manifest is present but fails validation, else 1 when some file carries no mark,
else 0. "No mark found" never means "real": marks can be removed (cropping defeats this watermark),
and other tools do not add them. :func:`unmarked_files` checks a whole folder. Introduced in notebook 11.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import FewshotError, MissingFileError
from ..video import IMAGE_SUFFIXES, SUFFIXES, read_frames
from .manifest import ManifestStatus, read_manifest
from .watermark import Reading, read

IMAGES, VIDEOS = IMAGE_SUFFIXES, SUFFIXES              # what verify reads: stills, and the videos the library writes
MARKED, UNMARKED, TAMPERED = 0, 1, 2                    # the exit statuses


@dataclass(frozen=True)
class Verification:
    """What one file says about itself; ``status`` is :data:`MARKED`, :data:`UNMARKED` or :data:`TAMPERED`."""
    path: Path
    watermark: Reading
    manifest: ManifestStatus
    metadata: str
    unreadable: str = ""                                 # why the pixels could not be decoded, if they could not

    @property
    def status(self) -> int:
        if self.manifest.state == "tampered":
            return TAMPERED
        return MARKED if self.watermark.marked or self.manifest.state == "valid" or self.metadata else UNMARKED

    def verdict(self) -> str:
        if self.status == TAMPERED:
            return "TAMPERED: the file has a C2PA manifest, but the file changed after it was signed"
        if self.status == MARKED:
            return "MARKED: the file says a model (fewshot_lib) made it"
        return "NO MARK FOUND: this does not mean the file is real (marks can be removed; other tools add none)"

    def report(self) -> str:
        w = self.watermark
        mark = (f"{w.payload}, bit accuracy {w.bit_accuracy:.3f}" if w.marked else "none found") + \
            f" over {w.frames} frame{'s' * (w.frames != 1)}" + (f" (pixels unreadable: {self.unreadable})"
                                                                 if self.unreadable else "")
        manifest = self.manifest.state + (f" ({self.manifest.detail})" if self.manifest.detail else "")
        return (f"{self.path}\n  watermark: {mark}\n  manifest:  {manifest}\n"
                f"  metadata:  {self.metadata or 'none'}\n  verdict:   {self.verdict()}")


def verify_file(path: str | Path) -> Verification:
    """Read the watermark, the manifest and the metadata of one image or video."""
    from ..video import read_metadata

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file")
    if path.suffix.lower() not in IMAGES + VIDEOS:
        raise FewshotError(f"{path}: not an image or a video; give {', '.join(IMAGES + VIDEOS)} files")
    manifest = read_manifest(path)
    try:
        reading, unreadable = read(read_frames(path)), ""
        metadata = read_metadata(path).get("comment", "") if path.suffix.lower() in VIDEOS else ""
    except (OSError, ValueError, RuntimeError, StopIteration, subprocess.CalledProcessError) as error:
        if manifest.state != "tampered":                 # nothing at all can be said about this file
            raise FewshotError(f"{path}: cannot be read as an image or a video ({error}); is it complete?") from None
        reading, metadata, unreadable = read([]), "", str(error) or type(error).__name__
    return Verification(path, reading, manifest, metadata, unreadable)


def unmarked_files(folder: str | Path) -> list[Path]:
    """The images and videos under ``folder`` (recursively) that carry no mark or fail validation."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGES + VIDEOS and p.is_file())
    return [p for p in paths if verify_file(p).status != MARKED]


def add_verify_command(subcommands) -> None:
    p = subcommands.add_parser("verify", help="which marks (watermark, C2PA manifest, metadata) images and videos "
                                              "carry; exit 0 marked, 1 no mark found, 2 tampered")
    p.add_argument("files", nargs="*", metavar="FILE", help="images (.png, .jpg, …) and videos (.mp4, .gif)")
    p.add_argument("--survival", action="store_true",
                   help="instead: measure what the watermark survives (H.264, GIF, JPEG, resize, crop); "
                        "print the table")
    p.set_defaults(run=_run)


def _run(args) -> int:
    if args.survival:
        from .survival import format_table, survival_rows

        print(format_table(survival_rows()))
        return 0
    if not args.files:
        raise FewshotError("give one or more image or video files (or --survival)")
    for path in map(Path, args.files):                     # every name checked before any work
        if not path.is_file():
            raise MissingFileError(f"{path}: no such file")
    results = [verify_file(path) for path in args.files]
    print("\n".join(result.report() for result in results))
    return max(result.status for result in results)
