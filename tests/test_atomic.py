import json
import math

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
    with pytest.raises(TransferkitError, match="not empty"), atomic_folder(tmp_path / "run"):
        pass
