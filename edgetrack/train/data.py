"""The training sources of a stage, with unlabeled clips pseudo-labelled once (by rank 0) before training."""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from typing import Any

from edgetrack.data.pseudo_labels import Labeler
from edgetrack.data.sequence import Sequence
from edgetrack.data.sources import is_unlabeled, labels_fingerprint, training_sources
from edgetrack.train.distributed import DistInfo, barrier


def needs_labeler(data: Any) -> bool:
    """Whether the data config names unlabeled clips and no labeler of its own."""
    return not getattr(data, "labeler", None) and any(is_unlabeled(n) for n in getattr(data, "datasets", ()))


def stage_sources(data: Any, labeler: Labeler | None, dist: DistInfo
                  ) -> tuple[list[SequenceABC[Sequence]], dict[str, Any]]:
    """The sources, and the run-key entries of their pseudo-labels (none without unlabeled clips).

    Rank 0 labels first so that the other ranks find every clip in the cache.
    """
    from edgetrack.console import err

    sources: list[SequenceABC[Sequence]] = []
    if dist.is_main:
        sources = training_sources(data, labeler, progress=lambda message: err.print(message))
    barrier(dist)
    if not dist.is_main:
        sources = training_sources(data, labeler)
    keys = labels_fingerprint(sources)
    return sources, ({"pseudo_labels": keys} if keys else {})
