"""Pairwise precision and recall of a linkage result against a synthetic population's known truth.

The truth comes from the synthetic generator's `faults.parquet` (dtsen.synth.faults): every duplicate record
names its original, so the true clusters are the original with its duplicates, and the true pairs are all
pairs within a true cluster. Predicted pairs are all pairs within a predicted cluster (what a merge would
join). Recall is also reported per fault variant (a duplicate may carry several: "name_typo|nik_digit").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

import pyarrow as pa


@dataclass
class Scores:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    per_variant: dict[str, tuple[int, int]] = field(default_factory=dict)  # variant -> (found, total)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def _pairs_of_clusters(members: dict[str, list[str]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for ids in members.values():
        for a, b in combinations(sorted(ids), 2):
            out.add((a, b))
    return out


def truth_clusters(faults: pa.Table) -> dict[str, list[str]]:
    """True clusters of duplicated persons: original person_code -> [original, duplicates...]."""
    dups = faults.filter(pa.compute.equal(faults["kind"], "duplicate"))
    clusters: dict[str, list[str]] = defaultdict(list)
    for original, duplicate in zip(
        dups["original_person_code"].to_pylist(), dups["person_code"].to_pylist(), strict=True
    ):
        if not clusters[original]:
            clusters[original].append(original)
        clusters[original].append(duplicate)
    return dict(clusters)


def pairwise_scores(clusters: pa.Table, faults: pa.Table) -> Scores:
    """Scores of predicted `clusters` (cluster_id, unique_id) against the truth in `faults`."""
    predicted: dict[str, list[str]] = defaultdict(list)
    for cid, uid in zip(clusters["cluster_id"].to_pylist(), clusters["unique_id"].to_pylist(), strict=True):
        predicted[str(cid)].append(uid)
    predicted = {k: v for k, v in predicted.items() if len(v) > 1}
    pred_pairs = _pairs_of_clusters(predicted)
    true_pairs = _pairs_of_clusters(truth_clusters(faults))
    dups = faults.filter(pa.compute.equal(faults["kind"], "duplicate"))
    per_variant: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for original, duplicate, variants in zip(
        dups["original_person_code"].to_pylist(), dups["person_code"].to_pylist(), dups["variants"].to_pylist(),
        strict=True,
    ):
        found = tuple(sorted((original, duplicate))) in pred_pairs
        for variant in (variants or "").split("|"):
            per_variant[variant][1] += 1
            per_variant[variant][0] += int(found)
    return Scores(
        true_pairs=len(true_pairs),
        predicted_pairs=len(pred_pairs),
        correct_pairs=len(pred_pairs & true_pairs),
        per_variant={k: (v[0], v[1]) for k, v in sorted(per_variant.items())},
    )
