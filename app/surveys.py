"""Load and validate the questionnaire definitions in surveys/*.toml into frozen dataclasses."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.config import PROJECT_ROOT
from app.scoring import ELEMENT_CODES

#: The questionnaire of the regulation shipped with the code: reports that span survey
#: versions (weekly summaries, the digest) name elements and wait bands as it does.
REFERENCE_SURVEY_PATH = PROJECT_ROOT / "surveys" / "skm-2017.toml"

#: Codes of the unscored items every survey has; no element or profile item may reuse them.
FIXED_ITEM_CODES = ("wait_band", "service", "comment")
#: The SKM answer scale: every element has exactly these four scores.
ELEMENT_SCORES = (1, 2, 3, 4)
#: Upper bound for ``comment.max_length``; longer free text belongs in a complaint channel.
COMMENT_MAX_LENGTH_LIMIT = 5000

_SURVEY_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ELEMENT_CODE = re.compile(r"[A-Z][0-9]+")
# Profile item codes become form field names and export columns.
_ITEM_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Option codes are submitted as form values and stored; keep them URL- and CSV-safe.
_OPTION_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

_TOP_LEVEL_KEYS = frozenset(
    {
        "id",
        "version",
        "title",
        "regulation",
        "elements",
        "wait_band",
        "service",
        "comment",
        "profile",
    }
)


class SurveyError(Exception):
    """A survey file is unreadable or invalid; the message names the file and the key path."""


@dataclass(frozen=True)
class Text:
    """A text in Bahasa Indonesia (the default locale) and English."""

    id: str
    en: str

    def get(self, locale: str) -> str:
        """Return the text for ``locale`` ("en", "en_US", "id", …), falling back to Indonesian."""
        language = locale.replace("-", "_").split("_", 1)[0].lower()
        return self.en if language == "en" else self.id


@dataclass(frozen=True)
class Option:
    """One answer choice: scored for elements (code is ``str(score)``), unscored otherwise."""

    score: int | None
    code: str
    label: Text


@dataclass(frozen=True)
class Element:
    """One scored SKM element (U1–U9), its question and its four options ordered by score."""

    code: str
    name: Text
    question: Text
    options: tuple[Option, ...]


@dataclass(frozen=True)
class WaitBand:
    """A self-reported waiting-time band: ``min_minutes <= wait < max_minutes`` (None: open)."""

    code: str
    label: Text
    min_minutes: int
    max_minutes: int | None


@dataclass(frozen=True)
class ProfileItem:
    """An optional, unscored respondent profile question (sex, age band, …)."""

    code: str
    label: Text
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Survey:
    """One validated questionnaire version, as loaded from its TOML file."""

    survey_id: str
    version: int
    title: Text
    regulation: str
    elements: tuple[Element, ...]
    wait_label: Text
    wait_bands: tuple[WaitBand, ...]
    service_label: Text
    comment_label: Text
    comment_hint: Text
    comment_max_length: int
    profile: tuple[ProfileItem, ...]
    content_hash: str
    path: Path

    @property
    def element_codes(self) -> tuple[str, ...]:
        """The element codes in questionnaire order, e.g. ("U1", …, "U9")."""
        return tuple(element.code for element in self.elements)

    def element(self, code: str) -> Element | None:
        """Return the element with ``code``, or None."""
        return next((element for element in self.elements if element.code == code), None)

    def wait_band(self, code: str) -> WaitBand | None:
        """Return the waiting-time band with ``code``, or None."""
        return next((band for band in self.wait_bands if band.code == code), None)

    def profile_item(self, code: str) -> ProfileItem | None:
        """Return the profile item with ``code``, or None."""
        return next((item for item in self.profile if item.code == code), None)

    def element_names(self, locale: str = "id") -> dict[str, str]:
        """Each element's name by code, in questionnaire order ("U1": "Persyaratan", …)."""
        return {element.code: element.name.get(locale) for element in self.elements}

    def wait_labels(self, locale: str = "id") -> dict[str, str]:
        """Each waiting-time band's label by code, shortest wait first."""
        return {band.code: band.label.get(locale) for band in self.wait_bands}


