"""The mapped entities of PyROS, one concept per module.

Importing this package registers every table on :data:`pyros.db.base.Base.metadata`.
"""

from pyros.db.models.albums import Album, Plan
from pyros.db.models.alerts import ALERT_ROLES, Alert
from pyros.db.models.audit import AuditEntry
from pyros.db.models.constraints import ObservingConstraints, TimeWindow
from pyros.db.models.countries import Country
from pyros.db.models.devices import DEVICE_KINDS, Device
from pyros.db.models.history import ENVIRONMENT_SCOPES, EnvironmentSample
from pyros.db.models.images import Image
from pyros.db.models.programs import ScientificProgram
from pyros.db.models.quotas import SECONDS_PER_HOUR, Quota, QuotaCharge
from pyros.db.models.requests import ObservationRequest, ObservationSequence
from pyros.db.models.schedules import SCHEDULE_TRIGGERS, Schedule, ScheduleEntry, ScheduleUnplaced
from pyros.db.models.targets import Target
from pyros.db.models.users import ROLES, User

__all__ = [
    "ALERT_ROLES",
    "DEVICE_KINDS",
    "ENVIRONMENT_SCOPES",
    "ROLES",
    "SCHEDULE_TRIGGERS",
    "SECONDS_PER_HOUR",
    "Album",
    "Alert",
    "AuditEntry",
    "Country",
    "Device",
    "EnvironmentSample",
    "Image",
    "ObservationRequest",
    "ObservationSequence",
    "ObservingConstraints",
    "Plan",
    "Quota",
    "QuotaCharge",
    "Schedule",
    "ScheduleEntry",
    "ScheduleUnplaced",
    "ScientificProgram",
    "Target",
    "TimeWindow",
    "User",
]
