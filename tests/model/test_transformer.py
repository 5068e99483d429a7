"""Tests of the Talk2Face transformer: the prefix mask, the KV cache, the loss, the released-weights loader."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from model.transformer import (
    IGNORE_INDEX,
    Talk2Face,
    Talk2FaceConfig,
    convert_tencentpretrain,
    prefix_lm_mask,
)

pytestmark = pytest.mark.usefixtures("one_thread")


TINY = Talk2FaceConfig(vocab_size=97, n_positions=64, n_layer=2, n_head=4, n_embd=32, n_inner=64, dropout=0.0)


def layout(n1: int, n2: int, pad: int) -> list[int]:
    return [1] * n1 + [2] * n2 + [0] * pad


# --- the prefix mask ----------------------------------------------------------


def naive_mask(segments: list[int]) -> list[list[bool | None]]:
    """The rule of DESIGN.md 3.6 written out; None for padding query rows, whose outputs are ignored."""
    T = len(segments)
    rows: list[list[bool | None]] = []
    for i in range(T):
        if segments[i] == 0:
            rows.append([None] * T)
            continue
        row: list[bool | None] = []
        for j in range(T):
            if segments[j] == 0:
                row.append(False)  # padding is never seen
            elif segments[i] == 1:
                row.append(segments[j] == 1)  # segment 1 sees all of segment 1, nothing of segment 2
            else:
                row.append(segments[j] == 1 or j <= i)  # segment 2: segment 1, then causal
        rows.append(row)
    return rows


@pytest.mark.parametrize("n1,n2,pad", [(1, 0, 0), (3, 4, 0), (5, 1, 3), (2, 6, 2), (7, 7, 7)])
def test_prefix_mask_matches_the_rule(n1: int, n2: int, pad: int) -> None:
    segments = layout(n1, n2, pad)
    got = prefix_lm_mask(torch.tensor([segments]))[0].tolist()
    for i, want_row in enumerate(naive_mask(segments)):
        for j, want in enumerate(want_row):
            if want is not None:
                assert got[i][j] == want, (i, j)


def test_prefix_mask_is_tencentpretrains_and_no_row_is_empty() -> None:
    segments = torch.tensor([layout(3, 4, 2), layout(6, 2, 1)])
    T = segments.size(1)
    # TencentPretrain's encoder (mask "prefix"): (seg==1) + (seg>0) + tril >= 2, over the key's segment
    a = (segments == 1)[:, None, :].float()
    b = (segments > 0)[:, None, :].float()
    tril = torch.ones(T, T).tril()
    reference = (a + b + tril) >= 2
    assert torch.equal(prefix_lm_mask(segments), reference)
    assert bool(prefix_lm_mask(segments).any(-1).all())  # padding rows too, so softmax never sees an empty row


# --- forward, loss, KV cache ---------------------------------------------------


def model_for(config: Talk2FaceConfig, seed: int = 0) -> Talk2Face:
    torch.manual_seed(seed)
    model = Talk2Face(config).eval()
    with torch.no_grad():  # give LayerNorms and biases non-trivial values
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    return model


def test_labels_give_the_cross_entropy_of_the_logits() -> None:
    model = model_for(TINY)
    ids = torch.randint(0, TINY.vocab_size, (2, 9))
    segments = torch.tensor([layout(4, 5, 0), layout(3, 3, 3)])
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, 3:8] = ids[:, 4:9]
    labels[1, 5:] = IGNORE_INDEX
    losses = model(ids, segments, labels)
    logits = model(ids, segments)
    where = labels != IGNORE_INDEX
    want = F.cross_entropy(logits[where], labels[where], reduction="none")
    torch.testing.assert_close(losses[where], want)
    assert bool((losses[~where] == 0).all())


def test_padding_does_not_change_the_real_tokens() -> None:
    model = model_for(TINY)
    ids = torch.randint(0, TINY.vocab_size, (1, 7))
    segments = torch.tensor([layout(4, 3, 0)])
    padded_ids = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], 1)
    padded_seg = torch.cat([segments, torch.zeros(1, 4, dtype=torch.long)], 1)
    torch.testing.assert_close(model(padded_ids, padded_seg)[:, :7], model(ids, segments))


@pytest.mark.parametrize("layer_norm", ["torch", "tencentpretrain"])
def test_cached_generation_equals_full_forward(layer_norm: str) -> None:
    config = Talk2FaceConfig(**{**TINY.__dict__, "layer_norm": layer_norm})
    model = model_for(config)
    # two prompts of different lengths, right-padded; the second already has two segment-2 tokens
    prompts = [(torch.randint(0, 97, (6,)), layout(6, 0, 0)), (torch.randint(0, 97, (4,)), layout(2, 2, 0))]
    T = 6
    ids = torch.zeros(2, T, dtype=torch.long)
    segments = torch.zeros(2, T, dtype=torch.long)
    for row, (p, s) in enumerate(prompts):
        ids[row, : len(p)] = p
        segments[row, : len(s)] = torch.tensor(s)
    new = torch.randint(0, 97, (5, 2))  # the tokens "sampled" at each step
    logits, cache = model.prefill(ids, segments, max_new_tokens=5)
    steps = [logits]
    for t in range(5):
        logits, cache = model.step(new[t], cache)
        steps.append(logits)
    for row, (p, s) in enumerate(prompts):
        for t in range(6):  # after the prompt and t new tokens
            full_ids = torch.cat([p, new[:t, row]])[None]
            full_seg = torch.tensor([s + [2] * t])
            want = model(full_ids, full_seg)[0, -1]
            torch.testing.assert_close(steps[t][row], want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("output_bias", [False, True])
def test_step_restricted_to_a_vocabulary_gives_the_same_logits_there(output_bias: bool) -> None:
    model = model_for(Talk2FaceConfig(**{**TINY.__dict__, "output_bias": output_bias}))
    if output_bias:
        torch.nn.init.normal_(model.lm_head.bias)
    ids, segments = torch.randint(0, 97, (2, 4)), torch.tensor([layout(4, 0, 0), layout(3, 0, 1)])
    _, full_cache = model.prefill(ids, segments, max_new_tokens=1)
    _, part_cache = model.prefill(ids, segments, max_new_tokens=1)
    vocab = torch.tensor([3, 50, 7, TINY.vocab_size - 1])
    full, _ = model.step(torch.tensor([5, 6]), full_cache)
    part, _ = model.step(torch.tensor([5, 6]), part_cache, vocab=vocab)
    torch.testing.assert_close(part[:, vocab], full[:, vocab], atol=1e-5, rtol=1e-5)
    others = torch.ones(TINY.vocab_size, dtype=torch.bool)
    others[vocab] = False
    assert torch.isneginf(part[:, others]).all()
    torch.testing.assert_close(part_cache.keys[0], full_cache.keys[0])


def test_cache_select_and_limits() -> None:
    model = model_for(TINY)
    ids = torch.randint(0, 97, (2, 3))
    segments = torch.tensor([layout(3, 0, 0), layout(2, 0, 1)])
    logits, cache = model.prefill(ids, segments, max_new_tokens=1)
    picked = cache.select(torch.tensor([1, 1, 0]))
    assert picked.keys[0].shape[0] == 3 and picked.next_position.tolist() == [2, 2, 3]
    model.step(torch.tensor([5, 6]), cache)
    with pytest.raises(ValueError, match="cache is full"):
        model.step(torch.tensor([5, 6]), cache)
    with pytest.raises(ValueError, match="right-padded"):
        model.prefill(ids, torch.tensor([[1, 0, 1], [1, 1, 1]]))


def test_tied_output_layer_and_param_groups_shapes() -> None:
    config = Talk2FaceConfig(**{**TINY.__dict__, "tie_weights": True})
    model = Talk2Face(config)
    assert model.lm_head.weight is model.wte.weight
    assert model.lm_head.bias is None
    assert model.num_params(non_embedding=False) == sum(p.numel() for p in model.parameters())


def test_paper_preset_sizes() -> None:
    c = Talk2FaceConfig.paper()
    assert (c.n_layer, c.n_embd, c.n_head, c.n_inner, c.dropout, c.vocab_size, c.n_segments) == (
        12, 768, 12, 3072, 0.1, 31546, 3,
    )
    with torch.device("meta"):
        n = Talk2Face(c).num_params(non_embedding=False)
    # 12 x 7.08M blocks + 2 x 24.2M (untied embedding and output layer) + positions and segments
    assert 130e6 < n < 136e6


# --- the released TencentPretrain weights ---------------------------------------

L, C, H, FF, V, P = 2, 32, 4, 64, 101, 40


def tencentpretrain_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict with TencentPretrain's Talk2Face parameter names and shapes."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int, scale: float = 0.2) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    state = {
        "embedding.word.embedding.weight": r(V, C, scale=1.0),
        "embedding.pos.embedding.weight": r(P, C, scale=1.0),
        "embedding.seg.embedding.weight": r(3, C, scale=1.0),
        "encoder.layer_norm.gamma": 1 + r(C),
        "encoder.layer_norm.beta": r(C),
        "target.lm.output_layer.weight": r(V, C),
    }
    for i in range(L):
        p = f"encoder.transformer.{i}."
        for j in range(3):
            state[p + f"self_attn.linear_layers.{j}.weight"] = r(C, C)
            state[p + f"self_attn.linear_layers.{j}.bias"] = r(C)
        state[p + "self_attn.final_linear.weight"] = r(C, C)
        state[p + "self_attn.final_linear.bias"] = r(C)
        state[p + "feed_forward.linear_1.weight"] = r(FF, C)
        state[p + "feed_forward.linear_1.bias"] = r(FF)
        state[p + "feed_forward.linear_2.weight"] = r(C, FF)
        state[p + "feed_forward.linear_2.bias"] = r(C)
        for n in (1, 2):
            state[p + f"layer_norm_{n}.gamma"] = 1 + r(C)
            state[p + f"layer_norm_{n}.beta"] = r(C)
    return state


def reference_logits(state: dict[str, torch.Tensor], src: torch.Tensor, seg: torch.Tensor, heads: int) -> torch.Tensor:
    """TencentPretrain's Talk2Face forward written out plainly: additive -10000 mask, manual attention."""

    def layer_norm(x: torch.Tensor, prefix: str) -> torch.Tensor:
        mean = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True)
        return state[prefix + "gamma"] * (x - mean) / (std + 1e-6) + state[prefix + "beta"]

    def linear(x: torch.Tensor, prefix: str) -> torch.Tensor:
        out = x @ state[prefix + "weight"].t()
        return out + state[prefix + "bias"] if prefix + "bias" in state else out

    def gelu_fast(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

    B, T = src.shape
    pos = torch.arange(T)[None].repeat(B, 1)
    h = (state["embedding.word.embedding.weight"][src] + state["embedding.pos.embedding.weight"][pos]
         + state["embedding.seg.embedding.weight"][seg])
    mask_a = (seg == 1)[:, None, :].repeat(1, T, 1)[:, None].float()
    mask_b = (seg > 0)[:, None, :].repeat(1, T, 1)[:, None].float()
    tril = torch.ones(T, T).tril().repeat(B, 1, 1, 1)
    mask = (1.0 - (mask_a + mask_b + tril >= 2).float()) * -10000.0  # (B, 1, T, T)
    d = h.size(-1) // heads
    for i in range(L):
        p = f"encoder.transformer.{i}."
        x = layer_norm(h, p + "layer_norm_1.")
        q, k, v = (linear(x, p + f"self_attn.linear_layers.{j}.").view(B, T, heads, d).transpose(1, 2) for j in range(3))
        scores = q @ k.transpose(2, 3) / math.sqrt(d) + mask
        probs = torch.softmax(scores, dim=-1)
        att = (probs @ v).transpose(1, 2).reshape(B, T, heads * d)
        h = h + linear(att, p + "self_attn.final_linear.")
        x = layer_norm(h, p + "layer_norm_2.")
        h = h + linear(gelu_fast(linear(x, p + "feed_forward.linear_1.")), p + "feed_forward.linear_2.")
    h = layer_norm(h, "encoder.layer_norm.")
    return h @ state["target.lm.output_layer.weight"].t()


def test_tencentpretrain_weights_load_and_compute_the_reference(tmp_path) -> None:
    state = tencentpretrain_state()
    path = tmp_path / "talk2face.bin"
    torch.save(state, path)
    model = Talk2Face.from_tencentpretrain(path, heads=H).eval()
    c = model.config
    assert (c.vocab_size, c.n_positions, c.n_segments, c.n_layer, c.n_embd, c.n_inner) == (V, P, 3, L, C, FF)
    assert (c.layer_norm, c.bias, c.output_bias, c.tie_weights) == ("tencentpretrain", True, False, False)
    ours = dict(model.state_dict())
    assert sum(t.numel() for t in ours.values()) == sum(t.numel() for t in state.values())

    src = torch.randint(0, V, (3, 12))
    seg = torch.tensor([layout(5, 7, 0), layout(8, 2, 2), layout(3, 0, 9)])
    want = reference_logits(state, src, seg, H)
    got = model(src, seg)
    real = seg > 0
    torch.testing.assert_close(got[real], want[real], atol=1e-4, rtol=1e-4)


def test_tencentpretrain_mapping_is_complete_and_strict() -> None:
    state = tencentpretrain_state()
    config, ours = convert_tencentpretrain(state, heads=H)
    assert set(ours) == set(Talk2Face(config).state_dict())
    with pytest.raises(ValueError, match="no place in Talk2Face.*embedding LayerNorm"):
        convert_tencentpretrain({**state, "embedding.layer_norm.gamma": torch.ones(C)}, heads=H)
    broken = dict(state)
    del broken["encoder.transformer.1.feed_forward.linear_2.bias"]
    with pytest.raises(ValueError, match=r"missing key 'encoder.transformer.1.feed_forward.linear_2.bias'"):
        convert_tencentpretrain(broken, heads=H)
    with pytest.raises(ValueError, match="not a multiple of heads"):
        convert_tencentpretrain(state, heads=5)
    # saved from a DDP wrapper: the "module." prefix is dropped
    config2, _ = convert_tencentpretrain({"module." + k: v for k, v in state.items()}, heads=H)
    assert config2 == config


def test_tencentpretrain_loader_refuses_pickled_objects(tmp_path) -> None:
    path = tmp_path / "evil.bin"
    torch.save({"embedding.word.embedding.weight": torch.zeros(2, 2), "x": Exception("payload")}, path)
    with pytest.raises(ValueError, match="plain torch state dict"):
        Talk2Face.from_tencentpretrain(path, heads=2)
