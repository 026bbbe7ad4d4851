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
