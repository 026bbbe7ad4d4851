"""The few-shot experiment file: source, novel-class target, and a ``fewshot:`` section.

Same sections and loading rules as ``transferkit run`` (``config.py``: strict fields,
``--set key=value``, data paths relative to the file), plus::

    fewshot:
      n_way: 5              # classes per episode
      k_shot: [1, 5]        # support examples per class, one evaluation per value
      n_query: 15           # query examples per class
      episodes: 600         # episodes for methods on cached features
      train_episodes: 50    # episodes for methods that train a network per episode
      methods: [prototypes, transductive, scratch, finetune]

``methods`` names few-shot functions (``simpleshot``, ``bd_cspn``, ...; see
``fewshot/registry.py``) or registered transfer methods (``prototypes``, ``scratch``,
...; see ``methods/``), optionally with parameters: ``{finetune: {steps: 100}}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from transferkit.config import (
    DataConfig,
    ExperimentConfig,
    MethodSpec,
    ModelConfig,
    RunFields,
    SourceConfig,
    Strict,
    TargetConfig,
    beside,
    method_specs,
    one_or_list,
    parse_set,
    read_experiment,
    resolve_data_path,
    validate_as,
    where_of,
)

DEFAULT_METHODS = ["prototypes", "transductive", "scratch", "finetune"]  # transductive runs bd_cspn: not both


class FewShotSection(Strict):
    n_way: int = Field(5, ge=2, description="classes per episode (one class has nothing to tell apart)")
    k_shot: list[PositiveInt] = Field(default_factory=lambda: [1, 5])
    n_query: PositiveInt = 15
    episodes: PositiveInt = Field(600, description="episodes for methods on cached features")
    train_episodes: PositiveInt = Field(50, description="episodes (the first ones) for methods that train")
    episode_seed: int = Field(0, ge=0, lt=2**31, description="K-shot episodes are drawn with seed episode_seed + K")
    methods: list[MethodSpec] = Field(default_factory=lambda: [MethodSpec(name=n) for n in DEFAULT_METHODS])
    blocks: PositiveInt | None = Field(None, description="features after this many shared blocks (default: all)")
    cross_domain: bool = Field(
        False, description="the target is another data set whose class names repeat the source's"
    )

    @model_validator(mode="after")
    def _train_episodes_within_episodes(self) -> FewShotSection:
        # the default (50) is silently capped at `episodes`; a value given on purpose is not
        if "train_episodes" in self.model_fields_set and self.train_episodes > self.episodes:
            raise ValueError(f"train_episodes ({self.train_episodes}) exceeds episodes ({self.episodes}): methods that "
                             f"train run the first train_episodes of the episodes; set train_episodes to at most "
                             f"{self.episodes}, or raise episodes")  # fmt: skip
        return self

    @field_validator("k_shot", mode="before")
    @classmethod
    def _k_shot(cls, v: Any) -> Any:
        return one_or_list(v, "k_shot", "[1, 5]")

    @field_validator("k_shot")
    @classmethod
    def _k_sorted(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("k_shot must list at least one value")
        repeated = sorted({k for k in v if v.count(k) > 1})
        if repeated:  # as run's shots: a repeat is a typo more often than a wish
            raise ValueError(f"k_shot must be distinct, {repeated} repeat(s)")
        return sorted(v)

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, v: Any) -> Any:
        out = method_specs(v)  # as `transferkit run` reads its methods
        names = [m.get("name") if isinstance(m, dict) else None for m in out]
        if len(set(names)) != len(names):
            raise ValueError(f"methods {names} list a method twice")
        return out


class NovelConfig(DataConfig):
    pad: int | Literal["auto"] = Field("auto", description="border in pixels, or match the source's framing")

    @model_validator(mode="before")
    @classmethod
    def _no_shots(cls, v: Any) -> Any:
        if isinstance(v, dict) and "shots" in v:  # a `transferkit run` habit
            raise ValueError("a few-shot target has no `shots`: support examples per class are fewshot.k_shot "
                             "(e.g. fewshot: {k_shot: [1, 5]})")  # fmt: skip
        split = [k for k in ("test_fraction", "split_seed") if isinstance(v, dict) and k in v]
        if split:  # another `transferkit run` habit
            raise ValueError(f"a few-shot target has no `{split[0]}`: there is no test split, each episode draws its "
                             "support and query examples from all of the target; remove it")  # fmt: skip
        return v


class FewShotSource(SourceConfig):
    """As ``transferkit run``'s source, but trained with rotation and scaling by default: features for
    classes the source never had gained 3 to 3.5 points of 1-shot accuracy on both few-shot
    benchmarks (BENCHMARKS.md, ``benchmarks/diagnostics/fewshot_source_augment.py``)."""

    augment: bool | Literal["affine"] = Field(
        "affine", description="affine (default here): shifts, rotation and scale of each axis; true: shifts; false: none"
    )
    model: str | None = Field(
        None, description="a model saved by transferkit (a run folder: its deployed model; RUN/models/NAME; or "
        "TransferClassifier.save's file), used as it is instead of training one from `data`"
    )

    @model_validator(mode="before")
    @classmethod
    def _model_alone(cls, v: Any) -> Any:
        """A saved model is the whole source: the fields that would train or load another one are refused, not
        silently unused."""
        if not isinstance(v, dict) or v.get("model") is None:
            return v
        other = [k for k, value in v.items() if k != "model" and value is not None]  # (`--set source.data=null`)
        if other:
            them = "it" if len(other) == 1 else "them"
            raise ValueError(f"`model` is a saved model used as it is, so {', '.join(f'`{k}`' for k in other)} "
                             f"{'has' if len(other) == 1 else 'have'} nothing to do: the novel classes are read "
                             f"the way that model reads its inputs; remove {them} (on the command line: "
                             f"{' '.join(f'--set source.{k}=null' for k in other)}), or remove `model` to train a "
                             "source from `data`")  # fmt: skip
        return {"model": v["model"]}

    @field_validator("model")
    @classmethod
    def _model_path(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("is empty; give the path of a run folder or of a saved model, or leave `model` out")
        return v

    @model_validator(mode="after")
    def _data_or_pretrained(self) -> FewShotSource:
        if self.model is None and self.data is None and self.pretrained is None:
            raise ValueError("give `data` (a source data set to train on), `model` (a model you already have: a run "
                             "folder or a saved model), or `pretrained` (a pretrained model)")  # fmt: skip
        if self.model is not None:
            return self
        return super()._data_or_pretrained()


class FewShotExperiment(RunFields):
    name: str = Field("fewshot", min_length=1, description="the run folder's name under runs/ (no path)")
    source: FewShotSource
    target: NovelConfig = Field(description="the novel classes: episodes are drawn from them")
    model: ModelConfig = Field(default_factory=ModelConfig)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], description="source-model seeds")
    fewshot: FewShotSection = Field(default_factory=FewShotSection)
    device: str = "auto"

    @model_validator(mode="before")
    @classmethod
    def _run_fields(cls, v: Any) -> Any:
        """Fields of `transferkit run`'s experiments that a few-shot one keeps elsewhere or lacks."""
        if isinstance(v, dict) and "methods" in v:
            raise ValueError("a few-shot experiment lists its methods under `fewshot:` "
                             f"(fewshot: {{methods: {v['methods']!r}}}), not at the top level")  # fmt: skip
        for key in ("deploy", "save_models"):
            if isinstance(v, dict) and key in v:
                raise ValueError(f"a few-shot experiment has no `{key}`: it deploys no model (each episode's "
                                 "classes are new); remove it")  # fmt: skip
        return v

    def experiment(self) -> ExperimentConfig:
        """The equivalent ``transferkit run`` config: the same data preparation and the same
        cached source models (a saved model, ``source.model``, is no run's source: none then)."""
        target = TargetConfig(**self.target.model_dump(), shots=[max(self.fewshot.k_shot)])
        return ExperimentConfig(
            name=self.name, source=None if self.source.model else self.source, target=target, model=self.model,
            methods=[MethodSpec(name="prototypes")], seeds=self.seeds, device=self.device,
        )  # fmt: skip


