"""Domains (named labelled data sets), their preprocessing, and the target splits."""

from transferkit.data.builtin import DOMAINS, is_builtin, load_builtin
from transferkit.data.domain import Domain
from transferkit.data.files import load_file
from transferkit.data.text import TextDomain  # also registers the built-in text domains


def load_domain(spec: str, label_column: str = "label", text_column: str = "text") -> Domain | TextDomain:
    """A built-in domain name (``mnist5k``, ``fashion-mnist[0-4]``) or a path to user data."""
    from pathlib import Path

    looks_like_name = "/" not in spec and "\\" not in spec and not Path(spec).suffix
    if is_builtin(spec) or (looks_like_name and not Path(spec).exists()):
        return load_builtin(spec)  # unknown names get "unknown domain ..., use one of: ..."
    return load_file(spec, label_column, text_column)


def list_domains() -> list[tuple[str, str]]:
    return [(d.name, d.description) for d in DOMAINS.values()]


__all__ = ["Domain", "TextDomain", "load_domain", "list_domains"]
