"""collected_warnings: transferkit's warnings kept for a report and issued again, also when an error leaves."""

import warnings

import pytest

from transferkit.errors import TransferkitWarning, collected_warnings


def test_warnings_are_kept_issued_again_and_said_once_when_asked():
    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        with collected_warnings(once=True) as notes:
            for _ in range(3):
                warnings.warn("the same note", TransferkitWarning, stacklevel=1)
            warnings.warn("a library's own", DeprecationWarning, stacklevel=1)
    assert notes == ["the same note"]
    assert [str(w.message) for w in outside] == ["the same note", "a library's own"]


def test_warnings_before_an_error_are_still_issued():
    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        with pytest.raises(ValueError), collected_warnings():
            warnings.warn("found first", TransferkitWarning, stacklevel=1)
            raise ValueError("then this")
    assert [str(w.message) for w in outside] == ["found first"]
