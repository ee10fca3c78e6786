"""What every device server shares: the control lease and the base class of device services."""

from devices.common.control_lease import MAJORDOME, ControlLease, LeaseStatus
from devices.common.device_service import DeviceService, is_motion, motion

__all__ = ["MAJORDOME", "ControlLease", "DeviceService", "LeaseStatus", "is_motion", "motion"]
