"""CLI sub-commands, one module each: ``add_parser(subparsers)`` and ``execute(args) -> int``.

Adding a command means adding one file here; ``transferkit.cli`` discovers them.
"""
