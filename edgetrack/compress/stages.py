"""Stage division: which consecutive teacher blocks one student block replaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from edgetrack.errors import ConfigError


@dataclass(frozen=True)
class StagePlan:
    """Split `teacher_depth` blocks into `student_depth` consecutive stages.

    Without `sizes`, stages are as even as possible and the earlier stages take the remainder
    (12 -> 8 gives sizes 2,2,2,2,1,1,1,1); CompressTracker reports uneven splits work as well as even ones.
    """

    teacher_depth: int
    student_depth: int
    sizes: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 1 <= self.student_depth <= self.teacher_depth:
            raise ConfigError(f"a student needs 1..{self.teacher_depth} blocks for a {self.teacher_depth}-block "
                              f"teacher, not {self.student_depth}")
        if not self.sizes:
            base, extra = divmod(self.teacher_depth, self.student_depth)
            object.__setattr__(self, "sizes", tuple(base + (i < extra) for i in range(self.student_depth)))
        sizes = tuple(self.sizes)
        if len(sizes) != self.student_depth or sum(sizes) != self.teacher_depth or min(sizes) < 1:
            raise ConfigError(f"stage sizes {list(sizes)} must be {self.student_depth} positive numbers summing to "
                              f"{self.teacher_depth}")
        object.__setattr__(self, "sizes", sizes)

    @classmethod
    def from_sizes(cls, sizes: Sequence[int]) -> StagePlan:
        return cls(sum(sizes), len(sizes), tuple(sizes))

    @property
    def stages(self) -> list[range]:
        """Teacher block indices of each stage."""
        out, start = [], 0
        for size in self.sizes:
            out.append(range(start, start + size))
            start += size
        return out

    @property
    def last_blocks(self) -> list[int]:
        return [s[-1] for s in self.stages]

    @property
    def first_blocks(self) -> list[int]:
        return [s[0] for s in self.stages]

    def __len__(self) -> int:
        return self.student_depth
