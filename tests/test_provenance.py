"""The mark inside the pixels, the signed manifest and `fewshot verify` (issue 14, notebook 11)."""
import cv2
import numpy as np
import pytest

from fewshot_lib.cli import main
from fewshot_lib.data.synthetic.dataset import SyntheticHeads
from fewshot_lib.landmarks.portraits import PORTRAITS, load_portrait
from fewshot_lib.provenance import Payload, embed, read, read_manifest, save_figure, write_image
from fewshot_lib.perturb import jpeg
from fewshot_lib.provenance.survival import format_table, psnr, survival_rows
from fewshot_lib.provenance.verify import unmarked_files
from fewshot_lib.video import read_video, write_video

PAYLOAD = Payload(model=0x1234)


@pytest.fixture(autouse=True, scope="module")
def course_key(tmp_path_factory):
    """A course key made for these tests, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("fewshot_lib.provenance.manifest.key_folder", lambda: tmp_path_factory.mktemp("key"))
        yield


@pytest.fixture(scope="module")
def frames():
    return SyntheticHeads(seed=0).video(identity=1, video=0, num_frames=6, size=64).frames()    # (6, 64, 64, 3)


def test_payload_round_trip_and_the_code_rejects_damage():
    bits = PAYLOAD.to_bits()
    assert bits.shape == (48,) and Payload.from_bits(bits) == PAYLOAD
    for i in (0, 9, 20, 40):                                # one wrong bit anywhere: no payload
        damaged = bits.copy()
        damaged[i] ^= 1
        assert Payload.from_bits(damaged) is None
    assert Payload.from_bits(np.zeros(48)) is None and Payload.from_bits(np.ones(48)) is None


@pytest.mark.parametrize("shape", [(64, 64), (256, 256), (63, 90), (32, 32)])
def test_a_marked_frame_reads_back_keeps_its_size_and_looks_the_same(frames, shape):
    frame = cv2.resize(frames[0], shape[::-1], interpolation=cv2.INTER_AREA if shape[0] < 64 else cv2.INTER_CUBIC)
    marked = embed(frame, PAYLOAD)
    assert marked.shape == frame.shape and marked.dtype == np.uint8
    reading = read(marked)
    assert reading.payload == PAYLOAD and reading.bit_accuracy == 1.0 and reading.frames == 1
    assert psnr(frame, marked) >= (38 if min(shape) >= 64 else 35)    # under 64², the mark costs more
    if min(shape) >= 64:                                # the sizes the course exports
        assert read(jpeg(marked[None], 75)[0]).payload == PAYLOAD


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_every_frame_of_a_video_is_marked_and_the_video_keeps_size_and_length(tmp_path, frames, suffix):
    path = write_video(tmp_path / f"clip{suffix}", frames)
    decoded = list(read_video(path))
    assert len(decoded) == len(frames) and decoded[0].shape == frames[0].shape
    reading = read(decoded)
    assert reading.payload == Payload() and reading.frames == len(frames) and reading.bit_accuracy > 0.9
    assert all(read(frame).marked for frame in decoded)
    assert read_manifest(path).state == ("valid" if suffix == ".mp4" else "absent")


def test_no_false_marks_on_real_portraits_synthetic_frames_and_noise(frames):
    images = [load_portrait(name) for name in PORTRAITS] + list(frames)
    rng = np.random.default_rng(0)
    images += [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(100)]
    assert not any(read(image).marked for image in images)
    assert not read(list(frames)).marked


def test_verify_exit_codes_marked_unmarked_tampered(tmp_path, frames, capsys):
    from PIL import Image

    marked = write_image(tmp_path / "marked.png", frames[0], PAYLOAD)
    write_video(tmp_path / "marked.mp4", frames)
    Image.fromarray(frames[0]).save(tmp_path / "plain.png")
    assert main(["verify", str(marked), str(tmp_path / "marked.mp4")]) == 0
    out = capsys.readouterr().out
    assert "model 1234" in out and "valid" in out and "MARKED" in out and "over 6 frames" in out
    assert main(["verify", str(tmp_path / "plain.png")]) == 1
    assert "does not mean the file is real" in capsys.readouterr().out
    for name in ("marked.png", "marked.mp4"):
        data = bytearray((tmp_path / name).read_bytes())
        data[len(data) // 2] ^= 0xFF                        # one byte of the signed file flipped
        (tmp_path / f"tampered_{name}").write_bytes(bytes(data))
        assert main(["verify", str(tmp_path / f"tampered_{name}")]) == 2
        assert "TAMPERED" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "missing.png")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_figures_are_marked_and_a_folder_check_finds_the_unmarked_files(tmp_path, frames):
    import matplotlib.pyplot as plt
    from PIL import Image

    figure, ax = plt.subplots(figsize=(2, 2))
    ax.imshow(frames[0])
    save_figure(figure, tmp_path / "grid.png", dpi=80)
    plt.close(figure)
    write_image(tmp_path / "sub" / "frame.jpg", frames[1])
    Image.fromarray(frames[2]).save(tmp_path / "sub" / "plain.jpg")
    assert unmarked_files(tmp_path) == [tmp_path / "sub" / "plain.jpg"]


def test_the_survival_table_runs_and_meets_its_targets_at_64():
    rows = survival_rows(sizes=(64,), noise_images=10)
    by_name = {row["condition"]: row for row in rows}
    assert by_name["JPEG 75"]["bit_accuracy"] >= 0.98
    assert by_name["H.264 CRF 23, whole video"]["decoded"] == 1.0
    assert by_name["PSNR marked vs unmarked (dB)"]["min"] >= 38
    assert by_name["false marks: noise images + unmarked frames"]["false_marks"] == 0
    assert "| 64² model output | JPEG 75 |" in format_table(rows)
