"""Evaluation benchmarks: which dataset and split, which protocol, whether ground truth is public."""

from __future__ import annotations

from dataclasses import dataclass

from edgetrack.registry import Registry


@dataclass(frozen=True)
class Benchmark:
    name: str
    dataset: str  # reader name in edgetrack.data.datasets, or 'synthetic'
    split: str | None
    protocol: str  # edgetrack.eval.metrics protocol
    public_gt: bool = True  # False: results go to the benchmark's server (a submission file is written)
    submission: str | None = None  # 'got10k' or 'trackingnet'
    per_root: bool = False  # True: the data root is what defines the sequences, so results are kept per root


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")
for _b in (
    Benchmark("synthetic-test", "synthetic", "synthetic-test", "lasot"),
    Benchmark("lasot", "lasot", "test", "lasot"),
    Benchmark("lasot_ext", "lasot_ext", None, "lasot"),
    Benchmark("got10k_val", "got10k", "val", "got10k"),
    Benchmark("got10k_test", "got10k", "test", "got10k", public_gt=False, submission="got10k"),
    Benchmark("trackingnet", "trackingnet", "test", "lasot", public_gt=False, submission="trackingnet"),
    Benchmark("tnl2k", "tnl2k", "test", "lasot"),
    Benchmark("uav123", "uav123", None, "lasot"),
    Benchmark("otb100", "otb100", None, "lasot"),
    Benchmark("folder", "folder", None, "lasot", per_root=True),
):
    BENCHMARKS.add(_b.name, _b)
