"""The fitted welfare model: loading the parameter file, building features, drawing from the conditionals.

The model is a chain of conditionals fitted on the survey (see `fit.py`):

    y (log per-capita consumption) -> family size | y -> head sex, age, married | y, size
    -> (composition, built in population.py) -> head education -> highest education in the family
    -> head's work (none / formal / informal x agriculture / industry / services) -> credit -> floor area
    -> housing indicators and assets, each | y, demography and the indicators drawn before it.

Every conditional is a logistic, multinomial-logistic, ordered-logistic or linear model whose features are
named below, so the fitting code (on survey columns) and the generator (on synthetic families) build exactly
the same design matrices from a `state` mapping of family-level arrays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

PARAMS_PACKAGE = "dtsen.synth.params"
PARAMS_FILE = "alatas_calibrated.json"

# Order of the housing and asset indicators in the chain.
BINARY_CHAIN: tuple[str, ...] = (
    "lighting",
    "tfloor",
    "twall",
    "troof",
    "toilet",
    "water",
    "house",
    "hp",
    "tv",
    "motorcycle",
    "gas",
    "fcook",
    "jewelry",
    "dvd",
    "radio",
    "bicycle",
    "chicken",
    "refrigerator",
    "satellite",
    "cow",
    "computer",
    "auto",
    "ac",
)

# Features every indicator of the chain sees (plus the indicators before it).
BASE_FEATURES: tuple[str, ...] = (
    "y",
    "y2",
    "lk",
    "k1",
    "age",
    "age2",
    "male",
    "married",
    "age04",
    "nsch",
    "dep",
    "he1",
    "he2",
    "he3",
    "hi1",
    "hi2",
    "hi3",
    "formal",
    "informal",
    "s1",
    "s2",
    "s3",
    "credit",
    "lpcf",
)

Array = np.ndarray[Any, Any]
State = Mapping[str, Array]


def feature(state: State, name: str) -> Array:
    """One named feature as a float column."""
    if name == "y":
        return np.asarray(state["y"], dtype=np.float64)
    if name == "y2":
        return np.asarray(state["y"], dtype=np.float64) ** 2
    if name == "lk":
        return np.log(np.asarray(state["k"], dtype=np.float64))
    if name == "k1":
        return (np.asarray(state["k"]) == 1).astype(np.float64)
    if name == "age":
        return (np.asarray(state["age"], dtype=np.float64) - 45.0) / 10.0
    if name == "age2":
        return ((np.asarray(state["age"], dtype=np.float64) - 45.0) / 10.0) ** 2
    if name == "age04":
        return np.minimum(np.asarray(state["age04"], dtype=np.float64), 3.0)
    if name == "nsch":
        return np.minimum(np.asarray(state["nsch"], dtype=np.float64), 4.0)
    if name == "dep":
        return np.minimum(np.asarray(state["dep"], dtype=np.float64), 4.0)
    if name in ("he1", "he2", "he3"):
        return (np.asarray(state["he"]) == int(name[2])).astype(np.float64)
    if name in ("hi1", "hi2", "hi3"):
        return (np.asarray(state["hi"]) == int(name[2])).astype(np.float64)
    if name == "formal":
        job = np.asarray(state["job"])
        return ((job >= 1) & (job <= 3)).astype(np.float64)
    if name == "informal":
        return (np.asarray(state["job"]) >= 4).astype(np.float64)
    if name in ("s1", "s2", "s3"):
        job = np.asarray(state["job"])
        sector = int(name[1])
        return ((job == sector) | (job == sector + 3)).astype(np.float64)
    if name == "lpcf":
        return np.log(np.maximum(np.asarray(state["pcfloor"], dtype=np.float64), 1.0))
    return np.asarray(state[name], dtype=np.float64)


def design(state: State, names: Sequence[str]) -> Array:
    n = len(state["y"])
    if not names:
        return np.zeros((n, 0))
    return np.column_stack([feature(state, name) for name in names])


def sigmoid(x: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-x))


def linear_predictor(model: Mapping[str, Any], state: State) -> Array:
    x = design(state, model["features"])
    return np.asarray(model["intercept"]) + x @ np.asarray(model["coef"]).T


def draw_logit(model: Mapping[str, Any], state: State, u: Array) -> Array:
    """0/1 draw: 1 when u < P(1 | features)."""
    return (u < sigmoid(linear_predictor(model, state))).astype(np.int8)


def multinomial_probs(model: Mapping[str, Any], state: State, mask: Array | None = None) -> Array:
    eta = linear_predictor(model, state)
    if mask is not None:
        eta = np.where(mask, eta, -np.inf)
    eta = eta - eta.max(axis=1, keepdims=True)
    p = np.exp(eta)
    return p / p.sum(axis=1, keepdims=True)


def draw_categorical(p: Array, u: Array) -> Array:
    """Index of the category whose cumulative probability first exceeds u (rows of p sum to 1)."""
    cum = np.cumsum(p, axis=1)
    cum[:, -1] = 1.0 + 1e-12
    return (u[:, None] >= cum).sum(axis=1).astype(np.int16)


def draw_multinomial(model: Mapping[str, Any], state: State, u: Array, mask: Array | None = None) -> Array:
    return draw_categorical(multinomial_probs(model, state, mask), u)


def ordered_cdf(model: Mapping[str, Any], state: State) -> Array:
    """P(category <= j) for j = 0..J-2 of an ordered logit, shape (n, J-1)."""
    eta = design(state, model["features"]) @ np.asarray(model["coef"])
    return sigmoid(np.asarray(model["cutpoints"])[None, :] - eta[:, None])


def draw_ordered(model: Mapping[str, Any], state: State, u: Array) -> Array:
    return (u[:, None] >= ordered_cdf(model, state)).sum(axis=1).astype(np.int16)


def draw_linear(model: Mapping[str, Any], state: State, u: Array) -> Array:
    """Linear prediction plus a residual drawn from the fitted residual quantiles."""
    probs = np.asarray(model["resid_probs"])
    quants = np.asarray(model["resid_quantiles"])
    return linear_predictor(model, state) + np.interp(u, probs, quants)


def y_from_latent(y_model: Mapping[str, Any], z: Array) -> Array:
    """Log per-capita consumption from the standard-normal latent draw z: the fitted quantile function,
    interpolated in normal scores (so the tails stay Gaussian-like)."""
    return np.interp(z, np.asarray(y_model["z"]), np.asarray(y_model["quantiles"]))


@lru_cache(maxsize=4)
def _load(path: str | None) -> dict[str, Any]:
    if path is None:
        text = resources.files(PARAMS_PACKAGE).joinpath(PARAMS_FILE).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def params_load(path: str | Path | None = None) -> dict[str, Any]:
    """The shipped parameter file, or another one (e.g. a fresh fit) given by path."""
    return _load(None if path is None else str(path))
