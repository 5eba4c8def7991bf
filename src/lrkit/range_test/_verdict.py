"""``Verdict``: what lrkit's rule concluded about a sweep, as a value code can branch on."""

from __future__ import annotations

import enum

__all__ = ["Verdict"]


class Verdict(enum.Enum):
    """What lrkit's rule concluded about a range-test curve.

    The human-readable :attr:`RangeTestResult.reason` may be reworded at any time; code
    decides on the verdict. Three verdicts give a suggestion (:attr:`reliable`):

    - ``DESCENT``: a clear descent; the suggestion sits on its steepest stretch.
    - ``WEAK_DESCENT``: a weak descent; the descent's answer blended with the edge's.
    - ``EDGE_ONLY``: no clear descent within the sweep, but an edge (where the loss
      starts to rise); the suggestion is ``edge_margin`` decades below it.

    The others give none, and :attr:`shift` says which way a new sweep should move:

    - ``TOO_FEW_POINTS``: the sweep stopped (diverged) before enough points: lower.
    - ``ROSE_FROM_START``: the loss only rose, from near ``start_lr``: lower.
    - ``STEEP_AT_START``: the descent was already steep at ``start_lr``: lower.
    - ``FLAT``: the loss did not change beyond the noise: higher (or the model does
      not learn).
    - ``STEEP_AT_END``: the descent was still steep at ``end_lr``: higher.

    Example:
        >>> Verdict.STEEP_AT_START.shift, Verdict.FLAT.shift, Verdict.DESCENT.shift
        (-1, 1, 0)
        >>> Verdict("edge-only").reliable
        True
    """

    DESCENT = "descent"
    WEAK_DESCENT = "weak-descent"
    EDGE_ONLY = "edge-only"
    TOO_FEW_POINTS = "too-few-points"
    ROSE_FROM_START = "rose-from-start"
    STEEP_AT_START = "steep-at-start"
    FLAT = "flat"
    STEEP_AT_END = "steep-at-end"

    @property
    def reliable(self) -> bool:
        """Whether the rule gave a suggestion."""
        return self in _SUGGESTED

    @property
    def shift(self) -> int:
        """Where a new sweep should look: -1 lower LRs, +1 higher, 0 (a suggestion) neither."""
        return _SHIFT.get(self, 0)


_SUGGESTED = frozenset({Verdict.DESCENT, Verdict.WEAK_DESCENT, Verdict.EDGE_ONLY})
_SHIFT = {
    Verdict.TOO_FEW_POINTS: -1,
    Verdict.ROSE_FROM_START: -1,
    Verdict.STEEP_AT_START: -1,
    Verdict.FLAT: 1,
    Verdict.STEEP_AT_END: 1,
}
