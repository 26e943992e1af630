"""SKM index, category and sample size (PermenPANRB 14/2017); officer-ranking stats."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from scipy.special import stdtrit

ELEMENT_CODES: tuple[str, ...] = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")

MIN_SCORE = 1
MAX_SCORE = 4
IKM_SCALE = 25  # converts the 1-4 index unit to the 25-100 scale
IKM_MIN = Decimal("25")
IKM_MAX = Decimal("100")

# Krejcie & Morgan constants, as exact fractions.
CHI_SQUARE = Fraction("3.841")
PROPORTION = Fraction(1, 2)
MARGIN = Fraction(1, 20)


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")


def round_half_up(value: Fraction, places: int) -> Decimal:
    """Round ``value`` exactly to ``places`` decimals, ties away from zero.

    Uses integer arithmetic only, so the result never depends on the decimal
    context or on binary floating point. ``places`` must be >= 0.
    """
    _check_int("places", places)
    if places < 0:
        raise ValueError(f"places must be >= 0, got {places}")
    value = Fraction(value)
    scaled = abs(value) * 10**places
    digits = math.floor(scaled + Fraction(1, 2))
    sign = 1 if value < 0 and digits != 0 else 0
    return Decimal((sign, tuple(int(c) for c in str(digits)), -places))


def nrr(total: int, n: int) -> Fraction:
    """Return the element's average perception value (NRR) = total / n, exactly.

    ``total`` is the sum of one element's scores over ``n`` complete
    questionnaires, so it must lie in ``[n, 4n]``.
    """
    _check_int("n", n)
    _check_int("total", total)
    if n <= 0:
        raise ValueError(f"number of questionnaires must be positive, got {n}")
    if not MIN_SCORE * n <= total <= MAX_SCORE * n:
        raise ValueError(
            f"element total {total} impossible for {n} questionnaires "
            f"(must be between {MIN_SCORE * n} and {MAX_SCORE * n})"
        )
    return Fraction(total, n)


def ikm_from_totals(totals: Sequence[int], n: int) -> Decimal:
    """Return the IKM (25-100, 2 decimals) from per-element score totals.

    IKM = 25 x sum(NRR_i x 1/k), with k = len(totals) (normally 9) and the
    exact weight 1/k, rounded half up to 2 decimals.
    """
    k = len(totals)
    if k == 0:
        raise ValueError("at least one element total is required")
    for total in totals:
        nrr(total, n)  # validates n and each total
    return Decimal(ikm_hundredths(sum(totals), n, k)).scaleb(-2)


def ikm_hundredths(score_sum: int, n: int, k: int = 9) -> int:
    """The IKM in hundredths, exactly: round half up of 2500 x score_sum / (k x n).

    Integer arithmetic only (the aggregation computes hundreds of thousands of these);
    ``score_sum`` is the sum of all k elements' scores over n complete questionnaires.
    """
    _check_int("score_sum", score_sum)
    _check_int("n", n)
    if n <= 0 or k <= 0:
        raise ValueError(f"n and k must be positive, got n={n}, k={k}")
    if not MIN_SCORE * k * n <= score_sum <= MAX_SCORE * k * n:
        raise ValueError(f"score sum {score_sum} impossible for {n} questionnaires of {k}")
    numerator, denominator = IKM_SCALE * 100 * score_sum, k * n
    return (2 * numerator + denominator) // (2 * denominator)


def category_of_hundredths(hundredths: int) -> Category:
    """The category of an IKM given in hundredths (8831 is 88.31)."""
    for lower, cat in CATEGORY_THRESHOLDS_HUNDREDTHS:
        if hundredths >= lower:
            return cat
    return CATEGORY_D


def ikm(responses: Iterable[Sequence[int]]) -> Decimal:
    """Return the IKM (25-100, 2 decimals) from complete questionnaires.

    Each response is a sequence of 9 scores (U1..U9 order), each 1-4.
    Raises ValueError on no responses, a wrong length or a score out of range.
    """
    k = len(ELEMENT_CODES)
    totals = [0] * k
    n = 0
    for index, response in enumerate(responses):
        if len(response) != k:
            raise ValueError(f"response {index} has {len(response)} scores, expected {k}")
        for code, score in zip(ELEMENT_CODES, response, strict=True):
            _check_int(f"response {index} {code}", score)
            if not MIN_SCORE <= score <= MAX_SCORE:
                raise ValueError(
                    f"response {index} {code} score {score} outside {MIN_SCORE}-{MAX_SCORE}"
                )
        totals = [t + s for t, s in zip(totals, response, strict=True)]
        n += 1
    if n == 0:
        raise ValueError("no complete responses: the IKM is undefined")
    return ikm_from_totals(totals, n)


@dataclass(frozen=True)
class Category:
    """Service quality category (mutu pelayanan) of an IKM value."""

    letter: str
    label_id: str
    label_en: str


CATEGORY_A = Category("A", "Sangat baik", "Very good")
CATEGORY_B = Category("B", "Baik", "Good")
CATEGORY_C = Category("C", "Kurang baik", "Poor")
CATEGORY_D = Category("D", "Tidak baik", "Not good")

# Lower bounds on the 2-decimal IKM, highest first (PermenPANRB 14/2017).
CATEGORY_THRESHOLDS: tuple[tuple[Decimal, Category], ...] = (
    (Decimal("88.31"), CATEGORY_A),
    (Decimal("76.61"), CATEGORY_B),
    (Decimal("65.00"), CATEGORY_C),
)


CATEGORY_THRESHOLDS_HUNDREDTHS = tuple(
    (int(lower * 100), cat) for lower, cat in CATEGORY_THRESHOLDS)


def category(ikm: Decimal) -> Category:
    """Classify an IKM value after rounding it half up to 2 decimals.

    >= 88.31 A; >= 76.61 B; >= 65.00 C; else D. Raises ValueError for a
    non-finite value or one outside [25, 100].
    """
    if not isinstance(ikm, Decimal):
        raise ValueError(f"IKM must be a Decimal, got {type(ikm).__name__}")
    if not ikm.is_finite() or not IKM_MIN <= ikm <= IKM_MAX:
        raise ValueError(f"IKM {ikm} outside {IKM_MIN}-{IKM_MAX}")
    rounded = round_half_up(Fraction(ikm), 2)
    for lower, cat in CATEGORY_THRESHOLDS:
        if rounded >= lower:
            return cat
    return CATEGORY_D


def krejcie_morgan(population: int) -> int:
    """Return the Krejcie & Morgan minimum sample size for a population N.

    S = chi2 N P(1-P) / (d^2 (N-1) + chi2 P(1-P)) with chi2 = 3.841, P = 0.5,
    d = 0.05, computed exactly and rounded half up to an integer.
    """
    _check_int("population", population)
    if population < 1:
        raise ValueError(f"population must be at least 1, got {population}")
    pq = PROPORTION * (1 - PROPORTION)
    size = CHI_SQUARE * population * pq / (MARGIN**2 * (population - 1) + CHI_SQUARE * pq)
    return int(round_half_up(size, 0))


def sample_adequate(n: int, population: int) -> bool:
    """Return True when ``n`` responses reach the Krejcie & Morgan size."""
    _check_int("n", n)
    if n < 0:
        raise ValueError(f"number of responses must be >= 0, got {n}")
    return n >= krejcie_morgan(population)


def mean_interval_95(total: int, sum_squares: int, n: int) -> tuple[float, float] | None:
    """Return a normal-approximation 95 % interval for a mean score.

    Built from the sum and the sum of squares of ``n`` scores using the sample
    variance; returns None when n < 2. Not clipped to the score range. For
    officer ranking only, not for the regulation's index.
    """
    _check_int("n", n)
    _check_int("total", total)
    _check_int("sum_squares", sum_squares)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n < 2:
        return None
    if sum_squares * n < total * total:
        raise ValueError("sum_squares is too small for the given total and n")
    variance = (Fraction(sum_squares) - Fraction(total * total, n)) / (n - 1)
    half_width = 1.96 * math.sqrt(float(variance) / n)
    mean = total / n
    return (mean - half_width, mean + half_width)


def shrunk_mean(total: int, n: int, prior_mean: float, prior_weight: float) -> float:
    """Return the empirical-Bayes shrunk mean (total + w*m) / (n + w).

    ``prior_weight`` w acts as w pseudo-responses at ``prior_mean`` m. For
    officer ranking only, not for the regulation's index.
    """
    _check_int("n", n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not math.isfinite(prior_mean) or not math.isfinite(prior_weight) or prior_weight < 0:
        raise ValueError("prior_mean must be finite and prior_weight finite and >= 0")
    if n + prior_weight <= 0:
        raise ValueError("no responses and no prior weight: the mean is undefined")
    return (total + prior_weight * prior_mean) / (n + prior_weight)


# Officer ranking and waiting-time statistics (not the regulation's index) ------------------

K = TypeVar("K", bound=Hashable)
#: One response's total (the sum of its nine scores, 9-36) times this is its IKM-scale value.
TOTAL_TO_IKM = Fraction(IKM_SCALE, len(ELEMENT_CODES))


@dataclass(frozen=True)
class GroupTotals:
    """One group's responses (an officer's, say): how many, the sum of their totals (each the
    sum of a response's scores) and the sum of those totals squared."""

    n: int
    total: int
    sum_squares: int


def total_to_ikm(mean_total: float | Fraction) -> Decimal:
    """A mean of response totals (9-36) on the IKM scale (25-100), clipped, 2 decimals."""
    value = Fraction(mean_total) * TOTAL_TO_IKM
    return round_half_up(min(max(value, Fraction(IKM_MIN)), Fraction(IKM_MAX)), 2)


def prior_weight(groups: Iterable[GroupTotals], fallback: float) -> tuple[float, bool]:
    """k = within-group variance / between-group variance, by the method of moments.

    One-way random-effects ANOVA on the responses' totals (unbalanced groups): MSW is the
    pooled within variance, (MSB - MSW) / n0 the between variance. When there are fewer
    than two groups, no within degrees of freedom, or no between variance left, the data
    cannot tell: returns (``fallback``, False); else (k, True).
    """
    present = [g for g in groups if g.n > 0]
    big_n = sum(g.n for g in present)
    if len(present) < 2 or big_n - len(present) < 1:
        return fallback, False
    ssw = sum(Fraction(g.sum_squares) - Fraction(g.total**2, g.n) for g in present)
    msw = ssw / (big_n - len(present))
    grand = Fraction(sum(g.total for g in present), big_n)
    ssb = sum(g.n * (Fraction(g.total, g.n) - grand) ** 2 for g in present)
    msb = ssb / (len(present) - 1)
    n0 = (big_n - Fraction(sum(g.n**2 for g in present), big_n)) / (len(present) - 1)
    between = (msb - msw) / n0
    if between <= 0:
        return fallback, False
    return float(msw / between), True


def shared_ranks(ordered: Sequence[K], value: Callable[[K], object]) -> dict[K, int]:
    """Ranks of items already ordered best first; equal values share the first one's rank
    ("1, 2, 2, 4")."""
    ranks: dict[K, int] = {}
    for position, item in enumerate(ordered, start=1):
        before = ordered[position - 2] if position > 1 else None
        tied = before is not None and value(before) == value(item)
        ranks[item] = ranks[before] if tied and before is not None else position
    return ranks


def nearest_rank(histogram: Iterable[tuple[int, int]], numerator: int, denominator: int
                 ) -> int | None:
    """The smallest value at which the cumulative share of a histogram of (value, count)
    reaches numerator/denominator (the nearest-rank percentile); None when it is empty."""
    pairs = sorted(histogram)
    total = sum(count for _, count in pairs)
    running = 0
    for minute, count in pairs:
        running += count
        if running * denominator >= total * numerator:
            return minute
    return None


# Before and after an improvement action: Welch's t interval (not the regulation's index) ---

#: Welch degrees of freedom above this are taken as this: the t quantile is then within
#: 0.0003 of its limit 1.95996 and errs wide.
MAX_DF = 10_000


def t_quantile(level: float, df: float) -> float:
    """The two-sided Student t critical value: P(|T| <= t) = ``level`` for ``df`` degrees of
    freedom (2.4469 for 0.95 and 6), for any real ``df`` > 0: SciPy's inverse of the t
    distribution function (``scipy.special.stdtrit``) at (1 + level) / 2. ``df`` above
    MAX_DF is taken as MAX_DF."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if not math.isfinite(df) or df <= 0:
        raise ValueError(f"degrees of freedom must be positive and finite, got {df}")
    return float(stdtrit(min(float(df), float(MAX_DF)), (1 + level) / 2))


@dataclass(frozen=True)
class MeanDifference:
    """After minus before, with Welch's t interval: ``low`` and ``high`` bound the
    difference of the two means at the interval's level; ``df`` is the Welch–Satterthwaite
    degrees of freedom (None when both samples have no spread, and the interval is the
    difference itself)."""

    before: float
    after: float
    difference: float
    low: float
    high: float
    df: float | None

    @property
    def significant(self) -> bool:
        """Whether the interval excludes 0 (no change). Never without spread (``df`` None):
        the t interval is not defined there, and identical answers on each side are too
        thin a basis for the claim."""
        return self.df is not None and (self.low > 0 or self.high < 0)

    def scaled(self, factor: float) -> MeanDifference:
        """The same comparison on another scale (× 25: the index's 25-100)."""
        return MeanDifference(self.before * factor, self.after * factor,
                              self.difference * factor, self.low * factor,
                              self.high * factor, self.df)


def _sample_variance(group: GroupTotals) -> Fraction:
    if group.sum_squares * group.n < group.total * group.total:
        raise ValueError("sum_squares is too small for the given total and n")
    return (Fraction(group.sum_squares) - Fraction(group.total**2, group.n)) / (group.n - 1)


def welch_interval(before: GroupTotals, after: GroupTotals, level: float = 0.95
                   ) -> MeanDifference | None:
    """Welch's t interval for mean(after) - mean(before), from each sample's n, sum and sum
    of squares (``GroupTotals``: a group's values, not response totals, here). None when
    either sample has fewer than 2 values (no variance). Variances and the
    Welch–Satterthwaite degrees of freedom are exact fractions; only the square root and
    the t quantile are floating point."""
    for group in (before, after):
        _check_int("n", group.n)
        _check_int("total", group.total)
        _check_int("sum_squares", group.sum_squares)
        if group.n < 0:
            raise ValueError(f"n must be >= 0, got {group.n}")
    if before.n < 2 or after.n < 2:
        return None
    mean_before, mean_after = Fraction(before.total, before.n), Fraction(after.total, after.n)
    share_before = _sample_variance(before) / before.n
    share_after = _sample_variance(after) / after.n
    difference = mean_after - mean_before
    squared_error = share_before + share_after
    if squared_error == 0:
        return MeanDifference(float(mean_before), float(mean_after), float(difference),
                              float(difference), float(difference), None)
    df = squared_error**2 / (share_before**2 / (before.n - 1) + share_after**2 / (after.n - 1))
    half_width = t_quantile(level, float(df)) * math.sqrt(squared_error)
    return MeanDifference(float(mean_before), float(mean_after), float(difference),
                          float(difference) - half_width, float(difference) + half_width,
                          float(df))
