"""The genre model's forward pass in NumPy, so serving needs no scikit-learn (~85 MB RSS).

The trained ``genre_all`` model is a scikit-learn pipeline ``QuantileTransformer(uniform) ->
MLPClassifier(relu, softmax)``. Both steps are simple arithmetic: a per-feature piecewise-linear
map onto [0, 1] through the fitted quantiles, then dense layers. :meth:`GenreNet.from_pipeline`
copies the fitted numbers out of the pipeline (at training time) into ``genre_all.npz`` and
:meth:`GenreNet.predict_proba` reproduces ``pipeline.predict_proba`` (checked to 1e-9 in
tests). The arithmetic follows scikit-learn 1.9's ``QuantileTransformer._transform_col``
(forward interpolation averaged with the reversed one, so repeated quantiles map to their
middle) and ``MLPClassifier._forward_pass``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: scikit-learn's ``BOUNDS_THRESHOLD`` in ``sklearn.preprocessing._data``.
BOUNDS_THRESHOLD = 1e-7
FORMAT = 1


class GenreNet:
    """Feature rows (n, features) float64 -> genre probabilities (n, classes)."""

    def __init__(self, quantiles: np.ndarray, references: np.ndarray,
                 weights: list[np.ndarray], biases: list[np.ndarray], classes: list[str]) -> None:
        self.quantiles = quantiles  # (n_quantiles, features)
        self.references = references  # (n_quantiles,)
        self.weights = weights
        self.biases = biases
        self.classes = classes

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> GenreNet:
        """Copy a fitted ``QuantileTransformer -> MLPClassifier`` pipeline's numbers.

        Raises ValueError for any other pipeline shape (another scaler, output distribution or
        activation), which this forward pass would not reproduce.
        """
        scale, clf = pipeline.steps[0][1], pipeline.steps[-1][1]
        if (type(scale).__name__ != "QuantileTransformer"
                or scale.output_distribution != "uniform"
                or type(clf).__name__ != "MLPClassifier" or clf.activation != "relu"
                or clf.out_activation_ != "softmax" or len(pipeline.steps) != 2):
            raise ValueError("GenreNet reproduces only QuantileTransformer(uniform) -> "
                             "MLPClassifier(relu, softmax)")
        return cls(np.asarray(scale.quantiles_, dtype=np.float64),
                   np.asarray(scale.references_, dtype=np.float64),
                   [np.asarray(w, dtype=np.float64) for w in clf.coefs_],
                   [np.asarray(b, dtype=np.float64) for b in clf.intercepts_],
                   [str(c) for c in clf.classes_])

    def _scale(self, x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        refs = self.references
        for j in range(x.shape[1]):
            q, col = self.quantiles[:, j], x[:, j]
            value = 0.5 * (np.interp(col, q, refs) - np.interp(-col, -q[::-1], -refs[::-1]))
            value[col + BOUNDS_THRESHOLD > q[-1]] = refs[-1]
            value[col - BOUNDS_THRESHOLD < q[0]] = refs[0]
            out[:, j] = value
        return out

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (n, len(classes)), rows summing to 1; ``x`` is (n, features)."""
        a = self._scale(np.asarray(x, dtype=np.float64))
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            a = a @ w + b
            if i < last:
                np.maximum(a, 0.0, out=a)
        a = np.exp(a - a.max(axis=1, keepdims=True))
        return np.asarray(a / a.sum(axis=1, keepdims=True))

    def save(self, path: Path) -> None:
        layers = {f"w{i}": w for i, w in enumerate(self.weights)}
        layers.update({f"b{i}": b for i, b in enumerate(self.biases)})
        with open(path, "wb") as handle:
            np.savez_compressed(handle, format=np.asarray([FORMAT]), quantiles=self.quantiles,
                                references=self.references,
                                classes=np.asarray(self.classes, dtype=str),
                                **layers)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> GenreNet:
        """Raises ValueError when ``path`` holds another format."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"][0]) != FORMAT:
                raise ValueError(f"{path} has another format; re-export the song models")
            depth = sum(1 for name in data.files if name.startswith("w"))
            return cls(data["quantiles"], data["references"],
                       [data[f"w{i}"] for i in range(depth)],
                       [data[f"b{i}"] for i in range(depth)],
                       [str(c) for c in data["classes"]])
