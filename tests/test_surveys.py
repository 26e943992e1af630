"""Tests for loading and validating the survey definitions in surveys/*.toml."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.surveys import (
    Survey,
    SurveyError,
    Text,
    latest,
    load_survey,
    load_surveys,
    reference_survey,
)

SURVEYS_DIR = Path(__file__).resolve().parent.parent / "surveys"
SHIPPED = SURVEYS_DIR / "skm-2017.toml"
FILENAME = SHIPPED.name

# Standard wording of PermenPANRB 14/2017 (docs reference §1), in questionnaire order.
STANDARD_ELEMENTS = {
    "U1": (
        "Persyaratan",
        "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis "
        "pelayanannya?",
        ["Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"],
    ),
    "U2": (
        "Sistem, mekanisme, dan prosedur",
        "Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
        ["Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"],
    ),
    "U3": (
        "Waktu penyelesaian",
        "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?",
        ["Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"],
    ),
    "U4": (
        "Biaya/tarif",
        "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
        ["Sangat mahal", "Cukup mahal", "Murah", "Gratis"],
    ),
    "U5": (
        "Produk spesifikasi jenis pelayanan",
        "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang tercantum "
        "dalam standar pelayanan dengan hasil yang diberikan?",
        ["Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"],
    ),
    "U6": (
        "Kompetensi pelaksana",
        "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?",
        ["Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"],
    ),
    "U7": (
        "Perilaku pelaksana",
        "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait kesopanan "
        "dan keramahan?",
        [
            "Tidak sopan dan ramah",
            "Kurang sopan dan ramah",
            "Sopan dan ramah",
            "Sangat sopan dan ramah",
        ],
    ),
    "U8": (
        "Sarana dan prasarana",
        "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
        ["Buruk", "Cukup", "Baik", "Sangat baik"],
    ),
    "U9": (
        "Penanganan pengaduan, saran dan masukan",
        "Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
        [
            "Tidak ada",
            "Ada tetapi tidak berfungsi",
            "Berfungsi kurang maksimal",
            "Dikelola dengan baik",
        ],
    ),
}


@pytest.fixture(scope="module")
def survey() -> Survey:
    return load_survey(SHIPPED)


def _texts(value: object) -> Iterator[Text]:
    """Every Text reachable from a survey dataclass."""
    if isinstance(value, Text):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _texts(getattr(value, field.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _texts(item)


# --- the shipped questionnaire -----------------------------------------------------------------


def test_shipped_survey_identity(survey: Survey) -> None:
    assert survey.survey_id == "skm-2017"
    assert survey.version == 1
    assert survey.regulation == "PermenPANRB No. 14 Tahun 2017"
    assert survey.path == SHIPPED
    assert load_surveys(SURVEYS_DIR)[("skm-2017", 1)] == survey


def test_elements_follow_questionnaire_order(survey: Survey) -> None:
    assert survey.element_codes == tuple(f"U{n}" for n in range(1, 10))
    # The regulation's scope list swaps these two; the questionnaire (and our codes) does not.
    assert survey.elements[7].name.id == "Sarana dan prasarana"
    assert survey.elements[8].name.id == "Penanganan pengaduan, saran dan masukan"
    assert not any("Maklumat" in element.name.id for element in survey.elements)


@pytest.mark.parametrize("code", list(STANDARD_ELEMENTS))
def test_element_uses_standard_wording(survey: Survey, code: str) -> None:
    name, question, labels = STANDARD_ELEMENTS[code]
    element = survey.element(code)
    assert element is not None
    assert element.name.id == name
    assert element.question.id == question
    assert [option.label.id for option in element.options] == labels
    assert [option.score for option in element.options] == [1, 2, 3, 4]
    assert [option.code for option in element.options] == ["1", "2", "3", "4"]


def test_u4_and_u9_answer_labels(survey: Survey) -> None:
    u4 = survey.element("U4")
    u9 = survey.element("U9")
    assert u4 is not None and u9 is not None
    assert [o.label.id for o in u4.options] == ["Sangat mahal", "Cukup mahal", "Murah", "Gratis"]
    assert [o.label.id for o in u9.options] == [
        "Tidak ada",
        "Ada tetapi tidak berfungsi",
        "Berfungsi kurang maksimal",
        "Dikelola dengan baik",
    ]


def test_every_text_has_both_languages(survey: Survey) -> None:
    texts = list(_texts(survey))
    # title, 9 × (name, question, 4 options), wait label and 6 bands, service, comment ×2,
    # 4 profile labels and 2 + 6 + 8 + 7 profile options.
    assert len(texts) == 1 + 9 * 6 + 7 + 1 + 2 + 4 + 23
    for text in texts:
        assert text.id.strip() and text.en.strip()


def test_unscored_items(survey: Survey) -> None:
    assert [band.code for band in survey.wait_bands] == [
        "lt5",
        "5-15",
        "15-30",
        "30-60",
        "60-120",
        "gt120",
    ]
    assert survey.wait_bands[0].min_minutes == 0
    for before, after in zip(survey.wait_bands, survey.wait_bands[1:], strict=False):
        assert before.max_minutes == after.min_minutes
    assert survey.wait_bands[-1].max_minutes is None
    assert survey.wait_band("30-60") == survey.wait_bands[3]
    assert survey.wait_band("nope") is None
    assert survey.comment_max_length == 1000
    assert [item.code for item in survey.profile] == ["sex", "age_band", "education", "occupation"]
    education = survey.profile_item("education")
    assert education is not None
    assert [o.code for o in education.options] == [
        "none",
        "SD",
        "SMP",
        "SMA",
        "D3",
        "S1",
        "S2",
        "S3",
    ]
    assert education.options[0].label.id == "Tidak sekolah"
    assert all(o.score is None for item in survey.profile for o in item.options)
    assert survey.profile_item("nik") is None


def test_element_names_and_wait_labels_come_from_the_file(survey: Survey) -> None:
    names = survey.element_names()
    assert list(names) == [f"U{i}" for i in range(1, 10)]
    assert names == {code: name for code, (name, *_) in STANDARD_ELEMENTS.items()}
    assert survey.element_names("en")["U1"] == "Requirements"
    labels = survey.wait_labels()
    assert list(labels) == ["lt5", "5-15", "15-30", "30-60", "60-120", "gt120"]
    assert (labels["lt5"], labels["gt120"]) == ("Kurang dari 5 menit", "Lebih dari 2 jam")
    assert survey.wait_labels("en")["60-120"] == "1–2 hours"


def test_the_reference_survey_is_the_shipped_file(survey: Survey) -> None:
    assert reference_survey() == survey
    assert reference_survey() is reference_survey()  # read once


def test_text_get_falls_back_to_indonesian() -> None:
    text = Text(id="Sangat baik", en="Very good")
    assert text.get("en") == "Very good"
    assert text.get("en_US") == "Very good"
    assert text.get("id") == "Sangat baik"
    assert text.get("jv") == "Sangat baik"


def test_content_hash_is_sha256_of_the_bytes(survey: Survey, tmp_path: Path) -> None:
    raw = SHIPPED.read_bytes()
    assert survey.content_hash == hashlib.sha256(raw).hexdigest()

    same = tmp_path / FILENAME
    same.write_bytes(raw)
    assert load_survey(same).content_hash == survey.content_hash

    position = raw.index(b"Very good")
    changed = tmp_path / "changed.toml"
    changed.write_bytes(raw[:position] + b"v" + raw[position + 1 :])
    reloaded = load_survey(changed)
    assert reloaded.element("U8") is not None
    assert reloaded.content_hash != survey.content_hash


def test_latest_returns_highest_version(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    (tmp_path / "skm-2017.toml").write_text(text, encoding="utf-8")
    (tmp_path / "skm-2017-v3.toml").write_text(
        _replace(text, "version = 1", "version = 3"), encoding="utf-8"
    )
    (tmp_path / "skm-2017-v2.toml").write_text(
        _replace(text, "version = 1", "version = 2"), encoding="utf-8"
    )
    surveys = load_surveys(tmp_path)
    assert sorted(surveys) == [("skm-2017", 1), ("skm-2017", 2), ("skm-2017", 3)]
    assert latest(surveys, "skm-2017").version == 3
    with pytest.raises(SurveyError, match="skm-2099"):
        latest(surveys, "skm-2099")


# --- broken files ------------------------------------------------------------------------------


def _replace(text: str, old: str, new: str, occurrence: int = 1) -> str:
    """Replace the ``occurrence``-th ``old`` (1-based); fail loudly if it is not there."""
    start = -1
    for _ in range(occurrence):
        start = text.find(old, start + 1)
        assert start >= 0, f"{old!r} occurs fewer than {occurrence} times in the shipped file"
    return text[:start] + new + text[start + len(old) :]


def _drop_line(text: str, prefix: str, occurrence: int = 1) -> str:
    """Delete the ``occurrence``-th line that starts with ``prefix``."""
    lines = text.splitlines(keepends=True)
    matches = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    assert len(matches) >= occurrence, f"fewer than {occurrence} lines start with {prefix!r}"
    del lines[matches[occurrence - 1]]
    return "".join(lines)


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _load_broken(tmp_path: Path, break_it: Callable[[str], str]) -> str:
    text = SHIPPED.read_text(encoding="utf-8")
    broken = break_it(text)
    assert broken != text
    path = tmp_path / FILENAME
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(SurveyError) as caught:
        load_survey(path)
    message = str(caught.value)
    assert message.startswith(f"{FILENAME}: "), message
    return message


def test_syntax_error_reports_the_line(tmp_path: Path) -> None:
    line = _line_of(SHIPPED.read_text(encoding="utf-8"), 'code = "U3"')
    message = _load_broken(tmp_path, lambda t: _replace(t, 'code = "U3"', 'code = = "U3"'))
    assert "invalid TOML" in message
    assert f"line {line}" in message


def test_missing_english_question(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _drop_line(t, "question.en", occurrence=4))
    assert message == f"{FILENAME}: elements[3].question.en is missing"


def test_empty_english_name(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, 'en = "Cost/fee"', 'en = " "'))
    assert message == f"{FILENAME}: elements[3].name.en must not be empty"


def test_three_options(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _drop_line(t, "    { score = 4"))
    assert message == (
        f"{FILENAME}: elements[0].options must be exactly four options scored 1–4 "
        "(found scores 1, 2, 3)"
    )


def test_duplicate_score(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, "score = 4", "score = 3", occurrence=2))
    assert "elements[1].options must be exactly four options scored 1–4" in message
    assert "(found scores 1, 2, 3, 3)" in message


def test_non_integer_score(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, "score = 2", 'score = "2"'))
    assert message == f"{FILENAME}: elements[0].options[1].score must be an integer"


def test_duplicate_element_code(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, 'code = "U2"', 'code = "U1"'))
    assert message == f"{FILENAME}: elements[1].code 'U1' is already used by elements[0].code"


def test_elements_in_the_scope_lists_order_are_refused(tmp_path: Path) -> None:
    # The regulation's scope list puts complaints (U9) before facilities (U8); the
    # questionnaire, and the columns the scores are stored in, do not.
    def swap(text: str) -> str:
        text = _replace(text, 'code = "U8"', 'code = "U0"')
        return _replace(_replace(text, 'code = "U9"', 'code = "U8"'), 'code = "U0"',
                        'code = "U9"')
    message = _load_broken(tmp_path, swap)
    assert message == (f"{FILENAME}: elements must be the nine SKM elements U1–U9 in "
                       "questionnaire order (found U1, U2, U3, U4, U5, U6, U7, U9, U8)")


def test_eight_elements_are_refused(tmp_path: Path) -> None:
    def drop_u9(text: str) -> str:
        start = text.index('[[elements]]\ncode = "U9"')
        return text[:start] + text[text.index("[wait_band]"):]
    message = _load_broken(tmp_path, drop_u9)
    assert message.endswith("(found U1, U2, U3, U4, U5, U6, U7, U8)")


def test_malformed_element_code(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, 'code = "U5"', 'code = "u5"'))
    assert f"{FILENAME}: elements[4].code 'u5' must be" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = _load_broken(
        tmp_path, lambda t: _replace(t, "version = 1\n", 'version = 1\ntitel = "typo"\n')
    )
    assert message.startswith(f"{FILENAME}: titel is not a known key")


def test_unknown_nested_key(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, "max_length =", "maxlength ="))
    assert message.startswith(f"{FILENAME}: comment.maxlength is not a known key")


@pytest.mark.parametrize("bad", ["0", "-1", '"1"', "1.0", "true"])
def test_bad_version(tmp_path: Path, bad: str) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, "version = 1", f"version = {bad}"))
    assert re.fullmatch(rf"{FILENAME}: version must be (an integer|a positive integer.*)", message)


def test_bad_survey_id(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, 'id = "skm-2017"', 'id = "SKM 2017"'))
    assert message.startswith(f"{FILENAME}: id 'SKM 2017' must be a slug")


def test_wait_bands_must_increase_without_gaps(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, "min_minutes = 15", "min_minutes = 20"))
    assert message.startswith(f"{FILENAME}: wait_band.options[2].min_minutes must equal")


def test_wait_band_max_must_exceed_min(tmp_path: Path) -> None:
    message = _load_broken(
        tmp_path, lambda t: _replace(t, "max_minutes = 5\n", "max_minutes = 0\n")
    )
    assert message.startswith(f"{FILENAME}: wait_band.options[0].max_minutes must be greater")


def test_duplicate_wait_band_code(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, 'code = "gt120"', 'code = "lt5"'))
    assert message == (
        f"{FILENAME}: wait_band.options[5].code 'lt5' is already used by wait_band.options[0].code"
    )


@pytest.mark.parametrize("bad", ["0", "5001"])
def test_comment_max_length_bounds(tmp_path: Path, bad: str) -> None:
    message = _load_broken(
        tmp_path, lambda t: _replace(t, "max_length = 1000", f"max_length = {bad}")
    )
    assert message.startswith(f"{FILENAME}: comment.max_length must be between 1 and 5000")


def test_duplicate_profile_option_code(tmp_path: Path) -> None:
    message = _load_broken(tmp_path, lambda t: _replace(t, 'code = "P"', 'code = "L"'))
    assert message == f"{FILENAME}: profile[0].options[1].code 'L' is already used by " + (
        "profile[0].options[0].code"
    )


@pytest.mark.parametrize(
    ("new_code", "clash"),
    [("service", "the fixed item 'service'"), ("U1", "elements[0].code"), ("sex", "profile[0]")],
)
def test_profile_code_must_be_unique_across_items(
    tmp_path: Path, new_code: str, clash: str
) -> None:
    message = _load_broken(
        tmp_path, lambda t: _replace(t, 'code = "age_band"', f'code = "{new_code}"')
    )
    assert message.startswith(f"{FILENAME}: profile[1].code '{new_code}' is already used by")
    assert clash in message


def test_duplicate_id_and_version_across_files(tmp_path: Path) -> None:
    raw = SHIPPED.read_bytes()
    (tmp_path / "a-skm.toml").write_bytes(raw)
    (tmp_path / "b-skm.toml").write_bytes(raw)
    with pytest.raises(SurveyError) as caught:
        load_surveys(tmp_path)
    message = str(caught.value)
    assert "a-skm.toml" in message and "b-skm.toml" in message
    assert "'skm-2017' version 1" in message


def test_broken_file_in_directory_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_bytes(SHIPPED.read_bytes())
    (tmp_path / "bad.toml").write_text("id = \n", encoding="utf-8")
    with pytest.raises(SurveyError, match=r"^bad\.toml: invalid TOML"):
        load_surveys(tmp_path)


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a survey", encoding="utf-8")
    with pytest.raises(SurveyError) as caught:
        load_surveys(tmp_path)
    assert str(tmp_path) in str(caught.value)
    assert "no survey files" in str(caught.value)
