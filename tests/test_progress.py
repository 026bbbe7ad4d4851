import io

from transferkit.report.progress import Progress


def test_warnings_and_notes_are_shown_but_not_counted_as_work():
    out = io.StringIO()
    progress = Progress(2, stream=out)
    for message in ("warning: source model seed 0 is weak", "source seed=0: 91.0 %", "note: 3 test examples in source",
                    "head k=1 seed=0: accuracy 0.5", "head k=5 seed=0: accuracy 0.7"):  # fmt: skip
        progress(message)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[transferkit] warning: source model seed 0 is weak"  # was "[1/2] warning: ..."
    assert lines[-1] == "[transferkit] [2/2] head k=5 seed=0: accuracy 0.7"  # was [4/2]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminals_bar_names_what_runs_keeps_the_results_and_claims_no_remaining_time():
    """The bar froze on '1/6 [00:05<00:27]' for a minute while dann trained: no elapsed time,
    and an estimate from units a hundredfold apart in cost."""
    import time

    out = _Terminal()
    progress = Progress(2, stream=out, tick=0.05)
    progress("now: dann k=5 seed=1")
    assert progress.count == 0 and progress.bar.desc.startswith("dann k=5 seed=1")
    time.sleep(0.3)  # the ticker redraws the elapsed time while the unit runs
    drawn = out.getvalue()
    progress("dann k=5 seed=1: accuracy 0.812 (51.5 s)")
    progress.close()
    assert drawn.count("dann k=5 seed=1") >= 3  # redrawn, not only once
    assert "<" not in out.getvalue() and "it/s" not in out.getvalue() and "s/it" not in out.getvalue()
    assert "[transferkit] [1/2] dann k=5 seed=1: accuracy 0.812 (51.5 s)" in out.getvalue()
    assert not progress._ticker.is_alive()


def test_now_messages_print_nothing_without_a_terminal():
    out = io.StringIO()
    progress = Progress(1, stream=out)
    progress("now: head k=1 seed=0")
    progress("head k=1 seed=0: accuracy 0.5")
    assert out.getvalue().splitlines() == ["[transferkit] [1/1] head k=1 seed=0: accuracy 0.5"]


def test_runs_a_method_skips_for_lack_of_labels_are_not_counted(tmp_path, image_npz, capsys):
    """A trial's counter read [14/20] for a run of 16: the k = 0 runs of scratch and auto, skipped, counted."""
    from tests.conftest import tiny_experiment
    from transferkit.config import load_config
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.report.progress import progress_for

    raw = tiny_experiment(*image_npz, seeds=1, methods=[{"name": "scratch", "params": {"steps": 2}},
                                                       {"name": "head", "params": {"steps": 2}}])  # fmt: skip
    raw["target"]["shots"] = [0, 2]
    cfg = load_config(None, raw=raw)
    progress = progress_for(cfg)
    assert progress.total == 2  # scratch and head at k = 0 are no runs: they need labels
    run_protocol(cfg, progress=progress)
    err = capsys.readouterr().err + capsys.readouterr().out
    assert "[transferkit] skipped: scratch k=0 seed=0 (needs labels)" in err and "[2/2]" in err and "[3/" not in err