@dataclass(frozen=True)
class _Table:
    """A TOML table being validated, with its key path for error messages."""

    filename: str
    path: str
    data: Mapping[str, object]

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str) -> SurveyError:
        return SurveyError(f"{self.filename}: {self.where(key)} {problem}")

    def only_keys(self, allowed: frozenset[str]) -> None:
        # A misspelt key would otherwise be ignored and its intended value silently lost.
        for key in self.data:
            if key not in allowed:
                raise self.error(key, f"is not a known key (allowed: {', '.join(sorted(allowed))})")

    def has(self, key: str) -> bool:
        return key in self.data

    def value(self, key: str) -> object:
        if key not in self.data:
            raise self.error(key, "is missing")
        return self.data[key]

    def string(self, key: str) -> str:
        value = self.value(key)
        if not isinstance(value, str):
            raise self.error(key, "must be a string")
        if not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def integer(self, key: str) -> int:
        value = self.value(key)
        # bool is a subclass of int in Python; `true` is not a number in a survey file.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, "must be an integer")
        return value

    def table(self, key: str) -> _Table:
        value = self.value(key)
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return _Table(self.filename, self.where(key), value)

    def tables(self, key: str) -> list[_Table]:
        value = self.value(key)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(key, "must be an array of tables")
        return [
            _Table(self.filename, f"{self.where(key)}[{index}]", item)
            for index, item in enumerate(value)
        ]

    def text(self, key: str) -> Text:
        sub = self.table(key)
        sub.only_keys(frozenset({"id", "en"}))
        return sub.own_text()

    def own_text(self) -> Text:
        """Read the ``id`` and ``en`` keys of this table itself (options carry them inline)."""
        return Text(id=self.string("id"), en=self.string("en"))

    def code(self, key: str, pattern: re.Pattern[str], shape: str) -> str:
        value = self.string(key)
        if not pattern.fullmatch(value):
            raise self.error(key, f"{value!r} must be {shape}")
        return value


def _claim(table: _Table, key: str, code: str, seen: dict[str, str], *, fold: bool = False) -> None:
    """Record ``code`` in ``seen`` (code → where it is declared), rejecting a repeat."""
    token = code.casefold() if fold else code
    if token in seen:
        raise table.error(key, f"{code!r} is already used by {seen[token]}")
    seen[token] = table.where(key)


def _parse_element(table: _Table) -> Element:
    table.only_keys(frozenset({"code", "name", "question", "options"}))
    code = table.code("code", _ELEMENT_CODE, "an upper-case letter followed by digits, e.g. U1")
    name = table.text("name")
    question = table.text("question")
    options: list[Option] = []
    for option_table in table.tables("options"):
        option_table.only_keys(frozenset({"score", "id", "en"}))
        score = option_table.integer("score")
        options.append(Option(score=score, code=str(score), label=option_table.own_text()))
    scores = [option.score for option in options]
    if sorted(score for score in scores if score is not None) != list(ELEMENT_SCORES):
        found = ", ".join(str(score) for score in scores) or "none"
        raise table.error(
            "options", f"must be exactly four options scored 1–4 (found scores {found})"
        )
    options.sort(key=lambda option: option.score or 0)
    return Element(code=code, name=name, question=question, options=tuple(options))


def _parse_wait_bands(table: _Table) -> tuple[WaitBand, ...]:
    bands: list[WaitBand] = []
    seen: dict[str, str] = {}
    band_tables = table.tables("options")
    if not band_tables:
        raise table.error("options", "must contain at least one band")
    for index, band_table in enumerate(band_tables):
        band_table.only_keys(frozenset({"code", "id", "en", "min_minutes", "max_minutes"}))
        code = band_table.code("code", _OPTION_CODE, "letters, digits, '-' or '_'")
        _claim(band_table, "code", code, seen)
        label = band_table.own_text()
        min_minutes = band_table.integer("min_minutes")
        if min_minutes < 0:
            raise band_table.error("min_minutes", "must not be negative")
        max_minutes: int | None = None
        if band_table.has("max_minutes"):
            max_minutes = band_table.integer("max_minutes")
            if max_minutes <= min_minutes:
                raise band_table.error(
                    "max_minutes", f"must be greater than min_minutes ({min_minutes})"
                )
        elif index != len(band_tables) - 1:
            raise band_table.error("max_minutes", "is missing (only the last band is open-ended)")
        if bands:
            # Contiguous bands: every wait falls in exactly one band, no overlap, no gap.
            previous = bands[-1].max_minutes
            if min_minutes != previous:
                raise band_table.error(
                    "min_minutes",
                    f"must equal the previous band's max_minutes ({previous}) so that bands "
                    "increase without gaps or overlaps",
                )
        bands.append(WaitBand(code, label, min_minutes, max_minutes))
    return tuple(bands)


def _parse_profile_item(table: _Table) -> ProfileItem:
    table.only_keys(frozenset({"code", "label", "options"}))
    code = table.code("code", _ITEM_CODE, "a letter followed by letters, digits or '_'")
    label = table.text("label")
    option_tables = table.tables("options")
    if len(option_tables) < 2:
        raise table.error("options", "must offer at least two options")
    options: list[Option] = []
    seen: dict[str, str] = {}
    for option_table in option_tables:
        option_table.only_keys(frozenset({"code", "id", "en"}))
        option_code = option_table.code("code", _OPTION_CODE, "letters, digits, '-' or '_'")
        _claim(option_table, "code", option_code, seen)
        options.append(Option(score=None, code=option_code, label=option_table.own_text()))
    return ProfileItem(code=code, label=label, options=tuple(options))


