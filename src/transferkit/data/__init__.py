"""Domains (named labelled data sets), their preprocessing, and the target splits."""

import os
import re
import warnings

from transferkit.data.builtin import DOMAINS, is_builtin, load_builtin, parse_class_spec
from transferkit.data.domain import Domain
from transferkit.data.files import load_file
from transferkit.data.text import TextDomain  # also registers the built-in text domains
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel


def load_domain(spec: str | os.PathLike, label_column: str = "label", text_column: str = "text",
                id_column: str | None = None, only_columns: list[str] | None = None) -> Domain | TextDomain:  # fmt: skip
    """A built-in domain name (``mnist5k``, ``fashion-mnist[0-4]``) or a path to user data
    (``id_column``: a CSV column of row names, never a feature; ``only_columns``: a CSV's feature
    columns to read, the source's, when the file holds all of them: the others are left out unread).
    Its warnings (images resized, columns left out...) point at the caller's line, not the reader's."""
    said: list = []
    try:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", TransferkitWarning)  # others go through the filters as they were
            return _load_domain(spec, label_column, text_column, id_column, only_columns)
    finally:  # (said once the recording is over, also when the data is refused)
        level = user_stacklevel()
        for w in said:
            if issubclass(w.category, TransferkitWarning):
                warnings.warn(w.message, w.category, stacklevel=level)
            else:  # a library's warning: at its own place, where a user's filters expect it
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _load_domain(spec, label_column: str, text_column: str, id_column: str | None,
                 only_columns: list[str] | None) -> Domain | TextDomain:  # fmt: skip
    from pathlib import Path

    spec = os.fspath(spec)  # a Path is a path, as a string of it is
    bracket = re.fullmatch(r"(?P<path>.+)\[(?P<spec>[^\]]*)\]", spec)
    if bracket and not is_builtin(spec) and not Path(spec).exists() and Path(bracket["path"]).exists():
        listed = ", ".join(map(str, parse_class_spec(bracket["spec"], spec)))
        raise TransferkitError(
            f"{spec!r}: a class subset in brackets works for built-in domains only, not for a file or folder.",
            f"give data: {bracket['path']} and classes: [{listed}] (names or positions; docs/config.md); for "
            f"rank's target: {bracket['path']} --classes {bracket['spec']} (a --source is read whole).",
        )
    looks_like_name = "/" not in spec and "\\" not in spec and not Path(spec).suffix
    if is_builtin(spec) and Path(spec).exists():
        builtin_shadows(spec, Path(spec))
    if (is_builtin(spec) or (looks_like_name and not Path(spec).exists())) and id_column is not None:
        raise TransferkitError(f"id_column {id_column!r} names a CSV column, and {spec!r} is a built-in domain.",
                               "leave id_column out.")  # fmt: skip
    if is_builtin(spec) or (looks_like_name and not Path(spec).exists()):
        return load_builtin(spec)  # unknown names get "unknown domain ..., use one of: ..."
    return load_file(spec, label_column, text_column, id_column, only_columns)


def builtin_shadows(name: str, path) -> None:
    """Warns that ``name``, a built-in domain's, is read as the built-in although ``path`` (a file or
    folder of the same name) exists: a user's folder called ``optdigits`` was silently not read."""
    import warnings
    from pathlib import Path

    from transferkit.errors import TransferkitWarning

    kind = "folder" if Path(path).is_dir() else "file"
    warnings.warn(f"{name!r} is the name of a built-in domain, and the built-in is what is read, not the {kind} "
                  f"{path} of the same name; write ./{name} (or its full path) to read the {kind}.",
                  TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip


def list_domains() -> list[tuple[str, str]]:
    """(name, description) of each built-in domain; the description says how to install a missing one."""
    out = []
    for d in DOMAINS.values():
        missing = d.missing()
        out.append((d.name, d.description + (f" [not installed: {missing}]" if missing else "")))
    return out


__all__ = ["Domain", "TextDomain", "load_domain", "list_domains"]
