"""The Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from transferkit.atomic import out_folder
from transferkit.config import ExperimentConfig, load_config, validate
from transferkit.evaluate.protocol import run_protocol
from transferkit.report.progress import progress_for
from transferkit.report.run_folder import write_run_folder
from transferkit.rng import callers_rng_kept


def demo_config_path() -> Path:
    return Path(str(resources.files("transferkit") / "configs" / "demo.yaml"))


def run(
    experiment: str | Path | dict | ExperimentConfig,
    out: str | Path | None = None,
    overrides: list[str] | dict | None = None,
    progress: bool = True,
) -> dict:
    """Run an experiment (a YAML path, a dict, or a config) and write its run folder.

    ``overrides``: as the CLI's ``--set``, ``["seeds=2", "target.shots=[1, 5]"]``, or a dict
    ``{"seeds": 2, "target.shots": [1, 5]}``.

    Returns the summary (also written as ``summary.json``), with ``run_dir`` added.
    """
    if isinstance(experiment, ExperimentConfig):
        cfg = experiment if not overrides else load_config(None, overrides, experiment.model_dump(mode="json"))
    elif isinstance(experiment, dict):
        cfg = load_config(None, overrides, experiment)
    else:
        cfg = load_config(experiment, overrides)
    with out_folder(out, cfg.name) as folder:
        reporter = progress_for(cfg, progress)
        try:
            with callers_rng_kept():  # every run seeds torch: the caller's draws after run stay theirs
                result = run_protocol(cfg, reporter, resume=True)
        finally:
            getattr(reporter, "close", lambda: None)()
        summary = write_run_folder(result, folder)
        result.finished.finish()  # (the folder is renamed into place next: its content is complete)
    summary["run_dir"] = str(folder)
    return summary


def demo(out: str | Path | None = None, overrides: list[str] | dict | None = None, progress: bool = True) -> dict:
    """The default job: MNIST-5k -> optdigits, 1/5/10 shots, 3 seeds, five methods."""
    return run(demo_config_path(), out, overrides, progress)


__all__ = ["run", "demo", "validate"]
