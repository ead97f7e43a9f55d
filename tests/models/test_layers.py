import torch
import torch.nn.functional as F

from nco.models.layers import EncoderLayer, RMSNorm, SwiGLU, merge_heads, split_heads


def test_rmsnorm_gives_unit_root_mean_square_times_its_weight():
    torch.manual_seed(0)
    x = 5 * torch.randn(3, 4, 16)
    norm = RMSNorm(16)
    assert torch.allclose(norm(x).pow(2).mean(-1), torch.ones(3, 4), atol=1e-4)
    with torch.no_grad():
        norm.weight.fill_(2.0)
    assert torch.allclose(norm(x).pow(2).mean(-1), 4 * torch.ones(3, 4), atol=1e-3)
    assert torch.allclose(norm(3 * x), norm(x), atol=1e-5)  # scale-free


def test_swiglu_is_its_gated_formula():
    torch.manual_seed(1)
    layer, x = SwiGLU(8, 12), torch.randn(2, 5, 8)
    gate, value = (x @ layer.gate_and_value.weight.T).chunk(2, -1)
    assert torch.allclose(layer(x), (F.silu(gate) * value) @ layer.out.weight.T, atol=1e-6)


def test_heads_split_and_merge_back():
    x = torch.randn(2, 7, 12)
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 7, 4)
    assert torch.equal(merge_heads(heads), x)


def test_a_node_that_may_not_be_attended_to_changes_no_other_node():
    torch.manual_seed(2)
    layer, x = EncoderLayer(16, 4, 32), torch.randn(1, 5, 16)
    attend = torch.tensor([True, True, True, True, False]).view(1, 1, 1, 5)
    changed = x.clone()
    changed[:, 4] += 10.0  # only the padding node differs
    assert torch.allclose(layer(x, attend)[:, :4], layer(changed, attend)[:, :4], atol=1e-5)
    assert not torch.allclose(layer(x, attend.clone().fill_(True))[:, :4], layer(changed, attend.clone().fill_(True))[:, :4])
