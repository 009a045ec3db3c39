"""fewshot_lib.losses: each loss against a hand computation, Caffe preprocessing, weight files, offline mode."""
import dataclasses
import fractions

import pytest
import torch
from safetensors.torch import save_file
from torch.testing import assert_close

from fewshot_lib.losses import (FALLBACKS, VGG19, VGGFACE, ChecksumError, ContentLoss, LossWeights,
                                PerceptualNetwork, WeightsError, WeightsNotFound, adversarial_loss,
                                build_content_loss, caffe_preprocess, discriminator_hinge_loss,
                                embedding_match_loss, feature_matching_loss, find_weights,
                                load_perceptual_network, multiscale_l1, perceptual_loss, verify_checksum)
from fewshot_lib.losses import perceptual


@pytest.fixture(autouse=True)
def offline_cache(monkeypatch, tmp_path):
    """Every test: an empty weights cache in tmp_path, offline, and a downloader that fails the test."""
    monkeypatch.setattr(perceptual, "CONFIG", dataclasses.replace(perceptual.CONFIG, home=tmp_path, offline=True))

    def no_download(url, destination):
        pytest.fail(f"tried to download {url}")

    monkeypatch.setattr(perceptual, "download_weights", no_download)


def published_state_dict(spec, seed=1):
    """A state dict named like the published file of ``spec`` (random values), plus one extra tensor."""
    convs = PerceptualNetwork(spec, seed=seed).convs
    state = {f"{spec.keys[name]}.{kind}": getattr(conv, kind).detach().clone()
             for name, conv in convs.items() for kind in ("weight", "bias")}
    state["fc8.bias"] = torch.zeros(3)   # published files hold classifier layers too: ignored
    return state


@pytest.fixture(scope="module")
def published_files(tmp_path_factory):
    """VGG19 as a torch file and VGGFace as safetensors, named and shaped like the published ones."""
    folder = tmp_path_factory.mktemp("published")
    vgg19, vggface = folder / "vgg19.pth", folder / "vgg_face.safetensors"
    torch.save(published_state_dict(VGG19), vgg19)
    save_file(published_state_dict(VGGFACE), str(vggface))
    return {"vgg19": vgg19, "vggface": vggface}


# ---- each loss against a hand computation --------------------------------------------------

def test_loss_weights_are_the_papers():
    w = LossWeights()
    assert (w.vgg19, w.vggface, w.feature_matching, w.match) == (1.5e-1, 2.5e-2, 10.0, 10.0)
    v1 = LossWeights.arxiv_v1()
    assert (v1.vgg19, v1.vggface, v1.feature_matching, v1.match) == (1e-2, 2e-3, 10.0, 80.0)
    assert w.feed_forward().match == 0 and w.feed_forward().vgg19 == w.vgg19
    with pytest.raises(ValueError, match="match"):
        LossWeights(match=-1)


def test_discriminator_hinge_loss_by_hand():
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-2.0, 0.0, 0.5])
    # fake: max(0, 1 + s) = 0, 1, 1.5 → mean 2.5/3; real: max(0, 1 − s) = 0, 0.5, 2 → mean 2.5/3
    assert_close(discriminator_hinge_loss(real, fake), torch.tensor(5 / 3))
    # past both margins D has nothing left to learn: loss 0
    assert discriminator_hinge_loss(torch.tensor([1.5]), torch.tensor([-3.0])).item() == 0


def test_feature_matching_and_adversarial_loss_by_hand():
    real = [torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2).requires_grad_(),
            torch.tensor([0.0, 0.0]).view(1, 2, 1, 1)]
    fake = [torch.tensor([1.0, 2.0, 3.0, 2.0]).view(1, 1, 2, 2).requires_grad_(),
            torch.tensor([1.0, -3.0]).view(1, 2, 1, 1)]
    # layer 1: |4 − 2| / 4 = 0.5; layer 2: (1 + 3) / 2 = 2 → L_FM = 2.5
    assert_close(feature_matching_loss(real, fake), torch.tensor(2.5))
    score = torch.tensor([0.5, 1.5], requires_grad=True)
    loss = adversarial_loss(score, real, fake, fm_weight=10.0)
    assert_close(loss, torch.tensor(-1.0 + 10 * 2.5))           # −mean(D(x̂)) + 10·L_FM
    loss.backward()
    assert real[0].grad is None, "the real features are targets: no gradient may reach them"
    assert_close(score.grad, torch.tensor([-0.5, -0.5]))
    assert_close(fake[0].grad.flatten(), 10 * torch.tensor([0, 0, 0, -1 / 4]))
    with pytest.raises(ValueError, match="same, non-zero number"):
        feature_matching_loss(real, fake[:1])


