"""Replacement-training compression: stage plans, students, schedules, losses."""

from edgetrack.compress.stages import StagePlan
from edgetrack.compress.student import make_student

__all__ = ["StagePlan", "make_student"]
