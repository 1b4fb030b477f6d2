#!/usr/bin/env python3
"""Write testdata/stats/paired.json: SciPy's paired tests on random samples.

tools/internal/stats checks its paired t-test (two-sided) against
scipy.stats.ttest_rel and its exact sign-flip randomization test against
scipy.stats.permutation_test (permutation_type="samples", statistic = mean of
the differences, two-sided, every one of the 2^n sign patterns).

Usage (from the repository root):
    .venv/bin/python tools/reference/stats_golden.py
"""

import json
import os
import sys

import numpy as np
import scipy
from scipy import stats

sys.path.insert(0, os.path.dirname(__file__))
from refio import atomic_write  # noqa: E402


def mean_diff(x, y, axis):
    return np.mean(x - y, axis=axis)


def main():
    rng = np.random.default_rng(7)
    cases = []
    # n, shift: sizes small enough for the exact test, shifts from none to clear.
    for i, (n, shift) in enumerate([(6, 0.0), (8, 0.1), (10, 0.3), (12, 0.05), (14, 0.5), (9, -0.2)]):
        a = np.round(rng.uniform(0, 1, n), 4)
        b = np.round(np.clip(a - shift + rng.normal(0, 0.3, n), 0, 1), 4)
        if i == 3:
            b[:4] = a[:4]  # zero differences, as tied queries give
        t = stats.ttest_rel(a, b)
        perm = stats.permutation_test((a, b), mean_diff, permutation_type="samples",
                                      alternative="two-sided", n_resamples=np.inf, vectorized=True)
        cases.append({"name": f"n{n}-shift{shift}", "a": a.tolist(), "b": b.tolist(),
                      "t": float(t.statistic), "t_p": float(t.pvalue), "perm_p": float(perm.pvalue)})
    out = {"scipy": scipy.__version__, "numpy": np.__version__, "cases": cases}
    atomic_write("testdata/stats/paired.json", (json.dumps(out, indent=1) + "\n").encode())


if __name__ == "__main__":
    main()