def test_embedding_match_loss_by_hand():
    e = torch.tensor([[[1.0, 0.0, 2.0], [3.0, 1.0, 0.0]]], requires_grad=True)   # (B=1, K=2, N=3)
    W = torch.tensor([[1.0, 1.0, 1.0]], requires_grad=True)                      # (B=1, N=3)
    # ‖W − e_1‖₁ = 0 + 1 + 1 = 2, ‖W − e_2‖₁ = 2 + 0 + 1 = 3 → mean over K = 2.5
    loss = embedding_match_loss(e, W)
    assert_close(loss, torch.tensor(2.5))
    loss.backward()
    assert W.grad is not None and e.grad is not None, "L_MCH must update both W and E"
    assert_close(W.grad, torch.tensor([[-0.5, 0.5, 0.0]]))   # mean_k sign(W − e_k)
    with pytest.raises(ValueError, match=r"\(B, K, N\)"):
        embedding_match_loss(e[0], W)


def test_multiscale_l1_by_hand():
    x = torch.zeros(1, 1, 4, 4)
    x_hat = x.clone()
    x_hat[0, 0, 0, 0], x_hat[0, 0, 0, 1] = 1.0, -1.0
    # scale 1: 2/16; scales 2 and 4: the ±1 pair shares a pooling cell and cancels → (2/16 + 0 + 0) / 3
    assert_close(multiscale_l1(x_hat, x, scales=3), torch.tensor(2 / 16 / 3))
    shifted = x + 0.5   # a colour shift survives every scale
    assert_close(multiscale_l1(shifted, x, scales=3), torch.tensor(0.5))


def test_perceptual_loss_by_hand():
    network = PerceptualNetwork(VGGFACE)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    x_hat = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_()
    expected = sum((f - r).abs().mean() for f, r in zip(network(x_hat), network(x)))
    loss = perceptual_loss(network, x_hat, x)
    assert_close(loss, expected)
    assert perceptual_loss(network, x, x).item() == 0
    loss.backward()
    assert x_hat.grad.abs().sum() > 0
    assert all(p.grad is None for p in network.parameters()), "the perceptual network is frozen"


# ---- Caffe preprocessing and the VGG stacks ------------------------------------------------

def test_caffe_preprocessing_exact():
    x = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64).view(1, 3, 1, 1)   # R, G, B in [-1, 1]
    # 0–255: R = 0, G = 127.5, B = 255; VGG19 wants B, G, R minus (103.939, 116.779, 123.68)
    bgr = caffe_preprocess(x, VGG19.channel_order, VGG19.mean).flatten().tolist()
    assert bgr == [255 - 103.939, 127.5 - 116.779, 0 - 123.68]
    # VGGFace (the MatConvNet import) wants R, G, B minus its RGB mean
    rgb = caffe_preprocess(x, VGGFACE.channel_order, VGGFACE.mean).flatten().tolist()
    assert rgb == [0 - VGGFACE.mean[0], 127.5 - VGGFACE.mean[1], 255 - VGGFACE.mean[2]]
    with pytest.raises(ValueError, match="BGR"):
        caffe_preprocess(x, "GBR", VGG19.mean)


def test_network_features_are_relu_after_each_blocks_first_conv():
    network = PerceptualNetwork(VGG19)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    features = network(x)
    assert [tuple(f.shape) for f in features] == [(1, 64, 32, 32), (1, 128, 16, 16), (1, 256, 8, 8),
                                                  (1, 512, 4, 4), (1, 512, 2, 2)]
    relu1_1 = torch.relu(network.convs["conv1_1"](caffe_preprocess(x, "BGR", VGG19.mean)))
    assert_close(features[0], relu1_1)


