"""Tests for app.nip: NIP shape, calendar dates and plausibility (domain reference §3)."""

from __future__ import annotations

from datetime import date

import pytest

from app.nip import InvalidNip, Nip, parse_nip

VALID = "198609262015051001"
TODAY = date(2026, 6, 1)


def test_valid_nip_parses_into_its_parts() -> None:
    nip = parse_nip(VALID, today=TODAY)
    assert nip == Nip(
        value=VALID,
        birth_date=date(1986, 9, 26),
        start_year=2015,
        start_month=5,
        sex="L",
    )


def test_sex_digit_2_is_female() -> None:
    nip = parse_nip("198609262015052001", today=TODAY)
    assert nip.sex == "P"
    assert nip.value == "198609262015052001"


def test_spaces_and_surrounding_whitespace_are_ignored() -> None:
    assert parse_nip(" 19860926 201505 1 001\n", today=TODAY).value == VALID


def test_default_today_accepts_a_past_nip() -> None:
    assert parse_nip(VALID).birth_date == date(1986, 9, 26)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("19860926201505100", "must be 18 digits, got 17", id="17-digits"),
        pytest.param("1986092620150510011", "must be 18 digits, got 19", id="19-digits"),
        pytest.param("19860926201505100A", "must contain digits only", id="letter"),
        pytest.param("1986-09-26-2015051", "must contain digits only", id="dashes"),
        pytest.param("", "must contain digits only", id="empty"),
        # Arabic-Indic digits are str.isdigit() but are not a NIP.
        pytest.param("١٩٨٦٠٩٢٦٢٠١٥٠٥١٠٠١", "must contain digits only", id="non-ascii-digits"),
        pytest.param("198609262015053001", "digit 15 (sex) must be 1 or 2", id="sex-3"),
        pytest.param("198609262015050001", "digit 15 (sex) must be 1 or 2", id="sex-0"),
        pytest.param("198613262015051001", "19861326 is not a real birth date", id="month-13"),
        pytest.param("198702302015051001", "19870230 is not a real birth date", id="feb-30"),
        pytest.param("198609002015051001", "19860900 is not a real birth date", id="day-00"),
        pytest.param("198609262015001001", "201500 is not a real CPNS start month", id="cpns-00"),
        pytest.param("198609262015131001", "201513 is not a real CPNS start month", id="cpns-13"),
        pytest.param("189912312015051001", "birth date 1899-12-31 is not plausible",
                     id="birth-before-1900"),
        pytest.param("198609261985051001", "CPNS start 1985-05 is not plausible",
                     id="start-before-birth"),
        pytest.param("198609261986091001", "CPNS start 1986-09 is not plausible",
                     id="start-in-birth-month"),
        pytest.param("198609262028011001", "CPNS start 2028-01 is not plausible",
                     id="start-too-far-ahead"),
    ],
)
def test_invalid_nip_gives_a_specific_reason(raw: str, message: str) -> None:
    with pytest.raises(InvalidNip) as excinfo:
        parse_nip(raw, today=TODAY)
    assert message in str(excinfo.value)
    assert repr(raw) in str(excinfo.value)


def test_birth_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidNip, match=r"birth date 1986-09-26 is not plausible"):
        parse_nip(VALID, today=date(1986, 9, 1))


def test_born_today_is_refused_but_born_yesterday_is_not_for_the_date_check() -> None:
    with pytest.raises(InvalidNip, match="birth date 2020-06-15 is not plausible"):
        parse_nip("202006152021011001", today=date(2020, 6, 15))
    assert parse_nip("202006152021011001", today=date(2020, 6, 16)).birth_date == date(
        2020, 6, 15
    )


def test_start_next_year_is_allowed() -> None:
    # A CPNS formation announced for next January is plausible; two years ahead is not.
    assert parse_nip("198609262027011001", today=TODAY).start_year == 2027


def test_invalid_nip_is_a_value_error() -> None:
    assert issubclass(InvalidNip, ValueError)
