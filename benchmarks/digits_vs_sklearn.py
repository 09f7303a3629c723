"""The reference digit network (``train_digits`` of homework V) against scikit-learn's
``MLPClassifier`` on the same fixed split of data/digits.npz: held-out accuracy and fit time.

BLAS is pinned to one thread for both (set before numpy is imported).  Needs scikit-learn:

    pip install -e ".[bench]" && python benchmarks/digits_vs_sklearn.py
"""
import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from autograder import course  # noqa: E402
from autograder.reference import reference  # noqa: E402

SEEDS = range(5)


def timed(fit):
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def main() -> None:
    import warnings

    warnings.simplefilter("ignore", ConvergenceWarning)
    with np.load(course.DATA / "digits.npz") as data:
        X_train, y_train, X_test, y_test = (data[k] for k in ("X_train", "y_train", "X_test", "y_test"))
    ref = reference("hw5_mlp")
    rows = {"nnhw train_digits (numpy, 64-32-10, 20 epochs)": [], "sklearn MLPClassifier (adam, 64-32-10)": []}
    for seed in SEEDS:
        params, fit_time = timed(lambda: ref.train_digits(X_train, y_train, seed=seed))
        accuracy = float(np.mean(ref.predict_digits(params, X_test) == y_test))
        rows["nnhw train_digits (numpy, 64-32-10, 20 epochs)"].append((accuracy, fit_time))
        model, fit_time = timed(lambda: MLPClassifier(hidden_layer_sizes=(32,), max_iter=200,
                                                      random_state=seed).fit(X_train / 16.0, y_train))
        accuracy = float(np.mean(model.predict(X_test / 16.0) == y_test))
        rows["sklearn MLPClassifier (adam, 64-32-10)"].append((accuracy, fit_time))
    print(f"held-out split: {len(y_test)} images; seeds {list(SEEDS)}; BLAS threads 1")
    print(f"{'':50} {'accuracy (mean, min)':>22} {'fit s (median)':>15}")
    for name, runs in rows.items():
        accuracies, times = [a for a, _ in runs], [t for _, t in runs]
        print(f"{name:50} {statistics.mean(accuracies):>14.3f}, {min(accuracies):.3f} "
              f"{statistics.median(times):>15.3f}")


if __name__ == "__main__":
    main()
