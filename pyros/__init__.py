"""PyROS: robotic observatory control over ZeroMQ Majordomo microservices."""

from __future__ import annotations

__version__ = "0.1.0"
