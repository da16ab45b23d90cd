"""One registry style (ahnpl/registry.py)."""

from __future__ import annotations

import sys

import pytest

from ahnpl.registry import Registry, UnknownName


def test_register_get_names():
    things: Registry[type] = Registry("writer")

    @things.register("b")
    class B: ...

    things.add("a", int)
    assert things.get("b") is B and things.get("a") is int
    assert things.names() == ["a", "b"] and "a" in things and list(things) == ["a", "b"]


def test_unknown_name_is_one_line_listing_the_valid_names():
    things: Registry[type] = Registry("format", hint="Register one with @WRITERS.register.")
    things.add("parquet", int)
    things.add("webdataset", str)
    with pytest.raises(UnknownName) as e:
        things.get("csv")
    assert str(e.value) == (
        "'csv': unknown format; valid: parquet, webdataset. Register one with @WRITERS.register."
    )
    assert isinstance(e.value, KeyError) and isinstance(e.value, ValueError)
    named = Registry("format", option="output.format")
    with pytest.raises(UnknownName, match=r"^output\.format csv: unknown format; valid: $"):
        named.get("csv")


def test_a_name_cannot_be_taken_twice():
    things: Registry[type] = Registry("editor")
    things.add("x", int)
    things.add("x", int)  # the same object again (a module imported twice) is fine
    with pytest.raises(ValueError, match="'x' is already registered by builtins.int"):
        things.add("x", str)


def test_lazy_entries_import_their_module_on_first_get(tmp_path, monkeypatch):
    (tmp_path / "heavy_entry_mod.py").write_text(
        "from tests_registry_target import THINGS\n@THINGS.register('heavy')\nclass Heavy: ...\n"
    )
    things: Registry[type] = Registry("editor", lazy={"heavy": "heavy_entry_mod"})
    target = type(sys)("tests_registry_target")
    target.THINGS = things
    monkeypatch.setitem(sys.modules, "tests_registry_target", target)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert things.names() == ["heavy"]
    assert "heavy_entry_mod" not in sys.modules
    assert things.get("heavy").__name__ == "Heavy"
    monkeypatch.delitem(sys.modules, "heavy_entry_mod")
