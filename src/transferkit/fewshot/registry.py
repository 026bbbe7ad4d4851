"""The few-shot method registry: every method by name, with what it needs to know.

Adding a method means adding one file with a decorated function::

    @register_fewshot("my_method", description="...", transductive=False)
    def my_method(support_f, support_y, query_f, n_way, *, base_mean=None):
        ...  # return probabilities, (Q, n_way) float64

The contract every method follows:

* ``support_f`` (S, D) and ``query_f`` (Q, D): features from the shared layers.
* ``support_y`` (S,): labels ``0 .. n_way - 1``, every class present.
* ``base_mean`` (D,) or None: mean feature of the source (base) classes, used to centre.
* Keyword-only hyper-parameters with defaults.
* Returns class probabilities, a numpy float64 array (Q, n_way) whose rows sum to 1.

A *transductive* method also looks at the unlabelled query features together (their
statistics shape the prediction); an inductive one classifies each query alone.

A *batched* method also accepts a leading episode axis: (E, S, D), (E, S), (E, Q, D)
-> (E, Q, n_way), each episode solved independently. Evaluation then runs many
episodes in one call, which is what makes 600 episodes take a fraction of a second.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from transferkit.errors import TransferkitError, did_you_mean

PredictFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class FewShotMethod:
    """A registered few-shot method.

    Attributes:
        name: Registry name.
        predict: ``predict(support_f, support_y, query_f, n_way, **context) -> (Q, n_way)``.
        description: One line for ``list`` output and reports.
        transductive: Whether predictions use the query set as a whole.
        batched: Whether ``predict`` accepts a leading episode axis.
    """

    name: str
    predict: PredictFn
    description: str
    transductive: bool
    batched: bool = False

    @property
    def options(self) -> list[str]:
        """The keyword arguments ``predict`` accepts (``base_mean`` and hyper-parameters)."""
        params = inspect.signature(self.predict).parameters.values()
        return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]

    def __call__(
        self,
        support_f: np.ndarray,
        support_y: np.ndarray,
        query_f: np.ndarray,
        n_way: int,
        **context: object,
    ) -> np.ndarray:
        params = inspect.signature(self.predict).parameters.values()
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        unknown = sorted(set(context) - set(self.options))
        if unknown and not takes_any:
            raise TransferkitError(
                f"Few-shot method {self.name!r} does not take {', '.join(unknown)}.",
                f"it takes: {', '.join(self.options) or 'no options'}.",
            )
        return self.predict(support_f, support_y, query_f, n_way, **context)


FEWSHOT_METHODS: dict[str, FewShotMethod] = {}


def register_fewshot(
    name: str, *, description: str, transductive: bool, batched: bool = False
) -> Callable[[PredictFn], PredictFn]:
    """Registers a few-shot ``predict`` function under ``name``; returns it unchanged."""

    def add(fn: PredictFn) -> PredictFn:
        if name in FEWSHOT_METHODS:
            raise TransferkitError(
                f"Few-shot method {name!r} is registered twice "
                f"({FEWSHOT_METHODS[name].predict.__module__} and {fn.__module__}).",
                "give the new method another name.",
            )
        FEWSHOT_METHODS[name] = FewShotMethod(name, fn, description, transductive, batched)
        return fn

    return add


def get_fewshot_method(name: str) -> FewShotMethod:
    """Looks up a few-shot method by name.

    Raises:
        TransferkitError: Unknown name; the message lists the registered ones.
    """
    if name not in FEWSHOT_METHODS:
        raise TransferkitError(
            f"Unknown few-shot method {name!r}.",
            f"use one of: {did_you_mean(name, sorted(FEWSHOT_METHODS))}.",
        )
    return FEWSHOT_METHODS[name]
