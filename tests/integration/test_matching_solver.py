"""The matching solver against independent answers on random instances: its total equals an
exhaustive search on small ones and scipy's linear_sum_assignment (on the capacity-expanded
matrix) on larger ones, and its assignment never gives a candidate two openings nor an opening
more than its capacity."""
import itertools
import os
import random
import subprocess

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from conftest import BUILD


def instance(rng, nl, nr, density, maxcap):
    cap = [rng.randint(0, maxcap) for _ in range(nr)]
    arcs = [(l, r, rng.randint(-5, 100)) for l in range(nl) for r in range(nr)
            if rng.random() < density]
    return cap, arcs


def solve(nl, nr, cap, arcs):
    text = f"{nl} {nr} {len(arcs)}\n" + " ".join(map(str, cap)) + "\n" + \
        "".join(f"{l} {r} {g}\n" for l, r, g in arcs)
    out = subprocess.run([os.path.join(BUILD, "flow_check")], input=text, capture_output=True,
                         text=True, check=True).stdout.split()
    return int(out[0]), [arcs[int(i)] for i in out[1:]]


def valid(nl, cap, chosen):
    lefts = [l for l, _, _ in chosen]
    assert len(lefts) == len(set(lefts)), "a candidate got two openings"
    for r, c in enumerate(cap):
        assert sum(1 for _, rr, _ in chosen if rr == r) <= max(c, 0), "over capacity"


def exhaustive(nl, cap, arcs):
    by_left = [[a for a in arcs if a[0] == l] + [None] for l in range(nl)]
    best = 0
    for pick in itertools.product(*by_left):
        used = [0] * len(cap)
        total, ok = 0, True
        for a in pick:
            if a is None:
                continue
            used[a[1]] += 1
            ok &= used[a[1]] <= cap[a[1]]
            total += a[2]
        if ok:
            best = max(best, total)
    return best


def scipy_total(nl, cap, arcs):
    cols = [r for r, c in enumerate(cap) for _ in range(max(c, 0))]
    m = np.zeros((nl, len(cols) + nl))  # one "unassigned" column per candidate, gain 0
    gain = {(l, r): g for l, r, g in arcs}
    for j, r in enumerate(cols):
        for l in range(nl):
            m[l, j] = max(gain.get((l, r), 0), 0)
    rows, colsel = linear_sum_assignment(m, maximize=True)
    return int(m[rows, colsel].sum())


@pytest.mark.parametrize("seed", range(40))
def test_small_instances_match_exhaustive_search(seed):
    rng = random.Random(seed)
    nl, nr = rng.randint(1, 6), rng.randint(1, 4)
    cap, arcs = instance(rng, nl, nr, 0.6, 2)
    total, chosen = solve(nl, nr, cap, arcs)
    valid(nl, cap, chosen)
    assert total == sum(g for _, _, g in chosen)
    assert total == exhaustive(nl, cap, arcs)


@pytest.mark.parametrize("seed", range(10))
def test_larger_instances_match_scipy(seed):
    rng = random.Random(1000 + seed)
    nl, nr = rng.randint(30, 120), rng.randint(10, 40)
    cap, arcs = instance(rng, nl, nr, 0.15, 5)
    total, chosen = solve(nl, nr, cap, arcs)
    valid(nl, cap, chosen)
    assert total == scipy_total(nl, cap, arcs)
