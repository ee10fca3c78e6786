"""docs/device-commands.md is what the device services describe (regenerate with python -m devices.reference --write)."""

from __future__ import annotations

from devices.reference import DOC, render


def test_the_reference_in_the_repository_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), \
        "docs/device-commands.md is stale: run `.venv/bin/python -m devices.reference --write`"


def test_motion_commands_are_marked() -> None:
    text = render()
    assert "| `open` | operation, motion | operator |" in text and "| `close` | operation | operator |" in text
    assert "`azimuth`: float deg, 0..360" in text