def _parse_survey(root: _Table, content_hash: str, path: Path) -> Survey:
    root.only_keys(_TOP_LEVEL_KEYS)
    survey_id = root.code("id", _SURVEY_ID, "a slug of lower-case letters, digits and '-'")
    version = root.integer("version")
    if version < 1:
        raise root.error("version", f"must be a positive integer (found {version})")
    title = root.text("title")
    regulation = root.string("regulation")

    # Item codes become form fields and export columns, so they must be unique case-insensitively.
    item_codes = {code.casefold(): f"the fixed item {code!r}" for code in FIXED_ITEM_CODES}

    element_tables = root.tables("elements")
    if not element_tables:
        raise root.error("elements", "must contain at least one element")
    elements: list[Element] = []
    for element_table in element_tables:
        element = _parse_element(element_table)
        _claim(element_table, "code", element.code, item_codes, fold=True)
        elements.append(element)
    codes = tuple(element.code for element in elements)
    if codes != ELEMENT_CODES:
        # Scores are stored, indexed and reported as the nine elements of the regulation's
        # questionnaire; another order (the scope list puts U9 before U8) or count would put
        # answers under the wrong element.
        raise root.error("elements", "must be the nine SKM elements U1–U9 in questionnaire "
                         f"order (found {', '.join(codes)})")

    wait = root.table("wait_band")
    wait.only_keys(frozenset({"label", "options"}))
    wait_label = wait.text("label")
    wait_bands = _parse_wait_bands(wait)

    service = root.table("service")
    service.only_keys(frozenset({"label"}))
    service_label = service.text("label")

    comment = root.table("comment")
    comment.only_keys(frozenset({"label", "hint", "max_length"}))
    comment_label = comment.text("label")
    comment_hint = comment.text("hint")
    max_length = comment.integer("max_length")
    if not 1 <= max_length <= COMMENT_MAX_LENGTH_LIMIT:
        raise comment.error(
            "max_length",
            f"must be between 1 and {COMMENT_MAX_LENGTH_LIMIT} (found {max_length})",
        )

    profile: list[ProfileItem] = []
    if root.has("profile"):
        for item_table in root.tables("profile"):
            item = _parse_profile_item(item_table)
            _claim(item_table, "code", item.code, item_codes, fold=True)
            profile.append(item)

    return Survey(
        survey_id=survey_id,
        version=version,
        title=title,
        regulation=regulation,
        elements=tuple(elements),
        wait_label=wait_label,
        wait_bands=wait_bands,
        service_label=service_label,
        comment_label=comment_label,
        comment_hint=comment_hint,
        comment_max_length=max_length,
        profile=tuple(profile),
        content_hash=content_hash,
        path=path,
    )


def load_survey(path: Path) -> Survey:
    """Load and validate one survey file; raise SurveyError naming the file and key on error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SurveyError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SurveyError(f"{path.name}: is not valid UTF-8 (byte {exc.start})") from exc
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message ends with "(at line N, column M)".
        raise SurveyError(f"{path.name}: invalid TOML: {exc}") from exc
    content_hash = hashlib.sha256(raw).hexdigest()
    return _parse_survey(_Table(path.name, "", data), content_hash, path)


def load_surveys(directory: Path) -> dict[tuple[str, int], Survey]:
    """Load every ``*.toml`` in ``directory``, keyed by (survey id, version).

    Raises SurveyError if the directory holds no survey file, if any file is invalid, or if two
    files declare the same (id, version).
    """
    if not directory.is_dir():
        raise SurveyError(f"{directory}: is not a directory")
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise SurveyError(f"{directory}: contains no survey files (*.toml)")
    surveys: dict[tuple[str, int], Survey] = {}
    for path in paths:
        survey = load_survey(path)
        key = (survey.survey_id, survey.version)
        if key in surveys:
            raise SurveyError(
                f"{path.name}: survey id {survey.survey_id!r} version {survey.version} is "
                f"already declared in {surveys[key].path.name}"
            )
        surveys[key] = survey
    return surveys


def latest(surveys: Mapping[tuple[str, int], Survey], survey_id: str) -> Survey:
    """Return the highest version of ``survey_id``; raise SurveyError if none is loaded."""
    versions = [survey for (sid, _), survey in surveys.items() if sid == survey_id]
    if not versions:
        raise SurveyError(f"no survey with id {survey_id!r} is loaded")
    return max(versions, key=lambda survey: survey.version)


def by_reference(surveys: Mapping[tuple[str, int], Survey], ref: str) -> Survey | None:
    """The survey named ``id/version`` (e.g. skm-2017/1), or None when none is loaded."""
    survey_id, _, version = ref.partition("/")
    if not version.isascii() or not version.isdigit():
        return None
    return surveys.get((survey_id, int(version)))


@cache
def reference_survey() -> Survey:
    """The bundled SKM questionnaire (REFERENCE_SURVEY_PATH), loaded once on first use."""
    return load_survey(REFERENCE_SURVEY_PATH)
