"""The report's ``auto`` section: what ``method: auto`` chose for each (k, seed), and why.

The decision travels with the trained model (``model.config["auto_decision"]``, also in
``models/auto_k<k>_seed<s>.json``) and with the protocol's record of the run;
:func:`auto_decisions` collects it from the records into ``summary.json`` and :func:`auto_section` renders it in ``report.md``.
"""

from __future__ import annotations


def auto_decisions(result) -> list[dict]:
    """One entry per ``auto`` run: shots, seed, choice, reason, evidence (whether or not its
    model was kept: ``save_models: false`` drops the models, not the decisions)."""
    out = []
    for r in result.records:
        decision = getattr(r, "auto_decision", None)
        if decision is None and r.model is not None:
            decision = getattr(r.model, "config", {}).get("auto_decision")
        if decision is None:
            continue
        signals = decision.get("signals", {})
        out.append({
            "shots": r.shots, "seed": r.seed, "method": decision["method"],
            "params": dict(decision["params"]),  # all of them: summary.json must rebuild the choice
            "cut": decision.get("cut"), "reason": decision["reason"], "criterion": signals.get("criterion"),
            # the source head's check also decides (same classes, docs/auto.md step 3): shown beside the others
            "checks": [*signals.get("checks", []), *([signals["source_head_check"]] if signals.get("source_head_check")
                                                     and signals.get("criterion") != "domain_shift" else [])],
            "decision_seconds": decision.get("seconds"),
        })  # fmt: skip
    return out


def auto_section(summary: dict) -> list[str]:
    """Markdown lines for report.md (empty when no ``auto`` run is in the summary)."""
    decisions = summary.get("auto_decisions") or []
    if not decisions:
        return []
    lines = ["## What `auto` chose", "",
             "Decided from the labelled target examples only (no fine-tuning, no test data); "
             "see docs/auto.md for the procedure.", "",
             "| k | seed | choice | checks (value vs threshold) | time to decide (s) |", "|---|---|---|---|---|"]  # fmt: skip
    for d in decisions:
        params = [f"{k}={v}" for k, v in d["params"].items() if not k.endswith("steps")]  # brief
        params += [f"{k}={v}, capped from {c}" for k, v, c in _capped(d["method"], d["params"])]
        choice = f"`{d['method']}`" + (f" ({', '.join(params)})" if params else "")
        ev = "; ".join(f"{c['name']}: {c['value']:.2f} {'>=' if c['passed'] else '<'} {c['threshold']:.2f}"
                       + (f" (cannot pass here: at most {c['best_possible']:.2f})" if _cannot_pass(c) else "")
                       + (f" (not used: {c['not_used']})" if c.get("not_used") else "") for c in d["checks"]) or "-"  # fmt: skip
        lines.append(f"| {d['shots']} | {d['seed']} | {choice} | {ev} | {d['decision_seconds']:.2f} |")
    lines.append("")
    scratch = [d for d in decisions if d["method"] == "scratch" and "guard" in d["reason"]]  # not "no source model"
    if scratch:
        lines += [f"**Negative-transfer guard:** for {len(scratch)} of {len(decisions)} runs `auto` found no clear "
                  "evidence that the source helps (see the checks: too few examples to tell is one way) and trained "
                  "from scratch.", ""]  # fmt: skip
        blind = [d for d in scratch if any(_cannot_pass(c) for c in d["checks"])]
        if blind:  # the bar was out of reach: not evidence against the source
            lines[-1:-1] = [f"In {len(blind)} of them the sign test could not pass at all: the no-transfer features "
                            "were already right on all but a few of the labelled examples, the only ones the source "
                            "could win, so that check's verdict says nothing against the source; more labelled examples let "
                            "it judge (or compare `auto` with the transfer rows)."]  # fmt: skip
    lines += _same_method_lines(summary, decisions)
    lines += ["Reasons:", "", *(f"- k={d['shots']}, seed {d['seed']}: {d['reason']}" for d in decisions), ""]
    return lines


def _cannot_pass(check: dict) -> bool:
    """A check whose best possible value is below its bar (the sign test when the reference is
    wrong on fewer examples than it needs to be beaten on)."""
    best = check.get("best_possible")
    return best is not None and not check["passed"] and best < check["threshold"]


def _same_method_lines(summary: dict, decisions: list[dict]) -> list[str]:
    """A note where ``auto`` chose a method the run also has a row of, with other settings (its
    own step budget, capped by max_steps, against the row's given ones): then the rows differ by
    those settings, not by transfer (a trial's auto chose scratch on every seed with 100 steps,
    against the scratch row's 80, and its +0.7 'gain' over scratch was the budget)."""
    from transferkit.methods import METHODS

    given = summary.get("method_params") or {}
    ran = set(summary.get("methods") or [])
    out = []
    for (method, shots), picks in _grouped(decisions).items():
        if method not in ran or method == "auto" or method not in METHODS:
            continue
        try:
            row = METHODS[method].Params(**given.get(method, {})).model_dump()
            own = [METHODS[method].Params(**d["params"]).model_dump() for d in picks]
        except Exception:  # noqa: BLE001  (settings the report cannot rebuild: nothing to compare)
            continue
        differ = sorted({k for o in own for k in o if o[k] != row.get(k)})
        if not differ:
            continue
        mine = ", ".join(f"{k}={own[0][k]}" for k in differ)
        theirs = ", ".join(f"{k}={row.get(k)}" for k in differ)
        seeds = f"{len(picks)} seed{'s' if len(picks) > 1 else ''}"
        out += [f"**`auto` at k = {shots} trained `{method}`** (on {seeds}) with its own settings ({mine}), where the "
                f"run's `{method}` row used {theirs}: where it chose `{method}`, the two rows differ by those settings "
                "alone, and their gap is no measure of what `auto` decides.", ""]  # fmt: skip
    return out


def _grouped(decisions: list[dict]) -> dict[tuple[str, int], list[dict]]:
    out: dict[tuple[str, int], list[dict]] = {}
    for d in decisions:
        out.setdefault((d["method"], d["shots"]), []).append(d)
    return out


def _capped(method: str, params: dict) -> list[tuple[str, int, int]]:
    """The step budgets ``auto``'s ``max_steps`` cut below the chosen method's defaults: then
    ``auto`` is not that method as configured alone, and its result may differ from it."""
    from transferkit.methods import METHODS

    fields = METHODS[method].Params.model_fields if method in METHODS else {}
    return [(k, v, fields[k].default) for k, v in params.items()
            if k.endswith("steps") and k in fields and isinstance(fields[k].default, int) and v < fields[k].default]  # fmt: skip
