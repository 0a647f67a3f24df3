"""Jobs that ``test_faults.py`` runs in other processes.

``python tests/fault_jobs.py sweep|train CACHE_DIR MODE N`` runs a tiny sweep (six chunks) or a tiny
deep-net training (four blocks) and kills itself with SIGKILL at the N-th write (`kill_at`);
`concurrent_writer` is a multiprocessing worker that shares one cache folder with others.
"""

import os
import signal
import sys
import warnings
from pathlib import Path

import numpy as np

ALPHAS = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]  # one chunk each
STRESS_CHUNKS, STRESS_ROUNDS = 4, 6


def run_sweep(cache_dir, cache=True):
    import dln_theory as dt

    problem = dt.SparseRegression(n=5, d=8, k=2).sample(0)
    return dt.sweep(dt.GD(0.1), dt.PE(), problem, {"alpha": ALPHAS}, 40, 10, chunk_size=1, cache=cache,
                    cache_dir=cache_dir, progress=False)


def run_training(cache_dir, cache=True):
    import jax

    import dln_theory as dt
    from dln_theory.deepnet import MLP, load_dataset
    from dln_theory.deepnet.train import train

    dataset = load_dataset("digits", n_train=32)
    network = MLP(64, 8, 1, 10, jax.random.key(0))
    return train(dt.SGD(eta=0.2, batch_size=16, momentum=0.9), network, dataset, 4, 0, eval_every=1,
                 cache=cache, cache_dir=cache_dir, progress=False)


def kill_at(n: int, mode: str) -> None:
    """SIGKILL this process at the n-th write: ``after_save``, once the n-th chunk (sweep) or
    block's metrics (training) is complete; ``mid_write``, after its temporary file is written and
    before the rename; ``after_state`` (training), once the n-th block's state is saved and before
    its metrics are."""
    from dln_theory import _cache

    count = [0]

    def tick():
        count[0] += 1
        if count[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)

    if mode == "mid_write":
        replace = os.replace

        def replace_then_die(src, dst):
            if Path(dst).name.startswith("chunk_") and Path(dst).parent.name != "state":
                tick()
            replace(src, dst)

        os.replace = replace_then_die
        return
    save = _cache.ChunkStore.save

    def save_then_die(self, index, arrays):
        save(self, index, arrays)
        if (self.directory.name == "state") == (mode == "after_state"):
            tick()

    _cache.ChunkStore.save = save_then_die


def stress_arrays(index: int) -> dict:
    """1 MB per chunk, so writes take long enough to overlap."""
    return {"values": np.full((256, 512), float(index)), "index": np.asarray(index)}


def concurrent_writer(args):
    """Run the shared sweep, then save and load every stress chunk in random order; returns the
    sweep's β and the warnings seen (a damaged read would warn)."""
    cache_dir, worker = args
    from dln_theory import _cache

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        beta = np.asarray(run_sweep(cache_dir).trajectory.beta)
        store = _cache.ChunkStore(Path(cache_dir) / "stress", {"note": "shared by four writers"})
        rng = np.random.default_rng(worker)
        for _ in range(STRESS_ROUNDS):
            for c in rng.permutation(STRESS_CHUNKS):
                store.save(int(c), stress_arrays(int(c)))
                other = int(rng.integers(STRESS_CHUNKS))
                loaded = store.load(other)
                expected = stress_arrays(other)["values"]
                if loaded is not None and not np.array_equal(loaded["values"], expected):
                    raise AssertionError(f"chunk {other} read back other values")
    return beta, [str(w.message) for w in seen]


if __name__ == "__main__":
    job, cache_dir, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    kill_at(n, mode)
    (run_sweep if job == "sweep" else run_training)(cache_dir)
