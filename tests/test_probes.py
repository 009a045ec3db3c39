"""Probes of what a trained E and G know (fewshot_lib.models.probes): shares, re-identification, AdaIN swaps."""
import pytest
import torch

from fewshot_lib.models import AdaIN, Generator, get_preset
from fewshot_lib.models.probes import (INTERACTIONS, adain_groups, region_change, reidentification_rate, swap_groups,
                                       swap_psi, variance_shares)


@pytest.fixture(scope="module")
def tiny_G():
    torch.manual_seed(0)
    return Generator(get_preset("tiny")).eval()


def test_variance_shares_of_an_additive_grid():
    """e = person part + room part (no pose part): the shares are their spreads, nothing is left over."""
    rng = torch.Generator().manual_seed(0)
    person, room = torch.randn(4, 1, 1, 8, generator=rng), torch.randn(1, 3, 1, 8, generator=rng) * 2
    person, room = person - person.mean(dim=0), room - room.mean(dim=1)   # centred: an exact decomposition
    e = (person + room).expand(4, 3, 5, 8)                                 # (people, rooms, poses, N)
    shares = variance_shares(e, ("person", "room", "pose"))
    spread = lambda part: part.pow(2).sum(dim=-1).mean().item()
    assert shares["person"] == pytest.approx(spread(person) / (spread(person) + spread(room)))
    assert shares["room"] == pytest.approx(spread(room) / (spread(person) + spread(room)))
    assert shares["pose"] == pytest.approx(0, abs=1e-12)
    assert shares[INTERACTIONS] == pytest.approx(0, abs=1e-9)


def test_variance_shares_add_up_to_one_and_check_the_axes():
    e = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(1))
    assert sum(variance_shares(e, ("person", "room")).values()) == pytest.approx(1)
    with pytest.raises(ValueError, match="one axis per factor"):
        variance_shares(e, ("person",))
    with pytest.raises(ValueError, match="no spread"):
        variance_shares(torch.ones(2, 2, 3), ("person", "room"))


def test_reidentification_rate():
    rng = torch.Generator().manual_seed(2)
    person = torch.randn(5, 1, 16, generator=rng) * 10
    same_everywhere = person + 0.01 * torch.randn(5, 3, 16, generator=rng)     # who dominates: always found
    assert reidentification_rate(same_everywhere) == 1.0
    room = torch.randn(1, 3, 16, generator=rng) * 10
    rooms_only = room + 0.01 * torch.randn(5, 3, 16, generator=rng)           # nothing about who
    assert reidentification_rate(rooms_only) < 0.6
    with pytest.raises(ValueError, match="2 rooms"):
        reidentification_rate(torch.randn(5, 1, 16))


def test_adain_groups_cover_every_adain_layer_once():
    for preset in ("tiny", "cpu64"):
        G = Generator(get_preset(preset))
        groups = adain_groups(G)
        names = [name for layers in groups.values() for name in layers]
        adains = [name for name, module in G.named_modules() if isinstance(module, AdaIN)]
        assert names == adains                                             # each once, in G's order
        assert sorted(set(names)) == sorted({piece.layer for piece in G.psi_layout})
        assert list(groups)[-1] == "last AdaIN (to RGB)"
    assert list(adain_groups(Generator(get_preset("cpu64")))) == [
        "bottleneck (16×16)", "up block to 32×32", "up block to 64×64", "last AdaIN (to RGB)"]


def test_swap_psi_takes_only_the_named_layers(tiny_G):
    a, b = torch.zeros(2, tiny_G.n_psi), torch.ones(2, tiny_G.n_psi)
    layer = tiny_G.psi_layout[0].layer
    mixed = swap_psi(a, b, tiny_G.psi_layout, [layer])
    for piece in tiny_G.psi_layout:
        assert (mixed[:, piece.slice] == (1.0 if piece.layer == layer else 0.0)).all()
    assert (a == 0).all()                                                  # psi_a untouched
    with pytest.raises(ValueError, match="no AdaIN layer"):
        swap_psi(a, b, tiny_G.psi_layout, ["decoder.99.norm1"])


def test_swap_groups_with_all_or_no_layers(tiny_G):
    rng = torch.Generator().manual_seed(3)
    S = tiny_G.cfg.image_size
    y = torch.rand(2, 3, S, S, generator=rng) * 2 - 1
    psi_a, psi_b = torch.randn(2, tiny_G.n_psi, generator=rng), torch.randn(2, tiny_G.n_psi, generator=rng)
    every = [name for layers in adain_groups(tiny_G).values() for name in layers]
    out = swap_groups(tiny_G, y, psi_a, psi_b, {"none": [], "all": every})
    with torch.no_grad():
        torch.testing.assert_close(out["none"], tiny_G.forward_from_psi(y, psi_a))
        torch.testing.assert_close(out["all"], tiny_G.forward_from_psi(y, psi_b))


def test_region_change():
    reference = torch.zeros(1, 3, 4, 4)
    x = reference.clone()
    x[:, :, :2] = 1.0                                                      # the top half changes by 1
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[:2] = True
    inside, outside = region_change(x, reference, mask)
    assert inside.tolist() == [1.0] and outside.tolist() == [0.0]
    with pytest.raises(ValueError, match="some pixels"):
        region_change(x, reference, torch.ones(4, 4, dtype=torch.bool))
