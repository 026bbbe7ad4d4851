import json
import math
from pathlib import Path

import numpy as np

from transferkit.atomic import write_json


def test_write_json_is_strict_json_with_null_for_non_finite(tmp_path):
    path = write_json(tmp_path / "s.json", {"val": float("nan"), "xs": [1.0, math.inf], "a": np.array([np.nan, 2.0]),
                                            "n": np.float32(0.5)})  # fmt: skip
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"val": None, "xs": [1.0, None], "a": [None, 2.0], "n": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left behind


def test_atomic_folder_appears_only_when_complete(tmp_path):
    import pytest

    from transferkit.atomic import atomic_folder
    from transferkit.errors import TransferkitError

    with pytest.raises(RuntimeError), atomic_folder(tmp_path / "run") as tmp:
        (tmp / "summary.json").parent.mkdir(parents=True, exist_ok=True)
        (tmp / "summary.json").write_text("{}")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []  # neither the run nor its temporary folder
    with atomic_folder(tmp_path / "run") as tmp:
        tmp.mkdir()
        (tmp / "summary.json").write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["run"] and (tmp_path / "run" / "summary.json").exists()
    # filled after the caller's own check (check_out_dir, before its work) and before the writing: the
    # results were thrown away with "already exists and is not empty"; now they are kept beside it
    with pytest.raises(TransferkitError, match=r"results are in .*run-2"), atomic_folder(tmp_path / "run") as tmp:
        tmp.mkdir()
        (tmp / "summary.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-2"]


def test_out_paths_checked_before_the_work(tmp_path, monkeypatch):
    """A link to an empty folder is written through (it crashed after training); a dangling link
    and an empty --out are refused up front; default folders of one second do not collide; a
    partial folder of a killed process is removed by the next run there."""
    import os

    import pytest

    from transferkit.atomic import atomic_folder, check_out_dir, reserve_default_out
    from transferkit.errors import TransferkitError

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    check_out_dir(tmp_path / "link")
    with atomic_folder(tmp_path / "link") as tmp:
        tmp.mkdir()
        (tmp / "summary.json").write_text("{}")
    assert (tmp_path / "real" / "summary.json").exists() and (tmp_path / "link").is_symlink()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(TransferkitError, match=r"is a link to .*nowhere, which does not exist"):
        check_out_dir(tmp_path / "dangling")
    for empty in ("", "."):
        with pytest.raises(TransferkitError, match="names no new folder"):
            check_out_dir(Path(empty))
    monkeypatch.chdir(tmp_path)
    first, second = reserve_default_out("exp"), reserve_default_out("exp")
    assert first != second and first.is_dir() and second.is_dir()
    import time

    hour_ago = time.time() - 3700
    dead = tmp_path / ".out[1].partial-999999999"  # no such process, untouched for an hour
    recent = tmp_path / ".out[1].partial-999999998"  # no such process here, but written to a minute ago: a
    alive = tmp_path / f".out[1].partial-{os.getppid()}"  # process in another container; and a live one's
    other = tmp_path / ".out1.partial-999999997"  # another --out's (the brackets are no glob pattern)
    for folder in (dead, recent, alive, other):
        folder.mkdir()
    for folder in (dead, alive, other):
        os.utime(folder, (hour_ago, hour_ago))
    with atomic_folder(tmp_path / "out[1]") as tmp:
        tmp.mkdir()
    assert not dead.exists() and recent.exists() and alive.exists() and other.exists()


def test_a_folder_filled_meanwhile_keeps_both_runs(tmp_path):
    """Two runs given the same new --out: the second to finish keeps its results beside it."""
    import pytest

    from transferkit.atomic import atomic_folder
    from transferkit.errors import TransferkitError

    with pytest.raises(TransferkitError, match=r"is not empty \(another run wrote it while this one ran\?\).*results are in .*run-2"):
        with atomic_folder(tmp_path / "run") as tmp:
            tmp.mkdir()
            (tmp / "summary.json").write_text('{"mine": 1}')
            (tmp_path / "run").mkdir()  # the other run lands first
            (tmp_path / "run" / "summary.json").write_text('{"other": 1}')
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == {"other": 1}
    assert json.loads((tmp_path / "run-2" / "summary.json").read_text()) == {"mine": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-2"]  # no partial folder left


def test_sigterm_unwinds_like_ctrl_c_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    """`kill`/`timeout` send SIGTERM; Python's default would exit without the cleanup."""
    import os
    import signal
    import time

    from transferkit import cli
    from transferkit.atomic import atomic_folder
    from transferkit.commands import list as list_command

    def execute(args):
        with atomic_folder(tmp_path / "run") as tmp:
            tmp.mkdir()
            (tmp / "metrics.csv").write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the signal arrives here
        return 0

    monkeypatch.setattr(list_command, "execute", execute)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["list"]) == 143
    assert "interrupted; nothing was written for the unfinished `list`." in capsys.readouterr().err  # not "run" (a trial)
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is the caller's again


def test_an_interrupted_run_says_the_same_command_resumes_it(monkeypatch, capsys):
    from transferkit import cli
    from transferkit.commands import run as run_command

    def execute(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_command, "execute", execute)
    assert cli.main(["run", "experiment.yaml"]) == 130
    assert "any runs it finished are kept in the cache, and the same command resumes from them" in capsys.readouterr().err


def test_written_files_get_the_umask_permissions_not_mkstemps_0600(tmp_path):
    import os
    import stat

    from transferkit.atomic import write_text

    old = os.umask(0o022)
    try:
        path = write_text(tmp_path / "report.md", "x")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # was 0o600: teammates could not read runs
        os.umask(0o077)
        assert stat.S_IMODE(write_text(tmp_path / "private.md", "x").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_failed_run_releases_its_default_folder_at_once(tmp_path, monkeypatch):
    """A notebook's failed tk.run() left an empty runs/<name>-<time> until the kernel exited."""
    import pytest

    import transferkit as tk
    from transferkit.api import run

    monkeypatch.chdir(tmp_path)
    import transferkit.api as api

    def broken(cfg, reporter, resume=False):
        raise RuntimeError("a method failed")

    monkeypatch.setattr(api, "run_protocol", broken)
    with pytest.raises(RuntimeError):
        run({"source": {"data": "mnist5k"}, "target": {"data": "optdigits", "shots": [1]}, "methods": ["head"]})
    assert list((tmp_path / "runs").iterdir()) == []
    assert tk.run is run


def test_the_cache_folder_ignores_a_relative_xdg_cache_home_and_an_empty_home(monkeypatch, tmp_path):
    """A trial: XDG_CACHE_HOME=relxdg put the cache under whatever folder a run started in, and
    HOME= (empty) gave /.cache/transferkit."""
    import os
    import pwd

    from transferkit.paths import cache_dir

    monkeypatch.delenv("TRANSFERKIT_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relxdg")
    assert cache_dir() == tmp_path / ".cache" / "transferkit"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "transferkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "")
    assert cache_dir() == Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "transferkit"
