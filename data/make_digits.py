"""Write data/digits.npz from scikit-learn's bundled copy of the UCI optdigits test set.

Run once by the maintainers (``pip install scikit-learn``, then ``python data/make_digits.py``);
the package itself never needs scikit-learn and never downloads anything.  The held-out split is
fixed here: per class, a seeded permutation puts a quarter of the images into the test set.
"""
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

SEED = 0
TEST_FRACTION = 0.25


def main() -> None:
    digits = load_digits()
    images = digits.data.astype(np.uint8)  # raw pixel counts 0..16, as in the original data
    labels = digits.target.astype(np.uint8)
    rng = np.random.default_rng(SEED)
    test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        chosen = rng.permutation(members)[: round(TEST_FRACTION * len(members))]
        test[chosen] = True
    train_index, test_index = np.flatnonzero(~test), np.flatnonzero(test)
    np.savez_compressed(
        Path(__file__).with_name("digits.npz"),
        X_train=images[train_index], y_train=labels[train_index],
        X_test=images[test_index], y_test=labels[test_index],
        train_index=train_index, test_index=test_index,
    )
    print(f"train {len(train_index)}, test {len(test_index)}")


if __name__ == "__main__":
    main()
