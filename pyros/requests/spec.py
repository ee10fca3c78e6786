"""A parsed observation request: plain, validated, immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TargetSpec:
    """Where to point.

    Attributes:
        name: Target name.
        ra_deg: ICRS right ascension, degrees in [0, 360).
        dec_deg: ICRS declination, degrees in [-90, 90].
    """

    name: str
    ra_deg: float
    dec_deg: float


@dataclass(frozen=True)
class Window:
    """A time interval in which a sequence may run (UTC-aware datetimes, ``start < end``)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class ConstraintsSpec:
    """When a sequence may run.

    Attributes:
        windows: Allowed intervals (empty: any time at night).
        preferred: Preferred time, inside a window if windows are given.
        max_airmass: Largest airmass allowed (>= 1), or None.
        min_moon_distance_deg: Smallest Moon separation allowed, degrees, or None.
    """

    windows: tuple[Window, ...] = ()
    preferred: datetime | None = None
    max_airmass: float | None = None
    min_moon_distance_deg: float | None = None


@dataclass(frozen=True)
class PlanSpec:
    """A series of identical exposures.

    Attributes:
        filter: Filter name on the album's detector.
        exposure_s: Exposure time, seconds (0 only for bias frames).
        count: Number of images.
        binning: Binning factor (same on both axes).
        image_type: ``light``, ``dark``, ``flat`` or ``bias``.
        name: Optional label.
    """

    filter: str
    exposure_s: float
    count: int
    binning: int = 1
    image_type: str = "light"
    name: str | None = None

    @property
    def exposure_total_s(self) -> float:
        """Open-shutter time of the whole plan, seconds."""
        return self.exposure_s * self.count


@dataclass(frozen=True)
class AlbumSpec:
    """The plans of one detector.

    Attributes:
        detector: Detector (camera device) name, e.g. ``cam_vis``.
        plans: The plans, in order.
        name: Optional label.
        line: Line of its element in the document.
    """

    detector: str
    plans: tuple[PlanSpec, ...]
    name: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SequenceSpec:
    """One schedulable unit: a target, its constraints and what to take.

    Attributes:
        name: Unique within the request.
        target: Where to point.
        constraints: When it may run.
        albums: What to take, per detector.
    """

    name: str
    target: TargetSpec
    constraints: ConstraintsSpec
    albums: tuple[AlbumSpec, ...]

    @property
    def exposure_total_s(self) -> float:
        """Open-shutter time of every plan, seconds (detectors expose in turn)."""
        return sum(plan.exposure_total_s for album in self.albums for plan in album.plans)

    @property
    def image_count(self) -> int:
        """Images the sequence takes."""
        return sum(plan.count for album in self.albums for plan in album.plans)


@dataclass(frozen=True)
class RequestSpec:
    """A whole observation request.

    Attributes:
        name: Request name.
        program: Scientific program code.
        priority: Positive; larger is more important.
        sequences: The sequences, in document order.
        description: Free text.
        line: Line of the ``request`` element in the document.
    """

    name: str
    program: str
    priority: float
    sequences: tuple[SequenceSpec, ...]
    description: str = field(default="")
    line: int | None = field(default=None, compare=False)
