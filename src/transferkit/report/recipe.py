"""The input recipe in words, for the report: how the target's raw inputs become model inputs."""

from __future__ import annotations


def _num(v: float) -> str:
    return f"{v:g}"


def describe_recipe(recipe: dict, source_scale: bool = False, native: list | None = None, series: bool = False,
                    owner: str = "the source's") -> str:
    """One phrase for a recipe dict (``Recipe.to_dict()`` or ``TextRecipe.to_dict()``).

    Examples: ``"values 0..16 scaled to 0..1; images resized to 20x20 inside a 4-pixel
    border (28x28, 1 channel)"``, ``"12 features per example (columns a, b, ...); values
    0..255 scaled to 0..1"``, ``"texts tokenised by `hf:...`'s tokenizer, cut to 128 tokens"``.
    ``source_scale``: vectors read on the source's range (a run with source data), said so:
    the range is not the target's own. ``native``: the images' own (C, H, W), when known: said
    as "resized from 8x8", or "kept at their 6x100" when they are not resized. ``series``: the
    (C, H, W) inputs are series read by the ``cnn1d`` (H sensors x W steps, never resized), on
    the source's range when ``source_scale``. ``owner``: whose scale that is, in words (a saved model's, when
    it is the source).
    """
    if recipe.get("kind") == "text":
        return f"texts tokenised by `{recipe['pretrained']}`'s tokenizer, cut to {recipe['max_length']} tokens"
    if not {"value_range", "shape"} <= set(recipe):
        return "recipe not recorded"
    lo, hi = recipe["value_range"]
    scale = f"values {_num(lo)}..{_num(hi)} scaled to 0..1" + (", then inverted (1 - x)" if recipe.get("invert") else "")
    shape = tuple(recipe["shape"])
    if len(shape) == 1:
        cols = recipe.get("columns")
        named = ""
        if cols:
            named = f" (columns {', '.join(cols[:5])}{', ...' if len(cols) > 5 else ''})"
        if source_scale:
            scale = f"values on {owner} scale ({_num(lo)}..{_num(hi)} to 0..1)"
        if series:  # a univariate series read by the cnn1d: steps in time, not features
            return f"{scale}; series of {shape[0]} steps{named}"
        return f"{shape[0]} features per example{named}; {scale}"
    c, h, w = shape
    if series:
        if source_scale:
            scale = f"values on {owner} scale ({_num(lo)}..{_num(hi)} to 0..1)"
        return f"{scale}; series of {h} channel{'s' if h != 1 else ''} x {w} steps"
    pad = int(recipe.get("pad") or 0)
    channels = f"{c} channel{'s' if c != 1 else ''}"
    res = recipe.get("resolution")
    through = f", passed through {res[0]}x{res[1]} first" if res else ""
    inner = (h - 2 * pad, w - 2 * pad)
    size = f"resized to {inner[0]}x{inner[1]}"
    if native is not None and len(native) == 3:
        nh, nw = native[1:]
        size = f"kept at their {nh}x{nw}" if (nh, nw) == inner else f"resized from {nh}x{nw} to {inner[0]}x{inner[1]}"
        if (nh, nw) == inner and res:  # not "resized from 28x28 to 28x28 ..., passed through 16x16 first"
            size, through = f"kept at their {nh}x{nw} after passing through {res[0]}x{res[1]}", ""
    if pad:
        fill = f" filled with their background of {recipe['background']:.2f} on 0..1" if recipe.get("background") else ""
        return (f"{scale}; images {size} inside a {pad}-pixel border{fill} "
                f"({h}x{w}, {channels}){through}")  # fmt: skip
    return f"{scale}; images {size} ({channels}){through}"
