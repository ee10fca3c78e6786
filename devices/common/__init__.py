"""What every device server shares: the control lease, the base class of device services, live state, faults."""

from devices.common.control_lease import MAJORDOME, ControlLease, LeaseStatus
from devices.common.device_service import DeviceService, is_motion, motion
from devices.common.device_state import DeviceState
from devices.common.faults import DeviceDisconnected, DeviceFault, DeviceSilent, Faults

__all__ = ["MAJORDOME", "ControlLease", "DeviceDisconnected", "DeviceFault", "DeviceService", "DeviceSilent",
           "DeviceState", "Faults", "LeaseStatus", "is_motion", "motion"]
