"""``transferkit list``: domains, shared-layer architectures, methods, one line each."""

from __future__ import annotations


def add_parser(sub) -> None:
    sub.add_parser("list", help="built-in domains, shared-layer architectures, methods",
                   description="List the built-in domains (and whether their package is installed), the "
                               "shared-layer architectures and the methods, one line each.")  # fmt: skip


def execute(args) -> int:
    from transferkit.data import list_domains
    from transferkit.methods import list_methods
    from transferkit.models import list_architectures

    for title, items in (("domains", list_domains()), ("shared-layer architectures", list_architectures()),
                         ("methods", list_methods())):  # fmt: skip
        print(f"{title}:")
        width = max(len(n) for n, _ in items)
        for name, desc in items:
            print(f"  {name.ljust(width)}  {desc}")
    return 0
