"""``dln-theory deepnet train …`` and ``dln-theory deepnet compare …``.

`add_subcommands` adds the ``deepnet`` command to the main parser's subparsers. Each subcommand
sets ``run`` (a function of the parsed arguments returning an exit code); inputs are checked
before any compilation and reported as ValueError.

Examples::

    dln-theory deepnet train --model lenet --data mnist5k --n-train 2000 --method datagrad \\
        --lam 0.01 --eta 0.05 --batch-size 64 --epochs 10 --seed 0
    dln-theory deepnet compare --model mlp --width 64 --depth 2 --data digits \\
        --methods sgd,gr,fgr,bgr --gamma 0.01 --eps 0.01,0.1,0.5 --seeds 3 --epochs 20 \\
        --name karakida_digits
"""

import argparse
import json
from pathlib import Path

from . import compare as _compare

_FLOAT_OPTIONS = {
    "eta": "step size η", "gamma": "GR strength γ (gr, fgr, bgr)",
    "eps": "finite-difference step ε (fgr, bgr)", "rho": "SAM radius ρ (sam, usam)",
    "b": "flood level b (flooding)", "lam": "regularizer λ (datagrad, spectreg, wd)",
    "momentum": "heavy-ball momentum μ", "weight_decay": "weight decay added to every method",
    "beta1": "first-moment decay β₁ (adam)", "beta2": "second-moment decay β₂ (rmsprop, adam)",
    "adam_eps": "ε added to the root (rmsprop, adam)",
}


def add_subcommands(subparsers) -> argparse.ArgumentParser:
    """Add ``deepnet`` with its ``train`` and ``compare`` subcommands; return its parser."""
    deepnet = subparsers.add_parser("deepnet", help="train classification networks with the methods")
    sub = deepnet.add_subparsers(dest="deepnet_command", required=True)

    p = sub.add_parser("train", help="train one network with one method")
    _common(p)
    p.add_argument("--method", default="sgd", help=f"one of {', '.join(_compare.METHODS)}")
    for name, text in _FLOAT_OPTIONS.items():
        p.add_argument(_flag(name), type=float, default=_compare.DEFAULTS[name], help=text)
    p.add_argument("--seed", type=int, default=0, help="initialization and minibatch seed")
    p.add_argument("--measure", action="store_true", help="also sharpness and noise sensitivity")
    p.add_argument("--json", metavar="FILE", help="write the curves and the summary as JSON")
    p.set_defaults(run=_train)

    p = sub.add_parser("compare", help="mean ± std tables over seeds for several methods")
    _common(p)
    p.add_argument("--methods", default="sgd,gr,fgr,bgr",
                   help=f"comma-separated, from {', '.join(_compare.METHODS)}")
    for name, text in _FLOAT_OPTIONS.items():
        p.add_argument(_flag(name), type=_float_list, default=None,
                       help=f"{text}; a comma-separated list makes a grid "
                            f"(default {_compare.DEFAULTS[name]:g})")
    p.add_argument("--set", action="append", default=[], metavar="METHOD.PARAM=V[,V]",
                   help="per-method value(s), e.g. --set wd.lam=5e-4 (repeatable)")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds 0 … N−1")
    p.add_argument("--measure", action="store_true",
                   help="also sharpness λ_max(H) and noise sensitivity at the end")
    p.add_argument("--measure-n", type=int, default=1000, help="training examples for the measures")
    p.add_argument("--sharpness-iters", type=int, default=50, help="power iterations")
    p.add_argument("--noise-sigma", type=float, default=0.01, help="σ of the weight noise")
    p.add_argument("--time", type=float, default=None,
                   help="train every row to the same time t = k·η = TIME (ignores --epochs)")
    p.add_argument("--name", default="compare", help="file stem of the tables")
    p.add_argument("--out", default=str(_compare.RESULTS_DIR), help="folder of the tables")
    p.set_defaults(run=_run_compare)
    return deepnet


def _common(p):
    p.add_argument("--model", default="mlp", help="mlp, lenet, resnet18 or wrn")
    p.add_argument("--width", type=float, default=None,
                   help="mlp: hidden units; resnet18: width factor (default: the network's own, "
                        "dln_theory.deepnet.make_network)")
    p.add_argument("--depth", type=int, default=None,
                   help="mlp: hidden layers; wrn: depth 6n+4 (default: the network's own)")
    p.add_argument("--k", type=int, default=None, help="wrn: widening factor (default: the network's own)")
    p.add_argument("--data", default="digits",
                   help="digits, mnist5k (offline), or mnist, fashion_mnist, cifar10, cifar100 "
                        "with --data-root")
    p.add_argument("--data-root", default=None, help="folder with the original dataset files")
    p.add_argument("--n-train", type=int, default=None, help="training examples (default: all)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the training subset")
    p.add_argument("--batch-size", type=int, default=64, help="examples per step; 0: full batch")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--eval-every", type=int, default=None,
                   help="epochs between evaluations (default: one evaluation, after the last epoch)")
    p.add_argument("--schedule", default="constant", help="constant, cosine or step (÷5 at 30/60/80%%)")
    p.add_argument("--augment", action="store_true", help="random crop (pad 4) and flip")
    p.add_argument("--cache-dir", default=None, help="cache folder (default: $DLN_THEORY_CACHE, else ~/.cache/dln-theory)")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--no-progress", action="store_true")