def test_key_tables_follow_the_published_layouts():
    # torchvision's VGG19 `features`: each conv is followed by a ReLU, each block by a max-pool.
    index, expected = 0, {}
    for block, convs in enumerate((2, 2, 4, 4, 4), start=1):
        for i in range(1, convs + 1):
            expected[f"conv{block}_{i}"] = f"features.{index}"
            index += 2
        index += 1
    assert list(VGG19.keys) == VGG19.conv_names
    assert dict(VGG19.keys) == {name: expected[name] for name in VGG19.conv_names}
    assert list(VGGFACE.keys) == VGGFACE.conv_names == [
        "conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
        "conv4_1", "conv4_2", "conv4_3", "conv5_1"]
    assert all(VGGFACE.keys[name] == name for name in VGGFACE.conv_names)


@pytest.mark.parametrize("name", ["vgg19", "vggface"])
def test_published_weights_load_into_the_stacks(published_files, name):
    spec = {"vgg19": VGG19, "vggface": VGGFACE}[name]
    network = PerceptualNetwork(spec, seed=0).load_weights(published_files[name])
    reference = PerceptualNetwork(spec, seed=1)   # the values the file was written from
    for ours, theirs in zip(network.parameters(), reference.parameters()):
        assert torch.equal(ours, theirs)


def test_legacy_torch_format_loads(tmp_path):
    # The published .pth files predate PyTorch's zip format; weights_only must read those too.
    path = tmp_path / "legacy.pth"
    torch.save(published_state_dict(VGGFACE), path, _use_new_zipfile_serialization=False)
    network = PerceptualNetwork(VGGFACE, seed=0).load_weights(path)
    assert torch.equal(network.convs["conv5_1"].bias, PerceptualNetwork(VGGFACE, seed=1).convs["conv5_1"].bias)


def test_wrong_truncated_and_unsafe_files_give_clear_errors(tmp_path, published_files):
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv1_1.weight": torch.zeros(64, 3, 5, 5), "conv1_1.bias": torch.zeros(64)}, wrong)
    with pytest.raises(WeightsError, match=r"not a VGGFace weights file.*'conv1_1.weight' has shape \(64, 3, 5, 5\)"):
        PerceptualNetwork(VGGFACE).load_weights(wrong)
    with pytest.raises(WeightsError, match="no tensor 'features.0.weight'"):
        PerceptualNetwork(VGG19).load_weights(published_files["vggface"])   # the other network's file

    truncated = tmp_path / "truncated.pth"
    data = published_files["vgg19"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated"):
        PerceptualNetwork(VGG19).load_weights(truncated)

    unsafe = tmp_path / "unsafe.pth"
    torch.save({"conv1_1.weight": fractions.Fraction(1, 3)}, unsafe)   # rebuilding it means calling code
    with pytest.raises(WeightsError, match="cannot read"):
        PerceptualNetwork(VGGFACE).load_weights(unsafe)

    not_a_dict = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], not_a_dict)
    with pytest.raises(WeightsError, match="not a dict of tensors"):
        PerceptualNetwork(VGGFACE).load_weights(not_a_dict)


def test_checksum_mismatch_is_refused(tmp_path, published_files, capsys):
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    actual = verify_checksum(path, None)
    assert actual in capsys.readouterr().out, "an unpinned file's hash is printed so it can be pinned"
    assert verify_checksum(path, actual.upper()) == actual
    with pytest.raises(ChecksumError, match="expected 0000"):
        verify_checksum(path, "0" * 64)
    pinned_wrong = dataclasses.replace(VGGFACE, sha256="0" * 64)
    with pytest.raises(ChecksumError):
        load_perceptual_network(pinned_wrong, published_files["vggface"])


# ---- finding weights: cache, download, offline ---------------------------------------------

def test_offline_mode_never_touches_the_network():
    # offline_cache made the library offline and turned download_weights into a test failure
    with pytest.raises(WeightsNotFound, match="offline mode"):
        find_weights(VGG19)
    content, description = build_content_loss(LossWeights())
    assert list(content.weights) == ["pixel"]
    first = description.splitlines()[0]
    assert "VGG19 weights not found" in first and "VGGFace weights not found" in first
    assert "offline mode" in first and "multi-scale pixel L1 (weight 10) instead" in first


