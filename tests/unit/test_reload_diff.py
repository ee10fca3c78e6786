"""Unit tests of :func:`pyros.supervision.spec_diff.diff_specs`, the pure part of ``pyros reload``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyros.supervision.process_group import ChildSpec
from pyros.supervision.spec_diff import SpecDiff, diff_specs, same_process


def spec(name: str, *argv: str, **env: str) -> ChildSpec:
    return ChildSpec(name, ["python", "-m", "pyros", *argv], env=env)


def names(specs: tuple[ChildSpec, ...]) -> list[str]:
    return [s.name for s in specs]


def test_identical_lists_give_an_empty_diff() -> None:
    running = [spec("broker", "broker"), spec("echo", "serve", "servers.echo:EchoService")]
    assert diff_specs(running, list(running)) == SpecDiff((), (), ())


def test_added_removed_and_changed_are_told_apart_and_the_rest_left_alone() -> None:
    old = [spec("broker", "broker"), spec("kv", "kv"), spec("echo", "serve", "x:Echo", "--instance", "a")]
    new = [spec("broker", "broker"), spec("echo", "serve", "x:Echo", "--instance", "b"), spec("titanic", "titanic")]
    added, removed, changed = diff_specs(old, new)
    assert names(added) == ["titanic"]
    assert names(removed) == ["kv"]
    assert names(changed) == ["echo"] and list(changed[0].argv)[-1] == "b"  # the new spec, to run


def test_the_same_argv_as_a_list_or_a_tuple_is_no_change() -> None:
    assert diff_specs([ChildSpec("a", ["x", "y"])], [ChildSpec("a", ("x", "y"))]) == SpecDiff((), (), ())


def test_an_environment_or_working_directory_change_is_a_change() -> None:
    assert names(diff_specs([spec("a", "kv")], [spec("a", "kv", PYROS_X="1")]).changed) == ["a"]
    assert names(diff_specs([ChildSpec("a", ["x"])], [ChildSpec("a", ["x"], cwd="/tmp")]).changed) == ["a"]
    assert not same_process(ChildSpec("a", ["x"]), ChildSpec("a", ["x", "--verbose"]))


def test_order_follows_each_list() -> None:
    old = [spec("z"), spec("y"), spec("keep")]
    new = [spec("keep"), spec("b"), spec("a")]
    added, removed, _ = diff_specs(old, new)
    assert names(added) == ["b", "a"] and names(removed) == ["z", "y"]


def test_duplicate_names_are_refused_naming_them() -> None:
    with pytest.raises(ValueError, match="new specs: echo"):
        diff_specs([spec("echo")], [spec("echo"), spec("echo", "x")])
    with pytest.raises(ValueError, match="old specs: a"):
        diff_specs([spec("a"), spec("a")], [])


def test_from_or_to_nothing() -> None:
    some = [spec("a"), spec("b")]
    assert names(diff_specs([], some).added) == ["a", "b"]
    assert names(diff_specs(some, []).removed) == ["a", "b"]


SPEC_LISTS = st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(["broker", "kv", "titanic"]),
                             max_size=8).map(lambda table: [spec(name, arg) for name, arg in table.items()])


@given(SPEC_LISTS, SPEC_LISTS)
def test_every_name_lands_in_exactly_one_place(old: list[ChildSpec], new: list[ChildSpec]) -> None:
    added, removed, changed = diff_specs(old, new)
    old_names, new_names = {s.name for s in old}, {s.name for s in new}
    unchanged = {s.name for s in new if s.name in old_names} - set(names(changed))
    assert set(names(added)) == new_names - old_names
    assert set(names(removed)) == old_names - new_names
    assert set(names(changed)) | unchanged == old_names & new_names
    assert not set(names(changed)) & unchanged
    new_by_name = {s.name: s for s in new}
    assert all(new_by_name[s.name] is s for s in (*added, *changed))  # new specs: what to run
    old_by_name = {s.name: s for s in old}
    assert all(same_process(old_by_name[n], new_by_name[n]) for n in unchanged)
