"""One registry style for everything picked by name: writers, editors, sources, distributors,
benchmarks (STYLE 5: a registry, not an if/elif chain).

    WRITERS: Registry[type[ShardWriter]] = Registry("format")

    @WRITERS.register("parquet")
    class ParquetWriter: ...

    WRITERS.get("parquet")   # -> ParquetWriter
    WRITERS.get("csv")       # UnknownName: 'csv': unknown format; valid: parquet, webdataset

An entry whose code is heavy (diffusers, a benchmark loader) can live in its own module and
register itself there; the registry names that module in `lazy` and imports it on the first
`get` of the name, so listing names or picking another entry never imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownName(KeyError, ValueError):
    """A name no entry is registered under. A `KeyError` and a `ValueError`, so callers that
    catch either keep working; its text is the one-line message, without KeyError's quotes."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Named entries of one kind.

    Args:
        kind: what an entry is, for messages ("editor", "benchmark", "format", "source").
        lazy: name -> module that registers that name when imported (heavy entries).
        hint: appended to the unknown-name message (e.g. how to add an entry).
        identity: what makes two entries the same one (default: the qualified name), so a
            module imported twice may register again while a clash of names is an error.
        option: the command-line option or field the name comes from ("--benchmark"), named
            in the unknown-name message.
    """

    def __init__(
        self,
        kind: str,
        lazy: Mapping[str, str] | None = None,
        hint: str = "",
        identity: Callable[[T], str] | None = None,
        option: str = "",
    ) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = dict(lazy or {})
        self._hint = hint
        self._identity = identity or qualified_name
        self._option = option

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated class or function as `name`; returns it unchanged.

        Raises:
            ValueError: `name` is already taken by a different object (re-importing the same
                module, which re-registers the same qualified name, is allowed).
        """

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        """Register `obj` as `name` (the non-decorator form of `register`)."""
        existing = self._entries.get(name)
        if existing is not None and self._identity(existing) != self._identity(obj):
            raise ValueError(
                f"{self.kind} {name!r} is already registered by {self._identity(existing)}"
            )
        self._entries[name] = obj

    def get(self, name: str) -> T:
        """The entry registered as `name`, importing its module first when it is lazy.

        Raises:
            UnknownName: no such entry; the one-line message lists the valid names.
        """
        if name not in self._entries and name in self._lazy:
            importlib.import_module(self._lazy[name])
        try:
            return self._entries[name]
        except KeyError:
            where = f"{self._option} {name}" if self._option else repr(name)
            message = f"{where}: unknown {self.kind}; valid: {', '.join(self.names())}"
            raise UnknownName(f"{message}. {self._hint}" if self._hint else message) from None

    def names(self) -> list[str]:
        """Sorted names of all entries, lazy ones included (nothing is imported)."""
        return sorted(set(self._entries) | set(self._lazy))

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={self.names()})"


def qualified_name(obj: object) -> str:
    """`module.QualName` of a class or function (how a registry tells entries apart)."""
    module = getattr(obj, "__module__", "?")
    return f"{module}.{getattr(obj, '__qualname__', repr(obj))}"
