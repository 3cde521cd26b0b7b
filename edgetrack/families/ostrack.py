"""The one-stream family: OSTrack (and its CompressTracker students) and VitTrack, which shares the layout and
differs only in configuration (stem, head, processing constants: `models.presets`)."""

from __future__ import annotations

from edgetrack.families import FAMILIES, Family

for _name in ("ostrack", "vittrack"):
    FAMILIES.add(_name, Family(
        name=_name,
        model_class="edgetrack.models.tracker:TrackerModel",
        compression="edgetrack.compress.task:make_compression",
        tracker="edgetrack.runtime.tracker:Tracker.from_model",
    ))