def test_download_goes_to_the_cache_and_failures_are_reported(monkeypatch, published_files):
    monkeypatch.setattr(perceptual, "CONFIG", dataclasses.replace(perceptual.CONFIG, offline=False))
    calls = []

    def fake_download(url, destination):
        calls.append(url)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(published_files["vggface"].read_bytes())

    monkeypatch.setattr(perceptual, "download_weights", fake_download)
    path = find_weights(VGGFACE)
    assert calls == [VGGFACE.url] and path == perceptual.weights_path(VGGFACE)
    assert find_weights(VGGFACE) == path and len(calls) == 1, "a cached file is not downloaded again"
    with pytest.raises(WeightsNotFound, match="downloads turned off"):
        find_weights(VGG19, download=False)

    def broken_download(url, destination):
        raise OSError("Name or service not known")

    monkeypatch.setattr(perceptual, "download_weights", broken_download)
    with pytest.raises(WeightsNotFound, match="downloading .*vgg19-d01eb7cb.pth failed.*Name or service"):
        find_weights(VGG19)
    with pytest.raises(FileNotFoundError, match="no file at"):
        find_weights(VGG19, path="missing.pth")


# ---- the content loss a run gets -----------------------------------------------------------

def test_content_loss_with_both_networks(published_files):
    content, description = build_content_loss(LossWeights(), vgg19=published_files["vgg19"],
                                               vggface=published_files["vggface"])
    assert description.splitlines()[0] == "L_CNT = 0.15·L_VGG19 + 0.025·L_VGGFace (pretrained VGG19, VGGFace)"
    x, x_hat = torch.rand(1, 3, 16, 16) * 2 - 1, torch.rand(1, 3, 16, 16) * 2 - 1
    terms = content.terms(x_hat, x)
    assert_close(terms["vgg19"], 0.15 * perceptual_loss(content.networks["vgg19"], x_hat, x))
    assert_close(content(x_hat, x), terms["vgg19"] + terms["vggface"])


def test_content_loss_with_one_network_says_which_was_dropped(published_files):
    content, description = build_content_loss(LossWeights(), vgg19=published_files["vgg19"])
    assert list(content.weights) == ["vgg19"]
    assert description.startswith("L_CNT = 0.15·L_VGG19 (pretrained VGG19); VGGFace term dropped: VGGFace weights")


@pytest.mark.parametrize("fallback", FALLBACKS)
def test_fallbacks(fallback):
    content, description = build_content_loss(LossWeights().feed_forward(), fallback=fallback)
    x, x_hat = torch.rand(1, 3, 16, 16) * 2 - 1, torch.rand(1, 3, 16, 16) * 2 - 1
    expected = {"pixel": {"pixel": 10.0}, "random": {"vgg19": 0.15, "vggface": 0.025}, "none": {}}[fallback]
    assert content.weights == expected
    if fallback == "pixel":
        assert_close(content(x_hat, x), 10 * multiscale_l1(x_hat, x))
    if fallback == "none":
        assert content(x_hat, x).item() == 0 and "L_CNT is off" in description
    assert "L_MCH: off (FF variant)." in description
    with pytest.raises(ValueError, match="choose one of pixel, random, none"):
        build_content_loss(fallback="blur")


def test_content_loss_is_a_module_whose_networks_move_with_it():
    content = ContentLoss({"vgg19": 1.0}, {"vgg19": PerceptualNetwork(VGG19)})
    assert content.to(torch.float64).networks["vgg19"].convs["conv1_1"].weight.dtype == torch.float64


def test_weights_report_says_what_is_present(monkeypatch, published_files):
    report = perceptual.weights_report()
    assert report.count("✗") == 2 and "offline mode" in report
    cached = perceptual.weights_path(VGGFACE)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(published_files["vggface"].read_bytes())
    assert f"✓ VGGFace: {cached} (SHA-256 {perceptual.sha256_of(cached)})" in perceptual.weights_report()
    monkeypatch.setattr(perceptual, "SPECS", {"vggface": dataclasses.replace(VGGFACE, sha256="0" * 64)})
    assert perceptual.weights_report().startswith(f"✗ {cached}: SHA-256 is")
