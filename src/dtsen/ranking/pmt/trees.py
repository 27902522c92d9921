"""Gradient-boosted trees as plain arrays: fit with scikit-learn, stored as JSON, scored and explained
without scikit-learn objects (no pickles in an artefact).

Prediction: ``base_score + learning_rate * sum_t leaf_t(x)``. Like scikit-learn, a row goes left at a
node when ``float32(x[feature]) <= threshold``.

Explanation: path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent individualized feature
attribution for tree ensembles", Algorithm 2), written here from the paper. For each tree it gives the
exact Shapley values of the game ``v(S) = E[f(x) | x_S]`` where the expectation over the features not
in S follows the training cover of each branch. Properties the tests check: the values sum to
``f(x) - E[f]`` (E[f] = cover-weighted mean leaf value), and they equal a brute-force Shapley
computation over all subsets on small trees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dtsen.ranking.pmt.errors import ArtefactInvalid


@dataclass(frozen=True)
class Tree:
    """One regression tree: node arrays, leaves have left == right == -1."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    cover: np.ndarray

    def leaf_index(self, x32: np.ndarray) -> np.ndarray:
        """Leaf reached by each row of a float32-valued (as float64) matrix."""
        node = np.zeros(len(x32), dtype=np.int64)
        rows = np.arange(len(x32))
        while True:
            internal = self.left[node] >= 0
            if not internal.any():
                return node
            feat = self.feature[node[internal]]
            go_left = x32[rows[internal], feat] <= self.threshold[node[internal]]
            node[internal] = np.where(go_left, self.left[node[internal]], self.right[node[internal]])

    def expected_value(self) -> float:
        """Cover-weighted mean of the leaf values (the tree's prediction with no feature known)."""
        leaves = self.left < 0
        return float((self.value[leaves] * self.cover[leaves]).sum() / self.cover[leaves].sum())

    def to_dict(self) -> dict[str, list[Any]]:
        return {
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "feature": self.feature.tolist(),
            "threshold": self.threshold.tolist(),
            "value": self.value.tolist(),
            "cover": self.cover.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[Any]]) -> Tree:
        return cls(
            left=np.asarray(data["left"], dtype=np.int64),
            right=np.asarray(data["right"], dtype=np.int64),
            feature=np.asarray(data["feature"], dtype=np.int64),
            threshold=np.asarray(data["threshold"], dtype=float),
            value=np.asarray(data["value"], dtype=float),
            cover=np.asarray(data["cover"], dtype=float),
        )


