"""Tests for app.scoring: the SKM index (PermenPANRB 14/2017) and related statistics."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.scoring import (
    ELEMENT_CODES,
    Category,
    GroupTotals,
    category,
    ikm,
    ikm_from_totals,
    krejcie_morgan,
    mean_interval_95,
    nearest_rank,
    nrr,
    prior_weight,
    round_half_up,
    sample_adequate,
    shared_ranks,
    shrunk_mean,
    total_to_ikm,
)

VECTOR_A_N = 29
VECTOR_A_TOTALS = (105, 101, 100, 116, 102, 105, 106, 105, 115)
VECTOR_A_NRR = (
    "3.6207",
    "3.4828",
    "3.4483",
    "4.0000",
    "3.5172",
    "3.6207",
    "3.6552",
    "3.6207",
    "3.9655",
)

scores = st.integers(min_value=1, max_value=4)
response = st.lists(scores, min_size=9, max_size=9)
responses = st.lists(response, min_size=1, max_size=40)


def _responses_with_totals(totals: tuple[int, ...], n: int) -> list[list[int]]:
    """Build n complete responses whose column sums equal ``totals``."""
    columns = []
    for total in totals:
        fours, rest = divmod(total - n, 3)
        column = [4] * fours + ([1 + rest] if rest else [])
        column += [1] * (n - len(column))
        assert sum(column) == total and len(column) == n
        columns.append(column)
    return [list(row) for row in zip(*columns, strict=True)]


# --- constants and rounding ---------------------------------------------------


def test_element_codes_are_u1_to_u9_in_order() -> None:
    assert ELEMENT_CODES == ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Fraction(5, 1000), 2, "0.01"),
        (Fraction(4999, 1000000), 2, "0.00"),
        (Fraction(-5, 1000), 2, "-0.01"),
        (Fraction(1, 3), 4, "0.3333"),
        (Fraction(2, 3), 4, "0.6667"),
        (Fraction(5, 2), 0, "3"),
        (Fraction(7, 2), 0, "4"),
        (Fraction(100), 2, "100.00"),
        (Fraction(0), 2, "0.00"),
        (Fraction(25 * 955, 261), 2, "91.48"),
    ],
)
def test_round_half_up(value: Fraction, places: int, expected: str) -> None:
    result = round_half_up(value, places)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_round_half_up_rejects_negative_places() -> None:
    with pytest.raises(ValueError):
        round_half_up(Fraction(1, 2), -1)


# --- vector A -----------------------------------------------------------------


@pytest.mark.parametrize(("total", "expected"), zip(VECTOR_A_TOTALS, VECTOR_A_NRR, strict=True))
def test_vector_a_nrr(total: int, expected: str) -> None:
    assert str(round_half_up(nrr(total, VECTOR_A_N), 4)) == expected


def test_vector_a_ikm_from_totals() -> None:
    assert sum(VECTOR_A_TOTALS) == 955
    result = ikm_from_totals(VECTOR_A_TOTALS, VECTOR_A_N)
    assert str(result) == "91.48"
    cat = category(result)
    assert cat.letter == "A"
    assert cat.label_id == "Sangat baik"
    assert cat.label_en == "Very good"


def test_vector_a_ikm_from_responses() -> None:
    rows = _responses_with_totals(VECTOR_A_TOTALS, VECTOR_A_N)
    assert str(ikm(rows)) == "91.48"


@pytest.mark.parametrize(("weight", "wrong"), [("0.111", "91.38"), ("0.11", "90.56")])
def test_vector_a_approximate_weight_gives_a_different_figure(weight: str, wrong: str) -> None:
    unit = sum(
        (Fraction(t, VECTOR_A_N) * Fraction(weight) for t in VECTOR_A_TOTALS),
        Fraction(0),
    )
    wrong_result = round_half_up(25 * unit, 2)
    assert str(wrong_result) == wrong
    assert ikm_from_totals(VECTOR_A_TOTALS, VECTOR_A_N) != wrong_result


# --- vectors B, C, D ----------------------------------------------------------


def test_vector_b_all_threes_is_c_not_b() -> None:
    result = ikm([[3] * 9 for _ in range(17)])
    assert str(result) == "75.00"
    cat = category(result)
    assert cat.letter == "C"
    assert cat.label_id == "Kurang baik"
    assert cat.label_en == "Poor"


@pytest.mark.parametrize(
    ("value", "letter"),
    [
        ("64.99", "D"),
        ("65.00", "C"),
        ("76.60", "C"),
        ("76.61", "B"),
        ("88.30", "B"),
        ("88.31", "A"),
    ],
)
def test_vector_c_boundaries(value: str, letter: str) -> None:
    assert category(Decimal(value)).letter == letter


@pytest.mark.parametrize(
    ("value", "letter"),
    [
        ("88.305", "A"),
        ("88.3049", "B"),
        ("76.605", "B"),
        ("76.6049", "C"),
        ("64.995", "C"),
        ("64.9949", "D"),
    ],
)
def test_category_classifies_the_rounded_value(value: str, letter: str) -> None:
    assert category(Decimal(value)).letter == letter


def test_vector_d_extremes() -> None:
    top = ikm([[4] * 9] * 5)
    bottom = ikm([[1] * 9] * 5)
    assert str(top) == "100.00"
    assert category(top).letter == "A"
    assert str(bottom) == "25.00"
    assert category(bottom).letter == "D"


def test_category_labels() -> None:
    expected = {
        "100": Category("A", "Sangat baik", "Very good"),
        "80": Category("B", "Baik", "Good"),
        "70": Category("C", "Kurang baik", "Poor"),
        "25": Category("D", "Tidak baik", "Not good"),
    }
    for value, cat in expected.items():
        assert category(Decimal(value)) == cat


def test_category_is_frozen() -> None:
    cat = category(Decimal("90"))
    with pytest.raises(AttributeError):
        cat.letter = "B"  # type: ignore[misc]


@pytest.mark.parametrize("value", ["24.99", "100.01", "0", "-50", "NaN", "Infinity"])
def test_category_rejects_out_of_range(value: str) -> None:
    with pytest.raises(ValueError):
        category(Decimal(value))


# --- error cases --------------------------------------------------------------


def test_ikm_rejects_empty() -> None:
    with pytest.raises(ValueError):
        ikm([])


def test_ikm_rejects_empty_generator() -> None:
    with pytest.raises(ValueError):
        ikm(r for r in [[3] * 9] if False)


def test_ikm_accepts_a_one_shot_iterator() -> None:
    assert str(ikm(iter([[4] * 9, [2] * 9]))) == "75.00"


@pytest.mark.parametrize("length", [0, 8, 10])
def test_ikm_rejects_wrong_length(length: int) -> None:
    with pytest.raises(ValueError):
        ikm([[3] * 9, [3] * length])


@pytest.mark.parametrize("bad", [0, 5, -1])
def test_ikm_rejects_score_out_of_range(bad: int) -> None:
    row = [3] * 9
    row[4] = bad
    with pytest.raises(ValueError):
        ikm([[3] * 9, row])


@pytest.mark.parametrize(("total", "n"), [(0, 0), (3, 0), (-3, -1), (28, 29), (117, 29)])
def test_nrr_rejects_invalid(total: int, n: int) -> None:
    with pytest.raises(ValueError):
        nrr(total, n)


def test_nrr_accepts_bounds() -> None:
    assert nrr(29, 29) == 1
    assert nrr(116, 29) == 4


@pytest.mark.parametrize(
    ("totals", "n"),
    [
        ((), 29),
        (VECTOR_A_TOTALS, 0),
        ((105, 101, 100, 117, 102, 105, 106, 105, 115), 29),
        ((105, 101, 100, 116, 102, 105, 106, 105, 28), 29),
    ],
)
def test_ikm_from_totals_rejects_invalid(totals: tuple[int, ...], n: int) -> None:
    with pytest.raises(ValueError):
        ikm_from_totals(totals, n)


def test_ikm_from_totals_uses_exact_weight_for_other_k() -> None:
    # k = 3: 25 * (1 + 2 + 2) / 3 = 41.666... -> 41.67
    assert str(ikm_from_totals((1, 2, 2), 1)) == "41.67"


# --- sample size --------------------------------------------------------------

KREJCIE_MORGAN_TABLE = [
    (10, 10),
    (15, 14),
    (20, 19),
    (50, 44),
    (100, 80),
    (150, 108),
    (200, 132),
    (300, 169),
    (500, 217),
    (1000, 278),
    (2000, 322),
    (5000, 357),
    (10000, 370),
    (50000, 381),
    (75000, 382),
    (1000000, 384),
]


@pytest.mark.parametrize(("population", "expected"), KREJCIE_MORGAN_TABLE)
def test_krejcie_morgan_table(population: int, expected: int) -> None:
    assert krejcie_morgan(population) == expected


def test_krejcie_morgan_population_of_one() -> None:
    assert krejcie_morgan(1) == 1


@pytest.mark.parametrize("population", [0, -1])
def test_krejcie_morgan_rejects_small_population(population: int) -> None:
    with pytest.raises(ValueError):
        krejcie_morgan(population)


@given(st.integers(min_value=1, max_value=10**7))
def test_krejcie_morgan_never_exceeds_population_or_limit(population: int) -> None:
    size = krejcie_morgan(population)
    assert 1 <= size <= population
    assert size <= 384


def test_sample_adequate() -> None:
    assert sample_adequate(278, 1000)
    assert sample_adequate(500, 1000)
    assert not sample_adequate(277, 1000)
    assert not sample_adequate(0, 10)
    with pytest.raises(ValueError):
        sample_adequate(10, 0)
    with pytest.raises(ValueError):
        sample_adequate(-1, 100)


# --- properties of the index --------------------------------------------------


@given(responses)
def test_ikm_within_range(rows: list[list[int]]) -> None:
    result = ikm(rows)
    assert Decimal(25) <= result <= Decimal(100)
    assert result.as_tuple().exponent == -2


@given(responses)
def test_ikm_matches_exact_formula(rows: list[list[int]]) -> None:
    exact = Fraction(25 * sum(map(sum, rows)), 9 * len(rows))
    result = ikm(rows)
    assert abs(Fraction(result) - exact) <= Fraction(1, 200)


@given(responses, st.data())
def test_ikm_monotone_in_each_answer(rows: list[list[int]], data: st.DataObject) -> None:
    candidates = [(i, j) for i, row in enumerate(rows) for j, s in enumerate(row) if s < 4]
    if not candidates:
        return
    i, j = data.draw(st.sampled_from(candidates))
    raised = [list(row) for row in rows]
    raised[i][j] += 1
    assert ikm(raised) >= ikm(rows)


@given(responses, st.data())
def test_ikm_independent_of_order(rows: list[list[int]], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(rows))
    assert ikm(shuffled) == ikm(rows)


@given(responses)
def test_ikm_equals_ikm_from_column_sums(rows: list[list[int]]) -> None:
    column_sums = [sum(column) for column in zip(*rows, strict=True)]
    assert ikm(rows) == ikm_from_totals(column_sums, len(rows))


@given(responses)
def test_category_consistent_with_thresholds(rows: list[list[int]]) -> None:
    value = ikm(rows)
    letter = category(value).letter
    if value >= Decimal("88.31"):
        assert letter == "A"
    elif value >= Decimal("76.61"):
        assert letter == "B"
    elif value >= Decimal("65.00"):
        assert letter == "C"
    else:
        assert letter == "D"


# --- officer-ranking statistics -----------------------------------------------


def test_shrunk_mean_moves_toward_prior() -> None:
    raw = 8 / 2  # two responses of 4
    shrunk = shrunk_mean(8, 2, prior_mean=3.0, prior_weight=5.0)
    assert 3.0 < shrunk < raw
    assert shrunk == pytest.approx((8 + 15) / 7)
    low = shrunk_mean(2, 2, prior_mean=3.0, prior_weight=5.0)
    assert 1.0 < low < 3.0


def test_shrunk_mean_without_prior_weight_is_raw_mean() -> None:
    assert shrunk_mean(17, 5, prior_mean=1.0, prior_weight=0.0) == pytest.approx(3.4)
    assert shrunk_mean(17, 5, prior_mean=1.0, prior_weight=1e-9) == pytest.approx(3.4, abs=1e-6)


def test_shrunk_mean_no_data_is_prior() -> None:
    assert shrunk_mean(0, 0, prior_mean=3.2, prior_weight=4.0) == pytest.approx(3.2)


@pytest.mark.parametrize(
    ("total", "n", "prior_mean", "prior_weight"),
    [(0, 0, 3.0, 0.0), (4, 1, 3.0, -1.0), (4, -1, 3.0, 2.0), (4, 1, math.nan, 2.0)],
)
def test_shrunk_mean_rejects_invalid(
    total: int, n: int, prior_mean: float, prior_weight: float
) -> None:
    with pytest.raises(ValueError):
        shrunk_mean(total, n, prior_mean, prior_weight)


@given(
    st.lists(scores, min_size=1, max_size=50),
    st.floats(min_value=1, max_value=4),
    st.floats(min_value=0.01, max_value=100),
)
def test_shrunk_mean_lies_between_raw_and_prior(
    values: list[int], prior: float, weight: float
) -> None:
    raw = sum(values) / len(values)
    shrunk = shrunk_mean(sum(values), len(values), prior, weight)
    assert min(raw, prior) - 1e-9 <= shrunk <= max(raw, prior) + 1e-9


def _interval(values: list[int]) -> tuple[float, float] | None:
    return mean_interval_95(sum(values), sum(v * v for v in values), len(values))


def test_mean_interval_none_for_fewer_than_two() -> None:
    assert _interval([]) is None
    assert _interval([3]) is None


def test_mean_interval_known_value() -> None:
    # scores 1..4: mean 2.5, sample variance 5/3, half width 1.96 * sqrt(5/12)
    interval = _interval([1, 2, 3, 4])
    assert interval is not None
    half = 1.96 * math.sqrt(5 / 12)
    assert interval == pytest.approx((2.5 - half, 2.5 + half))


def test_mean_interval_zero_width_for_identical_scores() -> None:
    assert _interval([3, 3, 3]) == pytest.approx((3.0, 3.0))


def test_mean_interval_narrower_with_more_data() -> None:
    small = _interval([1, 2, 3, 4])
    large = _interval([1, 2, 3, 4] * 10)
    assert small is not None and large is not None
    assert large[1] - large[0] < small[1] - small[0]


def test_mean_interval_rejects_inconsistent_sums() -> None:
    with pytest.raises(ValueError):
        mean_interval_95(8, 10, 2)  # two scores summing to 8 need sum of squares >= 32


@given(st.lists(scores, min_size=2, max_size=60))
def test_mean_interval_contains_mean(values: list[int]) -> None:
    interval = _interval(values)
    assert interval is not None
    low, high = interval
    mean = sum(values) / len(values)
    assert low <= mean <= high
    assert high - low >= 0


# Officer ranking and waiting-time statistics --------------------------------------------------


def group(totals: list[int]) -> GroupTotals:
    """A group of responses given by their totals (each the sum of nine scores)."""
    return GroupTotals(len(totals), sum(totals), sum(t * t for t in totals))


def test_total_to_ikm_is_exact_and_clipped() -> None:
    assert total_to_ikm(36) == Decimal("100.00")
    assert total_to_ikm(9) == Decimal("25.00")
    assert total_to_ikm(Fraction(65, 2)) == Decimal("90.28")  # 32.5 x 25/9 = 90.2777...
    assert total_to_ikm(37.2) == Decimal("100.00")  # an interval bound beyond the scale
    assert total_to_ikm(8.0) == Decimal("25.00")


def test_prior_weight_by_the_method_of_moments() -> None:
    # Two officers of two responses each, means 30 and 34: SSW = 4 on 2 df, MSW = 2;
    # MSB = 2 x 2^2 + 2 x 2^2 = 16; n0 = (4 - 8/4) / 1 = 2; between = (16 - 2) / 2 = 7.
    k, estimated = prior_weight([group([29, 31]), group([33, 35])], fallback=10.0)
    assert estimated and k == pytest.approx(2 / 7)


@pytest.mark.parametrize("groups", [
    [],
    [group([30, 32, 34])],  # one officer: no between variance
    [group([30]), group([34])],  # no within degrees of freedom
    [group([30, 34]), group([34, 30])],  # equal means: no between variance left
    [group([30, 34]), GroupTotals(0, 0, 0)],  # an empty group does not count
])
def test_prior_weight_falls_back_when_the_data_cannot_tell(groups: list[GroupTotals]) -> None:
    assert prior_weight(groups, fallback=10.0) == (10.0, False)


def test_shared_ranks_give_ties_the_first_rank() -> None:
    scores = {"a": 90, "b": 85, "c": 85, "d": 80}
    assert shared_ranks(["a", "b", "c", "d"], scores.__getitem__) == \
        {"a": 1, "b": 2, "c": 2, "d": 4}
    assert shared_ranks([], scores.__getitem__) == {}


def test_nearest_rank_percentiles() -> None:
    histogram = [(90, 1), (5, 1), (20, 2)]  # unsorted on purpose
    assert nearest_rank(histogram, 1, 2) == 20
    assert nearest_rank(histogram, 9, 10) == 90
    assert nearest_rank(histogram, 1, 4) == 5
    assert nearest_rank([], 1, 2) is None
