"""The device command reference (``docs/device-commands.md``), generated from the services' ``describe``.

``python -m devices.reference`` prints it; ``--write`` updates the file. A test
checks that the file in the repository is what the code describes, so the
reference never drifts from the commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from devices.common.device_service import is_motion
from pyros.service import Service, ServiceRuntime

DOC = Path(__file__).resolve().parent.parent / "docs" / "device-commands.md"


def _device_services() -> list[Service]:
    from devices.camera.service import CameraService
    from devices.dome.service import DomeService
    from devices.filter_wheel.service import FilterWheelService
    from devices.plc.service import PlcService
    from devices.telescope.service import TelescopeService

    return [PlcService(), DomeService(), TelescopeService(), FilterWheelService(), CameraService(archive="var/images")]


def _param(p: dict[str, Any]) -> str:
    limits = ""
    if p.get("minimum") is not None or p.get("maximum") is not None:
        low = "" if p.get("minimum") is None else f"{p['minimum']:g}"
        high = "" if p.get("maximum") is None else f"{p['maximum']:g}"
        limits = f", {low}..{high}"
    unit = f" {p['unit']}" if p.get("unit") else ""
    default = "" if p["required"] else f" = `{p['default']!r}`"
    return f"`{p['name']}`: {p['type']}{unit}{limits}{default}" + (f": {p['doc']}" if p.get("doc") else "")


def render(services: list[Service] | None = None) -> str:
    """The reference as Markdown."""
    lines = ["# Device command reference", "",
             "Generated from the device services' `describe` by `python -m devices.reference --write`; do not edit.",
             "Every service also has the built-in commands `ping`, `describe`, `status`, `wait`, `abort` and",
             "`sessions`, and the lease commands of [devices.md](devices.md).", ""]
    for service in services if services is not None else _device_services():
        runtime = ServiceRuntime(service)
        try:
            described = runtime.describe()
            specs = {name: runtime.command_spec(name) for name in described["commands"]}
        finally:
            runtime.close()
        lines += [f"## `{described['service']}` ({type(service).__name__} {described['version']})", "",
                  described["doc"], "", "| command | kind | level | what it does | parameters |", "|---|---|---|---|---|"]
        for name, command in sorted(described["commands"].items()):
            spec = specs[name]
            if command["builtin"] or name in ("acquire_control", "release_control", "break_control", "control"):
                continue
            kind = "operation" if command["long"] else "command"
            if spec is not None and is_motion(spec):
                kind += ", motion"
            params = "<br>".join(_param(p) for p in command["params"]) or "—"
            summary = command["doc"].splitlines()[0] if command["doc"] else ""
            lines.append(f"| `{name}` | {kind} | {command['level']} | {summary} | {params} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the reference, or write it with ``--write``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DOC}")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        DOC.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