@dataclass(frozen=True)
class TreeEnsemble:
    """A boosted ensemble over named input columns (spec features, then region indicators)."""

    input_names: tuple[str, ...]
    base_score: float
    learning_rate: float
    trees: tuple[Tree, ...]

    def predict(self, x: np.ndarray) -> np.ndarray:
        x32 = np.asarray(x, dtype=np.float32).astype(float)
        total = np.zeros(len(x32))
        for tree in self.trees:
            total += tree.value[tree.leaf_index(x32)]
        return self.base_score + self.learning_rate * total

    def expected_value(self) -> float:
        return self.base_score + self.learning_rate * sum(t.expected_value() for t in self.trees)

    def shap_values(self, x: np.ndarray) -> np.ndarray:
        """TreeSHAP values of one row (length = number of inputs); they sum to predict - expected."""
        x32 = np.asarray(x, dtype=np.float32).astype(float)
        phi = np.zeros(len(self.input_names))
        for tree in self.trees:
            tree_shap(tree, x32, phi)
        return phi * self.learning_rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_names": list(self.input_names),
            "base_score": self.base_score,
            "learning_rate": self.learning_rate,
            "trees": [t.to_dict() for t in self.trees],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeEnsemble:
        try:
            return cls(
                input_names=tuple(str(n) for n in data["input_names"]),
                base_score=float(data["base_score"]),
                learning_rate=float(data["learning_rate"]),
                trees=tuple(Tree.from_dict(t) for t in data["trees"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtefactInvalid(
                f"Bagian model pohon rusak: {exc!r}.", f"The tree part of the model is corrupt: {exc!r}."
            ) from exc

    @classmethod
    def from_sklearn(cls, model: Any, input_names: Sequence[str], sample: np.ndarray) -> TreeEnsemble:
        """Convert a fitted sklearn GradientBoostingRegressor; `sample` rows fix the base score."""
        trees = []
        for estimator in model.estimators_[:, 0]:
            t = estimator.tree_
            trees.append(
                Tree(
                    left=np.asarray(t.children_left, dtype=np.int64),
                    right=np.asarray(t.children_right, dtype=np.int64),
                    feature=np.where(t.children_left >= 0, t.feature, -1).astype(np.int64),
                    threshold=np.where(t.children_left >= 0, t.threshold, 0.0).astype(float),
                    value=np.asarray(t.value[:, 0, 0], dtype=float),
                    cover=np.asarray(t.weighted_n_node_samples, dtype=float),
                )
            )
        draft = cls(tuple(input_names), 0.0, float(model.learning_rate), tuple(trees))
        base = float(np.mean(model.predict(sample) - draft.predict(sample)))
        return cls(tuple(input_names), base, float(model.learning_rate), tuple(trees))


# -- path-dependent TreeSHAP ---------------------------------------------------------------------------
# A path element is [feature, zero_fraction, one_fraction, weight]; names follow the paper's Algorithm 2.


@dataclass(frozen=True)
class _Walk:
    """What stays fixed during one tree's recursion: the tree, the row and the output."""

    tree: Tree
    x: np.ndarray
    phi: np.ndarray


def tree_shap(tree: Tree, x: np.ndarray, phi: np.ndarray) -> None:
    """Add the TreeSHAP values of one tree for row `x` into `phi` (in place)."""
    _recurse(_Walk(tree, x, phi), 0, [], zero_fraction=1.0, one_fraction=1.0, feature=-1)


def _recurse(
    walk: _Walk,
    node: int,
    parent_path: list[list[float]],
    *,
    zero_fraction: float,
    one_fraction: float,
    feature: int,
) -> None:
    tree, x, phi = walk.tree, walk.x, walk.phi
    path = [list(e) for e in parent_path]
    _extend(path, zero_fraction, one_fraction, feature)
    left, right = int(tree.left[node]), int(tree.right[node])
    if left < 0:
        value = float(tree.value[node])
        for i in range(1, len(path)):
            w = _unwound_sum(path, i)
            phi[int(path[i][0])] += w * (path[i][2] - path[i][1]) * value
        return
    split = int(tree.feature[node])
    hot, cold = (left, right) if x[split] <= tree.threshold[node] else (right, left)
    incoming_zero, incoming_one = 1.0, 1.0
    for k in range(1, len(path)):
        if int(path[k][0]) == split:
            incoming_zero, incoming_one = path[k][1], path[k][2]
            _unwind(path, k)
            break
    cover = float(tree.cover[node])
    hot_zero = incoming_zero * float(tree.cover[hot]) / cover
    cold_zero = incoming_zero * float(tree.cover[cold]) / cover
    _recurse(walk, hot, path, zero_fraction=hot_zero, one_fraction=incoming_one, feature=split)
    _recurse(walk, cold, path, zero_fraction=cold_zero, one_fraction=0.0, feature=split)


def _extend(path: list[list[float]], zero_fraction: float, one_fraction: float, feature: int) -> None:
    depth = len(path)
    path.append([float(feature), zero_fraction, one_fraction, 1.0 if depth == 0 else 0.0])
    for i in range(depth - 1, -1, -1):
        path[i + 1][3] += one_fraction * path[i][3] * (i + 1) / (depth + 1)
        path[i][3] = zero_fraction * path[i][3] * (depth - i) / (depth + 1)


def _unwind(path: list[list[float]], index: int) -> None:
    depth = len(path) - 1
    one_fraction, zero_fraction = path[index][2], path[index][1]
    next_one = path[depth][3]
    for i in range(depth - 1, -1, -1):
        if one_fraction != 0:
            tmp = path[i][3]
            path[i][3] = next_one * (depth + 1) / ((i + 1) * one_fraction)
            next_one = tmp - path[i][3] * zero_fraction * (depth - i) / (depth + 1)
        else:
            path[i][3] = path[i][3] * (depth + 1) / (zero_fraction * (depth - i))
    for i in range(index, depth):
        path[i][0], path[i][1], path[i][2] = path[i + 1][0], path[i + 1][1], path[i + 1][2]
    path.pop()


def _unwound_sum(path: list[list[float]], index: int) -> float:
    depth = len(path) - 1
    one_fraction, zero_fraction = path[index][2], path[index][1]
    total = 0.0
    if one_fraction != 0:
        next_one = path[depth][3]
        for i in range(depth - 1, -1, -1):
            tmp = next_one / ((i + 1) * one_fraction)
            total += tmp
            next_one = path[i][3] - tmp * zero_fraction * (depth - i)
    else:
        for i in range(depth - 1, -1, -1):
            total += path[i][3] / (zero_fraction * (depth - i))
    return total * (depth + 1)
