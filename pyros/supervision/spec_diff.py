"""What a configuration reload changes among a host's supervised processes.

:func:`diff_specs` compares the processes a supervisor runs with those a fresh
read of the configuration asks for, by name: a name only in the new list is
*added*, a name only in the old one is *removed*, and a name in both whose
command line, environment or working directory differs is *changed* (its
process must be restarted to pick up the new spec). Everything else is left
alone. The function is pure: the supervisor applies the result.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from pyros.supervision.process_group import ChildSpec


class SpecDiff(NamedTuple):
    """The difference between two lists of child specs.

    Attributes:
        added: New specs whose name was not in the old list, in new-list order.
        removed: Old specs whose name is not in the new list, in old-list order.
        changed: New specs whose name was in the old list with another command
            line, environment or working directory, in new-list order.
    """

    added: tuple[ChildSpec, ...]
    removed: tuple[ChildSpec, ...]
    changed: tuple[ChildSpec, ...]


def same_process(old: ChildSpec, new: ChildSpec) -> bool:
    """True if two specs run the same process: same argv, environment and working directory."""
    return list(old.argv) == list(new.argv) and dict(old.env) == dict(new.env) and old.cwd == new.cwd


def _by_name(specs: Sequence[ChildSpec], which: str) -> dict[str, ChildSpec]:
    by_name = {spec.name: spec for spec in specs}
    if len(by_name) != len(specs):
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"duplicate child names in the {which} specs: {', '.join(duplicates)}")
    return by_name


def diff_specs(old: Sequence[ChildSpec], new: Sequence[ChildSpec]) -> SpecDiff:
    """Compare the running specs with the wanted ones, by name.

    Args:
        old: The specs of the processes supervised now.
        new: The specs the configuration asks for now.

    Returns:
        The added, removed and changed specs; names in both lists with the same
        process (:func:`same_process`) are in none of them.

    Raises:
        ValueError: If a name appears twice in ``old`` or in ``new``.
    """
    old_by_name = _by_name(old, "old")
    new_by_name = _by_name(new, "new")
    added = tuple(spec for name, spec in new_by_name.items() if name not in old_by_name)
    removed = tuple(spec for name, spec in old_by_name.items() if name not in new_by_name)
    changed = tuple(spec for name, spec in new_by_name.items()
                    if name in old_by_name and not same_process(old_by_name[name], spec))
    return SpecDiff(added, removed, changed)
