"""``transferkit``: a thin CLI over the Python API. Sub-commands live in ``commands/``.

Bad input prints one line on stderr (problem and fix) and exits with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import signal
import sys
import warnings

from transferkit import commands
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel


def _commands() -> dict:
    mods = {}
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            mods[info.name] = importlib.import_module(f"transferkit.commands.{info.name}")
    return mods


class _OneLineParser(argparse.ArgumentParser):
    """argparse's errors in the tool's own form: one line, the problem and where help is, exit 2
    (argparse prints the usage first, two lines or more)."""

    def error(self, message: str):
        where = "" if self.prog == "transferkit" else f"{self.prog}: "  # (not "transferkit: error: transferkit: ...")
        self.exit(2, f"transferkit: error: {where}{message}. Fix: see `{self.prog} --help`.\n")


def _unknown(parser: argparse.ArgumentParser, command: str | None, extra: list[str], argv: list[str]) -> None:
    """Arguments no parser took: named with the command they were given to (the top level's when
    they come before the command), and its nearest option."""
    import difflib

    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    before = command in argv and extra[0] in argv and argv.index(extra[0]) < argv.index(command)
    cmd = sub.choices.get(command) if sub is not None and command and not before else None
    prog = cmd.prog if cmd is not None else parser.prog
    options = sorted(o for a in (cmd or parser)._actions for o in a.option_strings if o.startswith("--"))
    flag = next((e.split("=")[0] for e in extra if e.startswith("--")), None)
    close = difflib.get_close_matches(flag, options, n=1, cutoff=0.6) if flag else []
    hint = f" (did you mean {close[0]}?)" if close else ""
    pairs = [e for e in extra if "=" in e and not e.startswith("-")]
    fix = f"see `{prog} --help`"
    if pairs and not flag and "--set" in options:  # `--set a=1 b=2`: argparse's --set takes one value
        fix = f"give each override its own --set: `{' '.join(f'--set {e}' for e in pairs)}`"
    where = "" if prog == "transferkit" else f"{prog}: "
    parser.exit(2, f"transferkit: error: {where}unrecognized arguments: {' '.join(extra)}{hint}. Fix: {fix}.\n")  # fmt: skip


def _option_before_command(parser: argparse.ArgumentParser, sub, argv: list[str]) -> None:
    """`transferkit --set seeds=1 run x.yaml`: argparse read 'seeds=1' as the command ("invalid
    choice"); an option of the command given before it is said to go after it."""
    at = next((i for i, a in enumerate(argv) if a in sub.choices), None)
    if at is None:
        return
    own = sub.choices[argv[at]]
    top = {o for a in parser._actions for o in a.option_strings}
    mine = {o for a in own._actions for o in a.option_strings}
    flag = next((a.split("=")[0] for a in argv[:at] if a.startswith("-") and a.split("=")[0] in mine - top), None)
    if flag is not None:
        parser.exit(2, f"transferkit: error: {flag} is an option of `{own.prog}`, given before the command. "
                       f"Fix: give it after the command: `{own.prog} {flag} ...`.\n")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before the command's own handling: while its modules (torch) load
        print("transferkit: interrupted; nothing was written.", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = _OneLineParser(prog="transferkit", description="Transfer learning, measured against training from scratch.")
    parser.add_argument("--threads", type=int, default=None, metavar="N", dest="threads_first",
                        help="as the commands' --threads: `transferkit --threads 1 list` is `transferkit list --threads 1`")  # fmt: skip
    from transferkit import __version__

    parser.add_argument("--version", action="version", version=f"transferkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    mods = _commands()
    for mod in mods.values():
        mod.add_parser(sub)
    for command in sub.choices.values():
        command.add_argument("--threads", type=int, default=None, metavar="N",
                             help="CPU threads for torch, numpy and scikit-learn (default: all cores; 1-2 on a shared "
                                  "machine)")  # fmt: skip
    _option_before_command(parser, sub, list(sys.argv[1:] if argv is None else argv))
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unknown(parser, getattr(args, "command", None), extra, list(sys.argv[1:] if argv is None else argv))
    previous = _stop_on_sigterm()
    shown = warnings.showwarning
    warnings.showwarning = _one_line(shown)
    stderr = sys.stderr
    sys.stderr = _Unbroken(stderr)  # progress and warnings to a closed pipe: dropped, the work goes on
    limits = None
    try:
        limits = _set_threads(args.threads if args.threads is not None else args.threads_first)
        return mods[args.command].execute(args)
    except TransferkitError as e:
        print(f"transferkit: error: {_one_line_text(e)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `transferkit predict ... | head`: the reader has all it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except (KeyboardInterrupt, Terminated) as e:
        kept = ("; any runs it finished are kept in the cache, and the same command resumes from them"
                if args.command in ("run", "demo") else "")  # fmt: skip
        print(f"transferkit: interrupted; nothing was written for the unfinished `{args.command}`{kept}.",
              file=sys.stderr)  # fmt: skip
        return 143 if isinstance(e, Terminated) else 130
    except Exception as e:  # noqa: BLE001  (only a full disk is taken here; anything else goes on up)
        full = _disk_full(e)
        if full is None:
            raise
        print(f"transferkit: error: no space left on the device ({full}). Fix: free some space, or write elsewhere "
              "(--out; $TRANSFERKIT_CACHE for the caches).", file=sys.stderr)
        return 2
    finally:
        sys.stderr = stderr
        warnings.showwarning = shown
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if limits is not None:  # the caller's BLAS and OpenMP threads, as they were (main() called from Python)
            limits.restore_original_limits()


def _disk_full(e: BaseException) -> str | None:
    """The text of an error that says the disk (or the user's quota) is full, else None:
    ``OSError`` ENOSPC/EDQUOT, or safetensors' own error, which only says it in words."""
    import errno

    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return e.filename or e.strerror or "no space"
    text = str(e)
    return text.splitlines()[0][:200] if "No space left on device" in text or "Disk quota exceeded" in text else None


def _one_line_text(message) -> str:
    """A message on one line: a library's text inside it may hold line breaks (other
    spacing, e.g. in a quoted path, is kept)."""
    return re.sub(r"\s*[\r\n]+\s*", " ", str(message)).strip()


class _Unbroken:
    """``sys.stderr`` while a command runs: once its reader is gone (``run ... 2>&1 | head -1``) what
    is written there is dropped instead of raising BrokenPipeError, which had stopped the run at its
    next progress line, written nothing, and exited 0. Only progress, warnings and errors go there."""

    def __init__(self, stream) -> None:
        self._stream, self.broken = stream, False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except (BrokenPipeError, ValueError):  # ValueError: written after the reader closed it
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                self._gone()

    def _gone(self) -> None:
        import os

        self.broken = True
        if self._stream is not sys.__stderr__:  # a capture (tests, notebooks): its file descriptor is not ours
            return
        try:  # what is left in its buffer goes nowhere at exit, instead of one more error there
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str):  # isatty, fileno, encoding...: the stream's own
        return getattr(self._stream, name)


def _one_line(default):
    """transferkit's own warnings as one ``transferkit: warning:`` line on stderr, like its
    errors (Python's default adds a file path and a line of the tool's code); others as usual.
    A message said once is not said again by the same command (rank reads its target once for
    itself and once for each run's model: its notes on the target are the same each time)."""
    said: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, TransferkitWarning):
            text = _one_line_text(message)
            if text not in said:
                said.add(text)
                print(f"transferkit: warning: {text}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def _set_threads(n: int | None):
    """torch's threads, and numpy's and scikit-learn's BLAS and OpenMP pools (threadpoolctl), to ``n``; returns
    the pools' limiter (its ``restore_original_limits`` undoes it), or None. (torch's alone left scikit-learn's
    logistic regressions at every core: a trial's `rank --threads 1` of 62 classes took 49-111 s, 6 s capped.)"""
    if n is None:
        return None
    if n < 1:
        raise TransferkitError(f"--threads {n} must be at least 1.", "give e.g. --threads 2, or leave it out for all cores.")
    import os

    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or n)
    if n > cores:  # more threads than cores only adds switching between them
        warnings.warn(f"--threads {n} is more than the {cores} cores this process may use; using {cores}.",
                      TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        n = cores
    torch.set_num_threads(n)
    import scipy.linalg  # noqa: F401  (its own OpenBLAS, loaded now so that the limit reaches it; 0.15 s)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n)


class Terminated(BaseException):
    """SIGTERM (``kill``, ``timeout``, a job scheduler) arrived: unwind like Ctrl-C, so the
    ``finally`` blocks delete half-written output (Python's default would exit at once)."""


def _stop_on_sigterm():
    """Turn SIGTERM into :class:`Terminated`; returns the previous handler (None off the main thread)."""

    def handler(signum, frame):
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. main() called from a worker thread)
        return None


if __name__ == "__main__":
    sys.exit(main())
