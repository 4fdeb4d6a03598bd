#!/usr/bin/env python3
"""One scikit-learn solver on the FedNL objective, end to end from a LIBSVM file (fednl bench runs it).

f(x) = (1/N) sum_j log(1 + exp(-b_j a_j^T x)) + (lambda/2) |x|^2 is LogisticRegression's objective divided by
C N with C = 1 / (lambda N); no intercept is fitted (the file carries the constant column). Prints one JSON line.
"""
import json
import sys
import time

start = time.perf_counter()
import numpy as np  # noqa: E402
from sklearn.datasets import load_svmlight_file  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

path, solver, lam, tol = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
imported = time.perf_counter()
a, b = load_svmlight_file(path)
labels = np.where(b > 0, 1.0, -1.0)
loaded = time.perf_counter()
n = a.shape[0]
model = LogisticRegression(C=1.0 / (lam * n), fit_intercept=False, solver=solver, tol=tol, max_iter=10000)
if solver == "liblinear":
    model.set_params(dual=False)
model.fit(a, labels)
fitted = time.perf_counter()

x = model.coef_.ravel()
z = labels * (a @ x)
f = float(np.mean(np.logaddexp(0.0, -z)) + 0.5 * lam * x @ x)
s = 1.0 / (1.0 + np.exp(z))
grad = -(a.T @ (labels * s)) / n + lam * x
print(json.dumps({
    "solver": solver, "f": f, "grad_norm": float(np.linalg.norm(grad)), "iterations": int(np.max(model.n_iter_)),
    "import_seconds": imported - start, "load_seconds": loaded - imported, "fit_seconds": fitted - loaded,
    "sklearn": __import__("sklearn").__version__,
}))