def load_fewshot_config(
    path: str | Path | None, overrides: list[str] | None = None, raw: dict | None = None
) -> FewShotExperiment:
    """Reads, overrides and validates a few-shot experiment; data paths become absolute.

    Raises:
        TransferkitError: Missing file, invalid YAML, or an invalid field (named, with the value).
    """
    raw, base = read_experiment(path, overrides, raw, "configs/fewshot_fashion.yaml")
    where = where_of(path, overrides, "few-shot experiment")
    cfg = validate_as(FewShotExperiment, raw, where, "see configs/fewshot_fashion.yaml for valid fields.")
    typed = set(parse_set(overrides)) if overrides else set()
    for role, section in (("source", cfg.source), ("target", cfg.target)):
        if section.data is not None:
            section.data = resolve_data_path(section.data, base, typed=f"{role}.data" in typed)
    if cfg.source.model is not None:  # a path, relative to the file as data paths are
        cfg.source.model = resolve_model_path(cfg.source.model, base, typed="source.model" in typed)
    return cfg


def resolve_model_path(spec: str, base: Path, typed: bool = False) -> str:
    """A relative model path against the experiment file's folder, then the working directory (``typed``
    with ``--set``: the other way round, as data paths); a saved model's stem (no suffix) counts when its
    ``.json`` is there."""
    spec = str(Path(spec).expanduser())  # ~/models/m: the shell would have expanded it on a command line
    if Path(spec).is_absolute():
        return spec
    return beside(spec, base, typed, lambda p: p.exists() or p.with_name(p.name + ".json").exists())