def _flag(name):
    return "--" + name.replace("_", "-")


def _float_list(text):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def _network_kw(args):
    kw = {}
    if args.width is not None:
        kw["width"] = int(args.width) if args.model == "mlp" else args.width
    if args.depth is not None:
        kw["depth"] = args.depth
    if args.k is not None:
        kw["k"] = args.k
    allowed = {"mlp": {"width", "depth"}, "lenet": set(), "resnet18": {"width"}, "wrn": {"depth", "k"}}
    for name in kw:
        if args.model in allowed and name not in allowed[args.model]:
            raise ValueError(f"--{name}={kw[name]} is not allowed for --model {args.model}: it takes "
                             f"{sorted(allowed[args.model]) or 'no size options'}")
    return kw


def _batch(args):
    return None if args.batch_size == 0 else args.batch_size


def _eval_every(args):
    return args.epochs if args.eval_every is None else args.eval_every


def _overrides(items):
    out = {}
    for item in items:
        target, _, value = item.partition("=")
        method, _, param = target.partition(".")
        if not value or not param:
            raise ValueError(f"--set {item!r} is not allowed: write METHOD.PARAM=VALUE[,VALUE]")
        try:
            out.setdefault(method, {})[param] = [float(v) for v in value.split(",")]
        except ValueError:
            raise ValueError(f"--set {item!r} is not allowed: {value!r} is not a list of numbers") from None
    return out


def _train(args) -> int:
    import jax

    from .networks import make_network
    from .train import train

    _compare.check_compare_inputs(args.model, args.data, [args.method], [args.seed], _batch(args),
                                  args.n_train, args.data_root)
    kw = _network_kw(args)
    values = {k: getattr(args, k) for k in _compare.COMMON_PARAMS + _compare.METHOD_PARAMS[args.method]}
    dataset = _compare.load_checked(args.data, args.data_root, args.n_train, args.data_seed)
    n, batch = len(dataset.y_train), _batch(args)
    if batch is not None and batch > n:
        raise ValueError(f"batch_size={batch} is not allowed: it must be <= the number of training "
                         f"examples n_train={n}")
    spe = 1 if batch is None or args.method == "gd" else n // batch
    method = _compare.make_method(args.method, batch_size=batch,
                                  schedule=_compare.make_schedule(args.schedule, args.epochs, spe), **values)
    network = make_network(args.model, dataset.input_shape, dataset.num_classes,
                           jax.random.key(args.seed), **kw)
    result = train(method, network, dataset, args.epochs, jax.random.fold_in(jax.random.key(args.seed), 1),
                   _eval_every(args), augment=args.augment, cache=not args.no_cache,
                   cache_dir=args.cache_dir, progress=False if args.no_progress else None)
    summary = result.summary()
    if args.measure:
        summary.update(_compare.final_measures(result, dataset, _compare.MeasureSettings(), args.seed))
    print(dataset.describe())
    print(f"{method!r} on {args.model} {kw}, device {result.device}")
    print("| epoch | train loss | train acc | test loss | test acc | ‖∇L‖² |\n|---|---|---|---|---|---|")
    for i in range(len(result.epoch)):
        print(f"| {result.epoch[i]} | {result.train_loss[i]:.4f} | {result.train_acc[i]:.4f} | "
              f"{result.test_loss[i]:.4f} | {result.test_acc[i]:.4f} | {result.grad_norm2[i]:.3g} |")
    print(json.dumps(summary, indent=1))
    if args.json:
        curves = {k: getattr(result, k).tolist() for k in
                  ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "grad_norm2")}
        Path(args.json).write_text(json.dumps({"settings": result.settings, "summary": summary,
                                               "curves": curves}, indent=2))
    return 0


def _run_compare(args) -> int:
    _validate_count("seeds", args.seeds)
    values = {k: getattr(args, k) for k in _FLOAT_OPTIONS if getattr(args, k) is not None}
    measure = None
    if args.measure:
        _validate_count("measure_n", args.measure_n)
        _validate_count("sharpness_iters", args.sharpness_iters)
        measure = _compare.MeasureSettings(iters=args.sharpness_iters, sigma=args.noise_sigma,
                                           n=args.measure_n)
    kw = _network_kw(args)
    result = _compare.compare(
        [m for m in args.methods.split(",") if m], model=args.model, data=args.data,
        epochs=args.epochs, seeds=list(range(args.seeds)), values=values,
        overrides=_overrides(args.set), batch_size=_batch(args), schedule=args.schedule,
        network_kw=kw, n_train=args.n_train, data_root=args.data_root, data_seed=args.data_seed,
        eval_every=args.eval_every, augment=args.augment, time=args.time, measure=measure,
        cache=not args.no_cache, cache_dir=args.cache_dir,
        progress=False if args.no_progress else None)
    md, js = result.write(args.name, args.out)
    print(result.to_markdown())
    print(f"wrote {md} and {js}")
    return 0


def _validate_count(name, value):
    if value < 1:
        raise ValueError(f"--{name.replace('_', '-')}={value} is not allowed: it must be >= 1")


def main(argv=None) -> int:
    """``python -m dln_theory.deepnet.cli train|compare …``, the same as ``dln-theory deepnet …``."""
    import sys

    parser = argparse.ArgumentParser(prog="dln-theory")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["deepnet", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.run(args)
    except ValueError as err:
        print(f"dln-theory deepnet {args.deepnet_command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
