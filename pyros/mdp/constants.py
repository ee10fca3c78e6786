"""Protocol headers and command bytes of 7/MDP v0.1 and 18/MDP v0.2."""

from __future__ import annotations

from typing import Final

C_CLIENT_V1: Final = b"MDPC01"
"""7/MDP client header."""
W_WORKER_V1: Final = b"MDPW01"
"""7/MDP worker header."""
C_CLIENT_V2: Final = b"MDPC02"
"""18/MDP client header."""
W_WORKER_V2: Final = b"MDPW02"
"""18/MDP worker header."""

# 7/MDP v0.1 worker commands.
V1_READY: Final = b"\x01"
V1_REQUEST: Final = b"\x02"
V1_REPLY: Final = b"\x03"
V1_HEARTBEAT: Final = b"\x04"
V1_DISCONNECT: Final = b"\x05"

# 18/MDP v0.2 worker commands.
V2_READY: Final = b"\x01"
V2_REQUEST: Final = b"\x02"
V2_PARTIAL: Final = b"\x03"
V2_FINAL: Final = b"\x04"
V2_HEARTBEAT: Final = b"\x05"
V2_DISCONNECT: Final = b"\x06"

# 18/MDP v0.2 client commands.
C2_REQUEST: Final = b"\x01"
C2_PARTIAL: Final = b"\x02"
C2_FINAL: Final = b"\x03"

MMI_PREFIX: Final = b"mmi."
"""Service names reserved for the broker (8/MMI)."""

MMI_FOUND: Final = b"200"
MMI_NOT_FOUND: Final = b"404"
MMI_NOT_IMPLEMENTED: Final = b"501"

DEFAULT_HEARTBEAT_INTERVAL: Final = 2.5
"""Seconds between heartbeats, identical for every peer."""
DEFAULT_HEARTBEAT_LIVENESS: Final = 3
"""Heartbeat intervals without traffic after which a peer is deemed dead."""
