"""Tests of the sampler: hand-made logits functions with exact expected sequences, filters, constraints,
per-row reproducibility, and cached batched sampling == uncached one-by-one sampling on a real model."""

from __future__ import annotations

import pytest
import torch

from model.sampling import (
    IMAGE_OFFSET,
    SEP_ID,
    ChoiceConstraint,
    ImageConstraint,
    SamplingConfig,
    TextConstraint,
    choose,
    filter_logits,
    row_generators,
    row_seed,
    sample,
    trim,
)

pytestmark = pytest.mark.usefixtures("one_thread")

GREEDY = SamplingConfig.make_greedy()


# --- a hand-made logits function (flax lm1b style) ---------------------------------------------


V, EOS = 8, 7


def counting_step(token: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits that prefer token + 1 (mod V): 0 -> 1 -> 2 ...; state counts the tokens each row was fed."""
    logits = torch.full((token.size(0), V), -10.0)
    logits[torch.arange(token.size(0)), (token + 1) % V] = 10.0
    return logits, state + 1


def start_logits(first: list[int]) -> torch.Tensor:
    logits = torch.full((len(first), V), -10.0)
    logits[torch.arange(len(first)), torch.tensor(first)] = 10.0
    return logits


def test_greedy_follows_the_logits_function_to_eos() -> None:
    out = sample(counting_step, start_logits([3, 5]), torch.zeros(2), max_new_tokens=6, eos_id=EOS, config=GREEDY)
    assert out.tolist() == [[3, 4, 5, 6, 7, 0], [5, 6, 7, 0, 0, 0]]
    assert trim(out, EOS) == [[3, 4, 5, 6], [5, 6]]


def test_sampling_a_near_one_hot_distribution_gives_the_exact_sequence() -> None:
    out = sample(counting_step, start_logits([1]), torch.zeros(1), max_new_tokens=8, eos_id=EOS,
                 config=SamplingConfig(temperature=1.0, top_k=3, top_p=0.9), generators=row_generators(0, 1))
    assert out.tolist() == [[1, 2, 3, 4, 5, 6, 7, 0]]


def test_max_new_tokens_cuts_a_row_that_never_ends() -> None:
    out = sample(counting_step, start_logits([0]), torch.zeros(1), max_new_tokens=3, eos_id=EOS, config=GREEDY)
    assert out.tolist() == [[0, 1, 2]]
    assert trim(out, EOS) == [[0, 1, 2]]


def test_finished_rows_are_dropped_with_select_and_the_result_is_the_same() -> None:
    fed: list[int] = []

    def step(token: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fed.append(token.size(0))
        return counting_step(token, state)

    first = start_logits([6, 2, 4])
    plain = sample(step, first, torch.zeros(3), max_new_tokens=7, eos_id=EOS, config=GREEDY)
    assert fed == [3] * 5  # rows keep being fed until the last one ends
    fed.clear()
    compact = sample(step, first, torch.zeros(3), max_new_tokens=7, eos_id=EOS, config=GREEDY,
                     select=lambda state, rows: state[rows])
    assert torch.equal(plain, compact)
    assert fed == [3, 2, 2, 1, 1]  # row 0 ends with its 2nd token, row 2 with its 4th, row 1 with its 6th


# --- filters and the draw ----------------------------------------------------------------------


def test_top_k_and_top_p_keep_exactly_the_expected_tokens() -> None:
    logits = torch.log(torch.tensor([[0.05, 0.5, 0.15, 0.3]]))
    kept = lambda cfg: torch.isfinite(filter_logits(logits, cfg))[0].nonzero().squeeze(1).tolist()  # noqa: E731
    assert kept(SamplingConfig(top_k=2)) == [1, 3]
    assert kept(SamplingConfig(top_p=0.7)) == [1, 3]  # 0.5 < 0.7, 0.5 + 0.3 reaches it
    assert kept(SamplingConfig(top_p=0.85)) == [1, 2, 3]
    assert kept(SamplingConfig(top_p=0.1)) == [1]  # the best token always stays
    assert kept(SamplingConfig(top_k=3, top_p=0.7)) == [1, 3]
    assert kept(SamplingConfig()) == [0, 1, 2, 3]
    mask = torch.tensor([[True, False, True, True]])
    assert torch.isfinite(filter_logits(logits, SamplingConfig(top_k=2), mask))[0].nonzero().squeeze(1).tolist() == [2, 3]


def test_temperature_scales_logits_and_zero_means_greedy() -> None:
    logits = torch.tensor([[1.0, 2.0, 4.0]])
    assert torch.allclose(filter_logits(logits, SamplingConfig(temperature=2.0)), logits / 2)
    assert choose(torch.tensor([[0.0, 3.0, 1.0]]), SamplingConfig(temperature=0.0)).tolist() == [1]
    with pytest.raises(ValueError, match="temperature"):
        SamplingConfig(temperature=-1.0)
    with pytest.raises(ValueError, match="top_p"):
        SamplingConfig(top_p=0.0)


def test_draws_follow_the_distribution_and_never_pick_a_filtered_token() -> None:
    probs = torch.tensor([0.1, 0.6, 0.0, 0.3])
    logits = torch.log(probs).expand(4000, 4)
    picks = choose(logits, SamplingConfig(), row_generators(7, 4000))
    freq = torch.bincount(picks, minlength=4).float() / 4000
    assert freq[2] == 0
    assert torch.allclose(freq, probs, atol=0.03)
    picks = choose(logits, SamplingConfig(top_k=2), row_generators(7, 4000))
    assert set(picks.tolist()) == {1, 3}


def test_seeds_make_sampling_reproducible_and_rows_independent() -> None:
    flat = torch.zeros(6, 50)

    def step(token: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(token.size(0), 50), state

    def run(gens: list[torch.Generator], rows: int) -> torch.Tensor:
        return sample(step, flat[:rows], None, max_new_tokens=10, eos_id=49, generators=gens)

    a = run(row_generators(3, 6), 6)
    assert torch.equal(a, run(row_generators(3, 6), 6))
    assert not torch.equal(a, run(row_generators(4, 6), 6))
    for r in range(6):  # a row alone draws what it drew in the batch
        alone = run([torch.Generator().manual_seed(row_seed(3, r, 0))], 1)
        assert torch.equal(alone[0], a[r])
    assert [g.initial_seed() for g in row_generators(5, 2, 3)] == [row_seed(5, i, j) for i in range(2) for j in range(3)]


# --- constraints -------------------------------------------------------------------------------


VOCAB = IMAGE_OFFSET + 1024


def noisy_step(prefer: slice) -> tuple[torch.Tensor, object]:
    """A logits function that strongly prefers the ids in `prefer` (and [SEP]), with random noise."""
    gen = torch.Generator().manual_seed(0)

    def logits(b: int) -> torch.Tensor:
        out = torch.randn(b, VOCAB, generator=gen)
        out[:, prefer] += 20.0
        out[:, SEP_ID] += 15.0
        return out

    return logits, lambda token, state: (logits(token.size(0)), state)


def test_image_constraint_gives_exactly_256_image_ids_then_sep() -> None:
    logits, step = noisy_step(slice(1000, 5000))  # text ids and [SEP] are what the logits want
    out = sample(step, logits(3), None, max_new_tokens=300, config=SamplingConfig(top_k=20),
                 generators=row_generators(1, 3), constraint=ImageConstraint())
    assert ((out[:, :256] >= IMAGE_OFFSET) & (out[:, :256] < VOCAB)).all()
    assert (out[:, 256] == SEP_ID).all()
    assert (out[:, 257:] == 0).all()


def test_text_constraint_never_emits_image_or_special_ids_and_ends_at_max_length() -> None:
    logits, step = noisy_step(slice(IMAGE_OFFSET, VOCAB))  # image ids are what the logits want
    out = sample(step, logits(2), None, max_new_tokens=40, config=SamplingConfig(),
                 generators=row_generators(2, 2), constraint=TextConstraint(max_length=12))
    for row in trim(out):
        assert len(row) <= 12
        assert all(999 <= t < IMAGE_OFFSET for t in row)
    assert all(SEP_ID in row for row in out.tolist())


def test_text_constraint_min_length_forbids_an_empty_text() -> None:
    wants_sep = torch.full((2, VOCAB), -10.0)
    wants_sep[:, SEP_ID] = 10.0  # the logits want to end at once, every step

    def step(token: torch.Tensor, state: None) -> tuple[torch.Tensor, None]:
        return wants_sep[: token.size(0)].clone(), state

    free = sample(step, wants_sep.clone(), None, max_new_tokens=5, config=GREEDY,
                  generators=row_generators(2, 2), constraint=TextConstraint(max_length=4))
    assert [row for row in trim(free)] == [[], []]
    forced = sample(step, wants_sep.clone(), None, max_new_tokens=5, config=GREEDY,
                    generators=row_generators(2, 2), constraint=TextConstraint(max_length=4, min_length=2))
    for row in trim(forced):
        assert len(row) == 2 and all(999 <= t < IMAGE_OFFSET for t in row)


def test_choice_constraint_keeps_each_row_to_its_choices() -> None:
    logits, step = noisy_step(slice(IMAGE_OFFSET, VOCAB))
    semicolon = 1025
    choices = [[[2200, semicolon], [2300, 2301, semicolon]], [[4000, 4001, semicolon]], [[5, semicolon], [6, semicolon]]]
    constraint = ChoiceConstraint(choices)
    for seed in range(5):
        out = sample(step, logits(3), None, max_new_tokens=6, config=SamplingConfig(),
                     generators=row_generators(seed, 3), constraint=constraint)
        for row, allowed in zip(trim(out), choices):
            assert row in allowed
    shared = ChoiceConstraint(shared=[[9, semicolon]])
    out = sample(step, logits(2), None, max_new_tokens=5, config=GREEDY, constraint=shared)
    assert out.tolist() == [[9, semicolon, SEP_ID, 0, 0]] * 2
    with pytest.raises(ValueError, match="prefix"):
        ChoiceConstraint(shared=[[1], [1, 2]])
    with pytest.raises(ValueError, match="either"):
        ChoiceConstraint()


# --- the KV cache: batched and cached == one by one and recomputed -----------------------------


def test_cached_batched_sampling_equals_uncached_one_by_one_sampling() -> None:
    """Prompts of different lengths (some opening segment 2), several samples each: same tokens either way."""
    import numpy as np

    from model.infer.decoding import cached_decoding, cached_image_decoding, recompute_decoding, run_prompts
    from model.infer.prompts import attributes_prompt, image_prompt
    from model.transformer import Talk2Face, Talk2FaceConfig

    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.tiny()).double().eval()
    codes = np.random.default_rng(0).integers(0, 1024, size=(2, 256))
    prompts = [
        image_prompt("a young woman with wavy blond hair and a warm smile."),
        attributes_prompt(codes[0], "cacd age:"),
        image_prompt("celeba smiling: true;"),
        attributes_prompt(codes[1], "celeba wearing necktie:"),
    ]
    assert len({len(p.ids) for p in prompts}) == 4
    n, config = 2, SamplingConfig(temperature=1.0, top_k=50, top_p=0.9)
    seeds = [row_seed(11, i, j) for i in range(len(prompts)) for j in range(n)]
    for constraint, steps, cached in (
        (ImageConstraint(length=12), 13, cached_image_decoding),  # the output layer only over codes and [SEP]
        (ImageConstraint(length=12), 13, cached_decoding),
        (TextConstraint(max_length=8), 9, cached_decoding),
    ):
        batched = run_prompts(model, prompts, max_new_tokens=steps, constraint=constraint, config=config,
                              seeds=seeds, n=n, decoding=cached)
        for r, seed in enumerate(seeds):
            alone = run_prompts(model, [prompts[r // n]], max_new_tokens=steps, constraint=constraint, config=config,
                                seeds=[seed], decoding=recompute_decoding)
            assert batched[r].tolist() == alone[0].tolist(), f"row {r}"
        assert not torch.equal(batched[0], batched[1])  # the two samples of a prompt differ
