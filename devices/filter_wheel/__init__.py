"""The filter wheel: its interface, its drivers (``sim``; ``indi`` to come) and its device service."""
