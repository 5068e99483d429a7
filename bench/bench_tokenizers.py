"""Speed of the tokenizers: VQGAN encode images/s against taming's straightforward use, and text texts/s.

Image part. Every setting runs in its own fresh Python process (one after the other, in this
run), so no setting inherits another's allocator state, compiled code or warm caches:

* reference: taming's modules composed as `VQModel.encode` does (encoder -> quant_conv ->
  VectorQuantizer2), one image at a time, fp32, default memory format, under `torch.no_grad`;
* reference + the allocator setting the tokenizer applies (`tune_host_allocator`), to show
  how much of the gain is that one line;
* `ImageTokenizer` at batch 1 / 8 / 32, exact path (fp32, NCHW; the CPU default), then
  channels-last and `torch.compile` variants (compile warm-up reported separately).

All use the `ffhq-random` preset: the real FFHQ f=16 architecture with seeded random weights
(speed does not depend on the weights). Inputs are smooth synthetic 256x256 images. The codes of
every setting are compared with the reference's on the images both encoded; for the exact path
they must be identical (the bench stops otherwise), for the others the agreement is printed.
The machine's limit is the network's FLOPs per image (counted from the modules) divided by the
fp32 matmul rate `torch.mm` reaches here.

Kinds (`--kinds`): the FFHQ f=16 VQGAN (`ffhq-random`) beside the OpenImages f=8 Gumbel VQGAN
of the paper's Table 5 ablation (`openimages-f8-random`: 8,192 codes, 1,024 per face), both at real
size with random weights, in the same run: each against its own taming reference (for the Gumbel
one: encoder -> quant_conv -> argmax of `GumbelQuantize.proj`), then the tokenizer's exact path.

Text part: BERT WordPiece over synthetic attribute texts and captions, one call per text against
one `encode_batch` call, in this process.

    .venv/bin/python bench/bench_tokenizers.py             # ~5 minutes on 2 idle cores
    .venv/bin/python bench/bench_tokenizers.py --compile   # + torch.compile rows (minutes of warm-up)
    .venv/bin/python bench/bench_tokenizers.py --quick     # smoke run, under a minute
    .venv/bin/python bench/bench_tokenizers.py --kinds --skip-text   # f=16 VQGAN beside f=8 Gumbel, ~3 minutes
    .venv/bin/python bench/bench_tokenizers.py --device cuda --compile   # bf16 + channels-last rows

Wall-clock seconds; on a shared machine, run it twice and compare. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.tokenizers import vqgan as it  # noqa: E402
from model.tokenizers import vqgan_nets  # noqa: E402
from model.tokenizers.text import TextTokenizer  # noqa: E402


def faces(n: int, seed: int = 0) -> np.ndarray:
    """n smooth random 256x256 RGB images (8x8 colour fields upsampled, plus noise); image i depends on (seed, i) only."""
    out = np.empty((n, 256, 256, 3), np.uint8)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        smooth = np.repeat(np.repeat(rng.uniform(0, 255, (8, 8, 3)), 32, axis=0), 32, axis=1)
        out[i] = np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255)
    return out


# ---------------------------------------------------------------- FLOPs and the machine's limit


def encode_gflop(config: it.VQGANConfig) -> float:
    """GFLOP of one image's encode (convolutions, attention matmuls, codebook distances), counted on 'meta'."""
    flops = [0.0]

    def conv_hook(module: torch.nn.Conv2d, inputs: Any, output: torch.Tensor) -> None:
        _, c_out, h, w = output.shape
        k = module.kernel_size[0] * module.kernel_size[1]
        flops[0] += 2.0 * c_out * h * w * module.in_channels // module.groups * k

    def attn_hook(module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> None:
        _, c, h, w = output.shape
        flops[0] += 2 * (2.0 * (h * w) ** 2 * c)  # q.k and weights.v

    Encoder, _, _, _ = vqgan_nets._taming()
    from taming.modules.diffusionmodules.model import AttnBlock

    with torch.device("meta"):
        encoder, quant_conv = Encoder(**config.ddconfig), torch.nn.Conv2d(config.ddconfig["z_channels"], config.embed_dim, 1)
        for module in [*encoder.modules(), quant_conv]:
            if isinstance(module, torch.nn.Conv2d):
                module.register_forward_hook(conv_hook)
            elif isinstance(module, AttnBlock):
                module.register_forward_hook(attn_hook)
        quant_conv(encoder(torch.empty(1, 3, config.resolution, config.resolution)))
    # codebook distances (VQGAN), or GumbelQuantize.proj's logits (Gumbel: z_channels == embed_dim)
    flops[0] += 2.0 * config.num_tokens * config.n_embed * config.embed_dim
    return flops[0] / 1e9


def matmul_gflops(device: torch.device, n: int = 4096, repeats: int = 3) -> tuple[float, float]:
    """Best fp32 torch.mm rates on an n x n product: (GFLOP per wall second, GFLOP per CPU second)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    torch.mm(a, b)
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        wall, cpu = time.perf_counter(), time.process_time()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return 2 * n**3 / best_wall / 1e9, 2 * n**3 / best_cpu / 1e9


# ---------------------------------------------------------------- one setting, in a fresh process


def run_setting(spec: dict[str, Any]) -> dict[str, Any]:
    """Encode `iters` batches of `batch` images after one warm-up batch; return times and codes' path."""
    device = torch.device(spec["device"])
    batch, iters = spec["batch"], spec["iters"]
    images = faces(batch * iters, seed=1)
    warm = faces(spec.get("warm", 1), seed=2)
    start_build = time.perf_counter()
    if spec["kind"] == "reference":
        if spec.get("tune_allocator"):
            it.tune_host_allocator()
        model = it.preset_model(spec["preset"]).to(device).eval()
        encoder, quant_conv, quantize = model.encoder, model.quant_conv, model.quantize
        gumbel = model.config.kind == "gumbel-vqgan"

        def encode(x_uint8: np.ndarray) -> np.ndarray:
            rows = []
            with torch.no_grad():
                for image in x_uint8:  # one image at a time, as taming's scripts do
                    x = torch.from_numpy((image[None] / 127.5 - 1.0).astype(np.float32)).permute(0, 3, 1, 2)
                    x = x.contiguous().to(device)
                    h = quant_conv(encoder(x))
                    if gumbel:  # the mode of GumbelQuantize (its forward samples)
                        indices = quantize.proj(h).argmax(dim=1)
                    else:
                        _, _, (_, _, indices) = quantize(h)
                    rows.append(indices.reshape(-1).cpu().numpy())
            return np.stack(rows).astype(np.uint16)
    else:
        options = {k: spec[k] for k in ("channels_last", "bf16", "compile") if k in spec}
        tok = it.ImageTokenizer(it.preset_model(spec["preset"]), device=device,
                                batch_size=batch, **options)

        def encode(x_uint8: np.ndarray) -> np.ndarray:
            return tok.encode(x_uint8, batch_size=batch)
    build_s = time.perf_counter() - start_build

    start = time.perf_counter()
    encode(warm)
    warm_s = time.perf_counter() - start
    times, cpu_times, codes = [], [], []
    for i in range(iters):
        start, cpu = time.perf_counter(), time.process_time()
        codes.append(encode(images[i * batch:(i + 1) * batch]))
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    np.save(spec["codes_out"], np.concatenate(codes))
    return {"times": times, "cpu_times": cpu_times, "images": batch * iters, "warm_s": warm_s,
            "build_s": build_s, "threads": torch.get_num_threads()}


def spawn(spec: dict[str, Any], threads: int | None) -> dict[str, Any]:
    """run_setting(spec) in a fresh interpreter."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True,
                          text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"setting {spec['name']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the image table


def image_settings(device: str, quick: bool, compile_: bool) -> list[dict[str, Any]]:
    cuda = device == "cuda"
    ref_iters = 1 if quick else 3
    rows: list[dict[str, Any]] = [
        {"name": "reference: taming modules, batch 1, fp32, NCHW, no_grad", "kind": "reference", "batch": 1,
         "iters": ref_iters, "exact": not cuda},
    ]
    if not cuda and not quick:
        rows.append({"name": "reference + tune_host_allocator", "kind": "reference", "batch": 1,
                     "iters": ref_iters, "tune_allocator": True, "exact": True})
    if quick:
        rows.append({"name": "ImageTokenizer batch 2 (defaults)", "kind": "tok", "batch": 2, "iters": 1,
                     "exact": not cuda})
        return rows
    exact = {"channels_last": False, "bf16": False}
    for batch, iters in ((1, 3), (8, 2), (32, 1)):
        # bit-exact on CPU; on CUDA cuDNN picks algorithms (and TF32) per shape, so only compared
        rows.append({"name": f"ImageTokenizer batch {batch}, fp32 NCHW" + ("" if cuda else " (exact)"),
                     "kind": "tok", "batch": batch, "iters": iters, "exact": not cuda, **exact})
    rows.append({"name": "ImageTokenizer batch 8, channels-last", "kind": "tok", "batch": 8, "iters": 2,
                 "channels_last": True, "bf16": False, "exact": False})
    if cuda:
        for batch, iters in ((1, 3), (8, 3), (32, 3)):
            rows.append({"name": f"ImageTokenizer batch {batch}, bf16 + channels-last (CUDA default)", "kind": "tok",
                         "batch": batch, "iters": iters, "exact": False})
    if compile_:  # the warm-up (same batch shape) includes inductor's compile: minutes on 2 cores
        batch = 32 if cuda else 4
        rows.append({"name": f"ImageTokenizer batch {batch}, torch.compile, fp32 NCHW", "kind": "tok",
                     "batch": batch, "iters": 2, "compile": True, "warm": batch, "exact": False, **exact})
        if cuda:
            rows.append({"name": f"ImageTokenizer batch {batch}, torch.compile, bf16 + channels-last", "kind": "tok",
                         "batch": batch, "iters": 3, "compile": True, "warm": batch, "exact": False})
    return rows


def bench_kinds(args: argparse.Namespace) -> str:
    """The f=16 VQGAN and the f=8 Gumbel VQGAN, each against its own reference, in one run."""
    device = torch.device(args.device)
    batch = 2 if args.quick else 4
    out = [f"Kinds: real architectures with random weights; each row a fresh process; threads "
           f"{torch.get_num_threads()}; warm-up not timed. Tokenizer rows: batch {batch}, fp32 NCHW (the CPU default).",
           "", "| tokenizer | codes per face | GFLOP / face | setting | images | images/s | CPU-s / image "
           "| vs ref (CPU) | codes = reference |", "|---|---|---:|---|---:|---:|---:|---:|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for preset in ("ffhq-random", "openimages-f8-random"):
            config = it.PRESETS[preset][0]
            shape = f"{config.num_tokens} of {config.n_embed:,} ({config.grid}x{config.grid}, f={config.downsample})"
            rows: list[tuple[str, dict[str, Any]]] = [
                ("reference: taming modules, batch 1", {"kind": "reference", "batch": 1, "iters": batch}),
                (f"ImageTokenizer batch {batch}", {"kind": "tok", "batch": batch, "iters": 1,
                                                   "channels_last": False, "bf16": False})]
            reference_codes, reference_cpu = None, 1.0
            for name, spec in rows:
                spec = {**spec, "name": f"{preset}: {name}", "device": device.type, "preset": preset,
                        "codes_out": f"{tmp}/{preset}-{spec['kind']}.npy"}
                result = spawn(spec, args.threads)
                rate = result["images"] / sum(result["times"])
                cpu = sum(result["cpu_times"]) / result["images"]
                codes = np.load(spec["codes_out"])
                if reference_codes is None:
                    reference_codes, reference_cpu, same = codes, cpu, "(is the reference)"
                else:
                    n = min(len(codes), len(reference_codes))
                    identical = bool((codes[:n] == reference_codes[:n]).all())
                    if not identical and device.type == "cpu":
                        raise SystemExit(f"{spec['name']}: codes differ from the reference; the exact path must match")
                    same = f"identical ({n} images)" if identical else \
                        f"{float((codes[:n] == reference_codes[:n]).mean()):.4%} of {codes[:n].size} codes"
                out.append(f"| `{preset}` | {shape} | {encode_gflop(config):.1f} | {name} | {result['images']} | "
                           f"{rate:.3f} | {cpu:.2f} | {reference_cpu / cpu:.2f}x | {same} |")
                print(out[-1], file=sys.stderr, flush=True)
    return "\n".join(out)


def bench_images(args: argparse.Namespace) -> str:
    device = torch.device(args.device)
    config = it.PRESETS[args.preset][0]
    gflop = encode_gflop(config)
    mm_wall, mm_cpu = matmul_gflops(device)
    limit = mm_wall / gflop  # images per wall second
    limit_cpu_s = gflop / mm_cpu  # CPU seconds per image
    out = [f"Encode, `{args.preset}` (FFHQ f=16 architecture): {gflop:.1f} GFLOP per 256x256 image. fp32 "
           f"torch.mm here: {mm_wall:.0f} GFLOP/s wall, {mm_cpu:.0f} GFLOP per CPU-second, so at most "
           f"{limit:.2f} images/s and at least {limit_cpu_s:.2f} CPU-s per image. Threads: {torch.get_num_threads()}"
           f" ({'set by --threads' if args.threads else 'torch default'}). Warm-up not timed; each row a fresh "
           "process. CPU-s (user+sys of the process, all threads) is less disturbed by other load than wall time"
           + (" (on CUDA it is host time only: read the wall columns)." if device.type == "cuda" else "."),
           "",
           "| setting | images | images/s | vs ref (wall) | CPU-s / image | vs ref (CPU) | % of limit (CPU) "
           "| codes = reference | warm-up s |",
           "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        reference_codes, reference_rate, reference_cpu = None, None, None
        for i, spec in enumerate(image_settings(device.type, args.quick, args.compile)):
            spec = {**spec, "device": device.type, "preset": args.preset, "codes_out": f"{tmp}/{i}.npy"}
            result = spawn(spec, args.threads)
            rate = result["images"] / sum(result["times"])
            cpu = sum(result["cpu_times"]) / result["images"]
            codes = np.load(spec["codes_out"])
            if reference_codes is None:
                reference_codes, reference_rate, reference_cpu, same = codes, rate, cpu, "(is the reference)"
            else:
                n = min(len(codes), len(reference_codes))
                agree = float((codes[:n] == reference_codes[:n]).mean())
                if spec["exact"] and agree != 1.0:
                    raise SystemExit(f"{spec['name']}: codes differ from the reference on {1 - agree:.3%} of "
                                     f"{n} images' codes; the exact path must give identical codes")
                same = f"identical ({n} image{'s' if n > 1 else ''})" if agree == 1.0 else f"{agree:.4%} of {n * codes.shape[1]} codes"
            out.append(f"| {spec['name']} | {result['images']} | {rate:.3f} | {rate / reference_rate:.2f}x | "
                       f"{cpu:.2f} | {reference_cpu / cpu:.2f}x | {limit_cpu_s / cpu:.0%} | {same} | "
                       f"{result['warm_s']:.1f} |")
            print(out[-1], file=sys.stderr, flush=True)
    return "\n".join(out)


# ---------------------------------------------------------------- text


def texts(n: int, seed: int = 0) -> list[str]:
    """Attribute texts and captions in the corpus's protocol, n in all."""
    rng = np.random.default_rng(seed)
    words = ["smiling", "young", "male", "eyeglasses", "wavy hair", "bangs", "heavy makeup", "no beard"]
    colours = ["black", "blond", "brown", "gray", "rosy brown", "dark slate gray"]
    out = []
    for i in range(n):
        if i % 2:
            pairs = "; ".join(f"{w}: {'true' if rng.random() < 0.5 else 'false'}" for w in rng.permutation(words)[:6])
            out.append(f"celeba {pairs}; age: {rng.integers(1, 90)};")
        else:
            out.append(f"The woman has {rng.choice(colours)} hair, high cheekbones and a slightly open mouth. "
                       f"She is {'smiling' if i % 4 else 'not smiling'} and wears {rng.choice(['no', 'heavy'])} makeup.")
    return out


def bench_text(args: argparse.Namespace) -> str:
    tok = TextTokenizer()
    corpus = texts(2_000 if args.quick else 20_000)

    def best_of_3(fn: Any) -> tuple[Any, float, float]:  # result, wall s, CPU s of the fastest run
        runs = []
        for _ in range(3):
            start, cpu = time.perf_counter(), time.process_time()
            result = fn()
            runs.append((time.perf_counter() - start, time.process_time() - cpu))
        wall, cpu_s = min(runs)
        return result, wall, cpu_s

    tok.encode_batch(corpus[:100])  # start the thread pool
    one_by_one, single, single_cpu = best_of_3(lambda: [tok.encode(t) for t in corpus])
    batched, batch, batch_cpu = best_of_3(lambda: tok.encode_batch(corpus))
    assert batched == one_by_one, "encode_batch differs from encode"
    tokens = sum(map(len, batched))
    n = len(corpus)
    return "\n".join([
        f"Text: BERT WordPiece over {n:,} synthetic texts ({tokens / n:.1f} tokens each); "
        f"`encode_batch` runs on the tokenizers library's thread pool (RAYON_NUM_THREADS, default: all cores). "
        "Best of 3 runs each.", "",
        "| method | texts/s (wall) | vs one by one | texts per CPU-s |", "|---|---:|---:|---:|",
        f"| `encode`, one call per text | {n / single:,.0f} | 1.00x | {n / single_cpu:,.0f} |",
        f"| `encode_batch`, one call | {n / batch:,.0f} | {single / batch:.2f}x | {n / batch_cpu:,.0f} |",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    parser.add_argument("--preset", default="ffhq-random", choices=sorted(it.PRESETS))
    parser.add_argument("--quick", action="store_true",
                        help="smoke run (under a minute): reference and tokenizer on 1-2 images, 2,000 texts")
    parser.add_argument("--compile", action="store_true",
                        help="add torch.compile rows (inductor's compile takes minutes on 2 cores)")
    parser.add_argument("--threads", type=int, help="intra-op threads (default: torch's choice)")
    parser.add_argument("--kinds", action="store_true",
                        help="image table: ffhq-random (f=16 VQGAN) beside openimages-f8-random (f=8 Gumbel VQGAN)")
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument("--skip-text", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_setting(json.loads(args.worker))))
        return
    if args.quick:
        args.compile = False
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.skip_text:
        print(bench_text(args))
        print()
    if not args.skip_images:
        print(bench_kinds(args) if args.kinds else bench_images(args))


if __name__ == "__main__":
    main()
