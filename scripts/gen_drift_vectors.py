#!/usr/bin/env python3
"""Regenerate Tests/LanternAnalyzerTests/Resources/drift_vectors.json with scipy.

Usage (any Python with numpy and scipy; a venv is the simplest):
    python3 -m venv /work/.venv-scipy && /work/.venv-scipy/bin/pip install numpy scipy
    /work/.venv-scipy/bin/python scripts/gen_drift_vectors.py

Rerunnable and deterministic (fixed seeds). The Swift tests (DriftTests.swift) check every
statistic to 1e-9 relative and every p-value to 1e-6 (see the tolerance note there).

Definitions that are Lantern's own (not a scipy function) are computed here by a plain numpy
reference of the same definition:
  * PSI: 10 bins cut at the reference's deciles (numpy.quantile, linear interpolation, duplicate
    edges dropped); a value v goes to bin i when edge[i-1] < v <= edge[i]; proportions of 0 are
    replaced by 1e-4 (no renormalisation); PSI = sum (q - p) * ln(q / p).
  * Hodges-Lehmann shift: median of all pairwise differences x_i - y_j (numpy.median).
    Its confidence interval (Hollander & Wolfe, normal approximation of the distribution of U, no
    tie correction): C = round(n1*n2/2 - z * sqrt(n1*n2*(n1+n2+1)/12)), z = ndtri(1 - alpha/2),
    clamped to [1, n1*n2]; CI = [D_(C), D_(n1*n2 + 1 - C)] over the sorted differences D (1-based).
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "LanternAnalyzerTests", "Resources", "drift_vectors.json")

PSI_BINS = 10
PSI_EPS = 1e-4


def fl(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def hodges_lehmann(x, y, conf=0.95):
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    d = np.sort((x[:, None] - y[None, :]).ravel())
    n = d.size
    shift = float(np.median(d))
    z = special.ndtri(1 - (1 - conf) / 2)
    c = int(round(len(x) * len(y) / 2 - z * math.sqrt(len(x) * len(y) * (len(x) + len(y) + 1) / 12)))
    c = min(max(c, 1), n)
    return shift, float(d[c - 1]), float(d[n - c])


def psi_ref(reference, current):
    ref = np.asarray(reference, float)
    cur = np.asarray(current, float)
    edges = np.unique(np.quantile(ref, np.arange(1, PSI_BINS) / PSI_BINS))
    nb = len(edges) + 1
    p = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=nb) / len(ref)
    q = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=nb) / len(cur)
    p = np.where(p == 0, PSI_EPS, p)
    q = np.where(q == 0, PSI_EPS, q)
    return float(np.sum((q - p) * np.log(q / p)))


def main():
    rng = np.random.default_rng(20261123)
    out = {
        "scipy_version": scipy.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "psi_bins": PSI_BINS,
        "psi_epsilon": PSI_EPS,
        "ks": [],
        "mw": [],
        "psi": [],
        "js": [],
        "chi2": [],
    }

    # ---- samples shared by KS and MW -------------------------------------------------------
    pairs = []
    for n1 in range(1, 11):  # tiny samples, continuous
        for n2 in (1, 2, 3, 5, 7, 10):
            pairs.append((f"tiny_{n1}x{n2}", np.round(rng.normal(0, 1, n1), 6), np.round(rng.normal(0.4, 1, n2), 6)))
    for n1, n2 in ((3, 4), (5, 5), (6, 9), (8, 8), (10, 12), (25, 30), (40, 40)):  # ties
        pairs.append((f"ties_{n1}x{n2}", rng.integers(0, 5, n1).astype(float), rng.integers(1, 6, n2).astype(float)))
    s = np.round(rng.normal(10, 2, 30), 4)
    pairs.append(("identical_30", s, s.copy()))
    pairs.append(("identical_constant", np.full(12, 3.0), np.full(9, 3.0)))
    pairs.append(("disjoint_7x6", np.arange(1.0, 8.0), np.arange(100.0, 106.0)))
    pairs.append(("disjoint_50x60", np.round(rng.uniform(0, 1, 50), 5), np.round(rng.uniform(2, 3, 60), 5)))
    pairs.append(("mixed_8x500", np.round(rng.normal(0, 1, 8), 6), np.round(rng.normal(0.5, 1, 500), 6)))
    pairs.append(("mixed_3x40", np.round(rng.normal(1, 1, 3), 6), np.round(rng.normal(0, 1, 40), 6)))
    for n1, n2 in ((100, 100), (150, 240), (500, 700), (1000, 1000)):
        pairs.append((f"medium_{n1}x{n2}", np.round(rng.lognormal(5, 0.5, n1), 3), np.round(rng.lognormal(5.05, 0.5, n2), 3)))
    pairs.append(("large_3000x2500", np.round(rng.lognormal(6, 0.4, 3000), 2), np.round(rng.lognormal(6.02, 0.4, 2500), 2)))
    pairs.append(("large_ties_4000x3500", rng.poisson(40, 4000).astype(float), rng.poisson(41, 3500).astype(float)))
    # auto -> asymptotic KS (max(n1, n2) > 10000)
    pairs.append(("large_auto_asymp_10500x3000", np.round(rng.normal(0, 1, 10500), 3), np.round(rng.normal(0.03, 1, 3000), 3)))

    for name, x, y in pairs:
        for method in ("auto", "asymp", "exact"):
            if method == "exact" and max(len(x), len(y)) > 2000:
                continue
            if method != "auto" and len(x) * len(y) > 4_000_000:
                continue
            r = stats.ks_2samp(x, y, method=method)
            if math.isnan(r.pvalue):  # kstwo.sf(d, round(en) == 0): scipy has no p-value
                continue
            out["ks"].append({"name": name, "method": method, "x": fl(x), "y": fl(y),
                              "statistic": float(r.statistic), "pvalue": float(r.pvalue)})
        for method in ("auto", "asymptotic", "exact"):
            if method == "exact" and len(x) * len(y) > 10_000:
                continue
            r = stats.mannwhitneyu(x, y, method=method)
            sh, lo, hi = hodges_lehmann(x, y) if len(x) * len(y) <= 4_000_000 else (None, None, None)
            out["mw"].append({"name": name, "method": method, "x": fl(x), "y": fl(y),
                              "statistic": float(r.statistic), "pvalue": float(r.pvalue),
                              "hl_shift": sh, "hl_lower": lo, "hl_upper": hi})

    # near-identical samples: small D with n_eff > 140 (Durbin matrix branch for large n)
    for n, shift in ((400, 0.02), (3000, 0.005), (1000, 0.012)):
        x = np.round(np.linspace(0, 1, n), 6)
        y = np.round(np.linspace(shift, 1 + shift, n), 6)
        r = stats.ks_2samp(x, y, method="asymp")
        out["ks"].append({"name": f"asymp_near_identical_{n}", "method": "asymp", "x": fl(x), "y": fl(y),
                          "statistic": float(r.statistic), "pvalue": float(r.pvalue)})

    # KS asymptotic regime on purpose: effective sizes and distances chosen so that every branch of
    # scipy's kstwo.sf (Durbin matrix, Pelz-Good, Smirnov sum, Ruben-Gambino) is exercised.
    for n1, n2 in ((20, 30), (60, 90), (300, 300), (400, 700), (1500, 2500)):
        for shift in (0.0, 0.02, 0.1, 0.3, 0.8, 1.5):
            x = np.round(rng.normal(0, 1, n1), 5)
            y = np.round(rng.normal(shift, 1, n2), 5)
            r = stats.ks_2samp(x, y, method="asymp")
            out["ks"].append({"name": f"asymp_branches_{n1}x{n2}_shift{shift}", "method": "asymp",
                              "x": fl(x), "y": fl(y), "statistic": float(r.statistic), "pvalue": float(r.pvalue)})
    for name, x, y in pairs[:12]:
        r = stats.ks_2samp(y, x)
        out["ks"].append({"name": name + "_swapped", "method": "auto", "x": fl(y), "y": fl(x),
                          "statistic": float(r.statistic), "pvalue": float(r.pvalue)})

    # ---- PSI ----------------------------------------------------------------------------------
    psi_cases = [
        ("same_dist", rng.normal(0, 1, 2000), rng.normal(0, 1, 1500)),
        ("shifted", rng.normal(0, 1, 2000), rng.normal(0.5, 1, 1800)),
        ("scaled", rng.lognormal(5, 0.5, 3000), rng.lognormal(5, 0.8, 3000)),
        ("empty_bins", rng.normal(0, 1, 1000), rng.normal(5, 0.1, 400)),
        ("ties_int", rng.integers(0, 4, 500).astype(float), rng.integers(0, 6, 300).astype(float)),
        ("tiny", np.array([1.0, 2.0, 3.0]), np.array([2.0, 5.0])),
        ("identical", np.arange(100.0), np.arange(100.0)),
    ]
    for name, ref, cur in psi_cases:
        ref = np.round(ref, 5)
        cur = np.round(cur, 5)
        out["psi"].append({"name": name, "reference": fl(ref), "current": fl(cur), "psi": psi_ref(ref, cur)})

    # ---- Jensen-Shannon distance (base 2) on count vectors ------------------------------------
    js_cases = [
        ("simple", [10, 20, 30], [30, 20, 10]),
        ("identical", [5, 5, 5, 5], [5, 5, 5, 5]),
        ("zero_counts", [0, 10, 5, 0], [3, 0, 5, 2]),
        ("disjoint", [1, 0], [0, 1]),
        ("proportions", [0.1, 0.2, 0.7], [0.25, 0.25, 0.5]),
        ("many", list(rng.integers(0, 100, 50)), list(rng.integers(0, 100, 50))),
        ("near_identical", [1000000, 1], [1000000, 2]),
    ]
    for name, p, q in js_cases:
        d = distance.jensenshannon(np.asarray(p, float), np.asarray(q, float), base=2)
        out["js"].append({"name": name, "p": fl(p), "q": fl(q), "distance": float(d)})

    # ---- chi-square on a 2 x k table (all-zero columns dropped first) -------------------------
    chi_cases = [
        ("finish_reasons", [900, 60, 30, 10], [850, 90, 45, 15]),
        ("two_by_two_yates", [90, 10], [80, 20]),
        ("two_by_two_small", [3, 1], [1, 4]),
        ("zero_column", [50, 0, 20, 5], [40, 0, 25, 1]),
        ("zero_cell", [10, 0, 5], [8, 4, 0]),
        ("identical", [10, 20, 30], [10, 20, 30]),
        ("one_category", [10, 0], [7, 0]),
        ("error_types", [500, 3, 7, 2, 1, 0], [480, 12, 9, 0, 4, 2]),
        ("huge", [10_000_000, 20_000], [10_000_000, 26_000]),
    ]
    for name, a, b in chi_cases:
        t = np.array([a, b], float)
        keep = t.sum(axis=0) > 0
        tk = t[:, keep]
        if tk.shape[1] < 2:
            stat, p, dof = 0.0, 1.0, 0
        else:
            r = stats.chi2_contingency(tk)
            stat, p, dof = float(r.statistic), float(r.pvalue), int(r.dof)
        out["chi2"].append({"name": name, "a": fl(a), "b": fl(b), "statistic": stat, "pvalue": p, "dof": dof})

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(out['ks'])} KS, {len(out['mw'])} MW, {len(out['psi'])} PSI, "
          f"{len(out['js'])} JS, {len(out['chi2'])} chi2 vectors (scipy {scipy.__version__})")


if __name__ == "__main__":
    main()
