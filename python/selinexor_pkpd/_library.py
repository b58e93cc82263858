"""The model library: drugs, platelet parameters and presets, with user overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from . import _core
from ._typing import FilePath, LibrarySource


class Library:
    """An immutable model library.

    The default library is embedded in the package (``data/*.toml`` in the repository). Override
    any part of it with your own file or dict: tables merge key by key, values are replaced.

    Parameters
    ----------
    native : selinexor_pkpd._core.Library, optional
        The native library; the embedded default when omitted.

    Examples
    --------
    >>> import selinexor_pkpd as sp
    >>> lib = sp.Library().override({"drugs": {"selinexor": {"params": {"CL": {"value": 20.0}}}}})
    >>> lib.drug("selinexor")["params"]["CL"]["value"]
    20.0
    """

    def __init__(self, native: _core.Library | None = None) -> None:
        self._native = native if native is not None else _core.Library.default()

    def override(self, source: FilePath | Mapping[str, Any]) -> "Library":
        """Return a new library with ``source`` deep-merged over this one.

        Parameters
        ----------
        source : path or dict
            A TOML or JSON file (partial library, same layout as the embedded files), or a dict.
        """
        from ._validate import check_finite_tree, read_text_file

        if isinstance(source, Mapping):
            check_finite_tree(source, "library")
            text = json.dumps(source)
        else:
            text = read_text_file(source)
        return Library(self._native.with_overrides(text))

    @property
    def drugs(self) -> list[str]:
        """Names of the available drugs."""
        return self._native.drug_names()

    @property
    def presets(self) -> list[str]:
        """Names of the regimen presets."""
        return self._native.preset_names()

    def drug(self, name: str) -> dict[str, Any]:
        """The definition of one drug (parameters with units and sources, IIV, covariates)."""
        return json.loads(self._native.drug_json(name))

    def to_dict(self) -> dict[str, Any]:
        """The whole library as a dict."""
        return json.loads(self._native.to_json())

    def to_file(self, path: FilePath) -> None:
        """Write the whole library as JSON (a valid override file)."""
        Path(path).write_text(self._native.to_json(), encoding="utf-8")

    def __repr__(self) -> str:
        return f"Library(drugs={self.drugs}, presets={len(self.presets)})"


_current = Library()


def get_library() -> Library:
    """The library used when a function is not given ``library=``."""
    return _current


def set_library(library: LibrarySource) -> Library:
    """Make ``library`` (a Library, or an override file/dict over the defaults) the current one."""
    global _current
    _current = library if isinstance(library, Library) else Library().override(library)
    return _current


def resolve_library(library: LibrarySource | None) -> Library:
    if library is None:
        return _current
    if isinstance(library, Library):
        return library
    return Library().override(library)


def default_files() -> dict[str, str]:
    """The embedded default files (name -> TOML text), as shipped."""
    return dict(_core.default_files())
