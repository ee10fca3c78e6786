"""The telescope mount: its interface, its drivers (``sim``; ``indi`` to come) and its device service."""
