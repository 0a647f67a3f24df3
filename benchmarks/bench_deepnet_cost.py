"""Per-step cost of GR (double backprop), F-GR, B-GR and SAM relative to plain SGD on networks.

Theory (Karakida et al. arXiv:2210.02720, docs/conventions.md §4): F-GR, B-GR and SAM cost two gradient
evaluations, so ≈ 2× SGD; GR by double backpropagation (DB) costs a gradient plus a
Hessian-vector product through the backward pass, ≈ 1.5× F-GR (≈ 9L vs 6L matrix products for
an L-layer net).

Each method's whole step (the library's `method.step` on a `NetObjective` holding one
CIFAR-shaped batch of synthetic inputs, float32) is compiled once, then the methods are timed
*side by side*: every repetition times each method once in turn, so load from other processes
on a shared machine hits all of them alike. Reported: the median and the best seconds per step,
and the ratio of medians to SGD.

    python benchmarks/bench_deepnet_cost.py [--batch 128] [--resnet-width 0.125] [--repeats 15]

Writes ``results/deepnet/cost_<backend>.md``.
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dln_theory as dt  # noqa: E402
from dln_theory.deepnet import make_network, num_params  # noqa: E402
from dln_theory.deepnet.objective import NetObjective  # noqa: E402


def methods():
    return {
        "SGD": dt.GD(eta=0.1),
        "GR (DB)": dt.GR(eta=0.1, gamma=0.01),
        "F-GR": dt.FGR(eta=0.1, gamma=0.01, eps=0.05),
        "B-GR": dt.BGR(eta=0.1, gamma=0.01, eps=0.05),
        "SAM": dt.SAM(eta=0.1, rho=0.05),
    }


def compiled_steps(network, batch, seed=0):
    """{name: (compiled step, args)} on one batch; returns also the compile seconds."""
    kx, ky = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(kx, (batch, 32, 32, 3), jnp.float32)
    y = jax.random.randint(ky, (batch,), 0, 10)
    objective, params = NetObjective.create(network, x, y)
    out = {}
    for name, method in methods().items():
        method = jax.tree.map(lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a, method)
        state = method.init(params, objective)
        args = (params, state, objective, jax.random.key(1))
        t0 = time.perf_counter()
        fn = eqx.filter_jit(method.step).lower(*args).compile()
        out[name] = (fn, args, time.perf_counter() - t0)
    return out


def time_side_by_side(steps, repeats):
    """{name: [seconds per call]}, the methods interleaved in every repetition."""
    for fn, args, _ in steps.values():  # warm-up
        jax.block_until_ready(fn(*args))
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, (fn, args, _) in steps.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - t0)
    return times


def table(rows):
    lines = ["| network | batch | parameters | method | median ms/step | best ms/step | × SGD (median) "
             "| theory × SGD | compile s |", "|---|---|---|---|---|---|---|---|---|"]
    theory = {"SGD": "1", "GR (DB)": "≈ 3", "F-GR": "≈ 2", "B-GR": "≈ 2", "SAM": "≈ 2"}
    for net, batch, n_params, times, compile_s in rows:
        base = statistics.median(times["SGD"])
        for name, ts in times.items():
            med = statistics.median(ts)
            lines.append(f"| {net} | {batch} | {n_params:,} | {name} | {1e3 * med:.2f} | "
                         f"{1e3 * min(ts):.2f} | {med / base:.2f} | {theory[name]} | {compile_s[name]:.1f} |")
        fgr = statistics.median(times["F-GR"])
        lines.append(f"| {net} | | | DB / F-GR | | | {statistics.median(times['GR (DB)']) / fgr:.2f} "
                     f"| ≈ 1.5 | |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--mlp-width", type=int, default=512)
    parser.add_argument("--resnet-width", type=float, default=None,
                        help="ResNet-18 width factor (default: 1 on GPU, 0.125 on CPU)")
    parser.add_argument("--resnet-batch", type=int, default=None, help="default: --batch (64 on CPU)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default="results/deepnet")
    args = parser.parse_args(argv)
    backend = jax.default_backend()
    width = args.resnet_width or (1.0 if backend == "gpu" else 0.125)
    rbatch = args.resnet_batch or (args.batch if backend == "gpu" else 64)
    nets = [
        (f"MLP-{args.mlp_width} (2 hidden)", args.batch,
         make_network("mlp", (32, 32, 3), 10, jax.random.key(0), width=args.mlp_width, depth=2)),
        (f"ResNet-18 ×{width:g} width", rbatch,
         make_network("resnet18", (32, 32, 3), 10, jax.random.key(0), width=width)),
    ]
    rows = []
    for label, batch, net in nets:
        steps = compiled_steps(net, batch)
        times = time_side_by_side(steps, args.repeats)
        rows.append((label, batch, num_params(net), times, {k: v[2] for k, v in steps.items()}))
        print(f"{label}: done", file=sys.stderr)
    text = table(rows)
    device = jax.devices()[0]
    header = (f"# Per-step cost relative to SGD ({backend})\n\nDevice: {device.device_kind} "
              f"({platform.processor() or platform.machine()}), JAX {jax.__version__}, float32, "
              f"CIFAR-shaped synthetic batches (32×32×3, 10 classes), {args.repeats} interleaved "
              f"repetitions per method. Command: `python benchmarks/bench_deepnet_cost.py "
              f"{' '.join(sys.argv[1:] if argv is None else argv)}`.\n\n")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"cost_{backend}.md"
    path.write_text(header + text + "\n")
    print(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
