"""Quoting values in error messages: never at length, and never by writing out a huge integer."""
from hypothesis import given
from hypothesis import strategies as st

from explorer.typed_json import digit_count, short


@given(st.integers(min_value=1, max_value=10**4000)
       | st.builds(lambda e, d: max(1, 10**e + d), st.integers(0, 4000), st.integers(-2, 2)))
def test_digit_count_is_the_length_of_the_decimal_string(n):
    assert digit_count(n) == len(str(n))


def test_digit_count_beside_powers_of_ten_and_beyond_what_python_will_print():
    for e in (1, 15, 16, 17, 22, 23, 308, 309, 4299, 4300):
        assert [digit_count(10**e - 1), digit_count(10**e), digit_count(10**e + 1)] == [e, e + 1, e + 1]
    assert digit_count(10**100_000) == 100_001 and digit_count(10**100_000 - 1) == 100_000


def test_short_quotes_briefly_and_names_a_huge_integer_by_its_digits():
    assert short("x" * 100) == repr("x" * 100)[:60] + "..."
    assert short(10**59) == str(10**59)
    assert short(-(10**5000)) == "an integer of 5,001 digits"
