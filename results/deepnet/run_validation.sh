#!/usr/bin/env bash
# The three validation runs of docs/deepnet.md (CPU). `dln-theory deepnet ...` is the same as
# `python -m dln_theory.deepnet.cli ...`. Results are cached in $DLN_THEORY_CACHE (./.dln_cache).
set -euo pipefail
DN="${DN:-python -m dln_theory.deepnet.cli}"
OUT=results/deepnet

# (c) Barrett & Dherin: full-batch GD at several step sizes.
$DN compare --model mlp --width 128 --depth 2 --data mnist5k --n-train 1000 --methods gd \
  --batch-size 0 --eta 0.02,0.05,0.1,0.2,0.4 --epochs 2000 --eval-every 500 --seeds 3 \
  --measure --measure-n 1000 --sharpness-iters 100 --name barrett_dherin_gd_lr --out $OUT --no-progress

# (b) Karakida: SGD vs GR vs F-GR vs B-GR over eps at fixed gamma.
$DN compare --model mlp --width 256 --depth 2 --data mnist5k --n-train 4000 \
  --methods sgd,gr,fgr,bgr --eta 0.02 --momentum 0.9 --schedule cosine --gamma 0.05 \
  --eps 0.01,0.05,0.2,0.5 --batch-size 64 --epochs 15 --seeds 3 \
  --measure --name karakida_gr_eps --out $OUT --no-progress

# (a) Varga: LeNet on 2,000 MNIST examples, SGD vs DataGrad vs SpectReg vs weight decay.
$DN compare --model lenet --data mnist5k --n-train 2000 --methods sgd,datagrad,spectreg,wd \
  --eta 0.02 --momentum 0.9 --schedule cosine --batch-size 50 --epochs 10 --seeds 3 \
  --set datagrad.lam=0.01,0.1 --set spectreg.lam=0.01,0.1 --set wd.lam=5e-4,5e-3 \
  --name varga_lenet_mnist2k --out $OUT --no-progress

# (c') Barrett & Dherin at equal gradient-flow time t = k·eta = 40.
$DN compare --model mlp --width 128 --depth 2 --data mnist5k --n-train 1000 --methods gd \
  --batch-size 0 --eta 0.02,0.05,0.1,0.2,0.4 --time 40 --seeds 3 \
  --measure --measure-n 1000 --sharpness-iters 100 --name barrett_dherin_gd_equal_time --out $OUT --no-progress

# Cost table (writes results/deepnet/cost_cpu.md).
python benchmarks/bench_deepnet_cost.py --repeats 15
