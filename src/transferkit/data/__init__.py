"""Domains (named labelled data sets), their preprocessing, and the target splits."""

from transferkit.data.builtin import DOMAINS, is_builtin, load_builtin
from transferkit.data.domain import Domain
from transferkit.data.files import load_file


def load_domain(spec: str, label_column: str = "label") -> Domain:
    """A built-in domain name (``mnist5k``, ``fashion-mnist[0-4]``) or a path to user data."""
    if is_builtin(spec):
        return load_builtin(spec)
    return load_file(spec, label_column)


def list_domains() -> list[tuple[str, str]]:
    return [(d.name, d.description) for d in DOMAINS.values()]


__all__ = ["Domain", "load_domain", "list_domains"]
