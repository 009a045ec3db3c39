"""K-shot episodes: the target is never among the K frames, sampling is seeded, loaders are reproducible."""
import pytest
import torch

from fewshot_lib.data import EpisodeError, EpisodeSampler, SyntheticConfig, VideoDataset, make_loader, synthetic_split
from fewshot_lib.data.synthetic import SyntheticHeads, write_synthetic

CONFIG = SyntheticConfig(identities=3, videos=2, frames=10, size=32, heldout_identities=1)


@pytest.fixture(scope="module")
def videos():
    return synthetic_split("train", CONFIG, cache=True)


def test_an_episode_has_the_documented_tensors(videos):
    dataset = VideoDataset(videos, k=4)
    episode = dataset[2]
    shapes = {"frames": (4, 3, 32, 32), "sketches": (4, 3, 32, 32), "target": (3, 32, 32),
              "target_sketch": (3, 32, 32), "landmarks": (4, 68, 2), "target_landmarks": (68, 2),
              "video": (), "target_index": (), "frame_indices": (4,)}
    assert {k: tuple(v.shape) for k, v in episode.items()} == shapes
    for key in ("frames", "sketches", "target", "target_sketch"):
        assert episode[key].dtype == torch.float32 and -1 <= episode[key].min() and episode[key].max() <= 1
    for key in ("video", "target_index", "frame_indices"):
        assert episode[key].dtype == torch.int64
    t = int(episode["target_index"])
    torch.testing.assert_close(episode["target_landmarks"], torch.as_tensor(videos[2].landmarks[t], dtype=torch.float32))
    assert episode["video"] == 2
    sketch = episode["target_sketch"]
    assert (sketch == -1).all(dim=0).float().mean() > 0.7, "a sketch is lines on a black background"
    t = int(episode["target_index"])
    expected = torch.from_numpy(videos[2].frame(t)).permute(2, 0, 1).float() / 127.5 - 1
    torch.testing.assert_close(episode["target"], expected)


def test_the_target_is_never_one_of_the_k_frames(videos):
    dataset = VideoDataset(videos, k=8)                # 9 of 10 frames: the tightest case
    for index in range(20 * len(dataset)):           # 20 epochs
        target, frames = dataset.draw(index % len(dataset), index // len(dataset))
        assert target not in frames and len(set(frames.tolist())) == 8
        assert all(0 <= t < 10 for t in [target, *frames])


def test_episodes_are_seeded_and_change_with_the_epoch(videos):
    a, b, c = VideoDataset(videos, k=3, seed=1), VideoDataset(videos, k=3, seed=1), VideoDataset(videos, k=3, seed=2)
    def draws(dataset):
        pairs = (dataset.draw(v, e) for v in range(len(dataset)) for e in range(3))
        return [(target, frames.tolist()) for target, frames in pairs]

    assert draws(a) == draws(b) and draws(a) != draws(c)
    per_epoch = {e: [a.draw(v, e)[0] for v in range(len(a))] for e in range(3)}
    assert per_epoch[0] != per_epoch[1] or per_epoch[1] != per_epoch[2]
    index = 2 * len(a) + 4                            # item index = epoch * len + video
    assert int(a[index]["video"]) == 4 and int(a[index]["target_index"]) == a.draw(4, 2)[0]


def test_explicit_episodes_and_their_errors(videos):
    dataset = VideoDataset(videos, k=8)
    episode = dataset.episode(1, target=0, k_indices=[9, 3])      # any number of frames, e.g. for evaluation
    assert episode["frames"].shape[0] == 2 and episode["frame_indices"].tolist() == [9, 3]
    with pytest.raises(EpisodeError, match="among the embedder frames"):
        dataset.episode(1, target=3, k_indices=[1, 3])
    with pytest.raises(EpisodeError, match="repeat"):
        dataset.episode(1, target=0, k_indices=[1, 1])
    with pytest.raises(EpisodeError, match="out of range"):
        dataset.episode(1, target=10, k_indices=[1])
    with pytest.raises(IndexError):
        dataset.episode(len(dataset), target=0, k_indices=[1])


def test_short_videos_are_rejected_or_dropped_explicitly(videos):
    short = SyntheticHeads(0).video(9, 0, 4, 32)
    with pytest.raises(EpisodeError, match="fewer than K \\+ 1 = 9 frames"):
        VideoDataset([*videos, short], k=8)
    dataset = VideoDataset([*videos, short], k=8, drop_short=True)
    assert len(dataset) == len(videos) and dataset.dropped == [short]
    with pytest.raises(EpisodeError, match="at least one"):
        VideoDataset(videos, k=0)


def test_sizes_must_agree_or_be_resized(videos):
    big = SyntheticHeads(0).video(0, 0, 10, 64)
    with pytest.raises(EpisodeError, match="different frame sizes"):
        VideoDataset([videos[0], big], k=2)
    dataset = VideoDataset([videos[0], big], k=2, size=48)
    episode = dataset.episode(1, 0, [5, 7])
    assert episode["target"].shape == (3, 48, 48) and episode["sketches"].shape == (2, 3, 48, 48)
    same = VideoDataset([big], k=2, size=48).episode(0, 0, [5, 7])
    torch.testing.assert_close(episode["target_sketch"], same["target_sketch"])


def test_records_and_on_demand_videos_give_the_same_episodes(tmp_path, videos):
    write_synthetic(tmp_path, CONFIG, splits=("train",), progress=False)
    on_disk, on_demand = VideoDataset(tmp_path / "train", k=3, seed=5), VideoDataset(videos, k=3, seed=5)
    assert len(on_disk) == len(on_demand)
    for index in (0, 7, 13):
        a, b = on_disk[index], on_demand[index]
        for key in a:
            torch.testing.assert_close(a[key], b[key])


def test_the_sampler_visits_every_video_once_per_epoch():
    sampler = EpisodeSampler(7, seed=3)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(7)) and sorted(second) == list(range(7, 14))
    assert [i - 7 for i in second] != first, "each epoch has its own order"
    shards = [list(EpisodeSampler(7, seed=3, rank=r, num_replicas=3)) for r in range(3)]
    assert sorted(sum(shards, [])) == sorted(first) and [len(s) for s in shards] == [3, 2, 2]


def test_loaders_are_reproducible_whatever_the_workers(videos):
    dataset = VideoDataset(videos, k=3, seed=4)
    batches = [[b for b in make_loader(dataset, batch_size=2, num_workers=workers)] for workers in (0, 2)]
    assert len(batches[0]) == 3 and batches[0][0]["frames"].shape == (2, 3, 3, 32, 32)
    for a, b in zip(*batches):
        for key in a:
            assert torch.equal(a[key], b[key])
    loader = make_loader(dataset, batch_size=2)
    epoch0, epoch1 = [b["video"].tolist() for b in loader], [b["video"].tolist() for b in loader]
    assert epoch0 != epoch1 and sorted(sum(epoch0, [])) == list(range(6))
    assert not loader.pin_memory and make_loader(dataset, 2, device="cuda").pin_memory
