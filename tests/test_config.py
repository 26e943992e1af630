"""Tests for app.config: Settings.from_env defaults, validation and the secret key file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app import config
from app.config import ALL_INTERFACES, PROJECT_ROOT, ConfigError, Settings

GOOD_KEY = "a-good-secret-key-of-enough-length"


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.app_env == "development"
    assert settings.timezone == "Asia/Jakarta"
    assert str(settings.tz) == "Asia/Jakarta"
    assert settings.default_locale == "id"
    assert settings.port == 5000
    assert settings.public_base_url == "http://127.0.0.1:5000"
    assert settings.smtp_starttls is True
    assert settings.secret_key == ""
    assert settings.instance_dir == PROJECT_ROOT / "instance"
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'instance' / 'suara-warga.db'}"
    assert settings.is_sqlite


def test_default_database_lives_under_instance_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})
    assert settings.instance_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'suara-warga.db'}"


def test_from_env_reads_the_given_mapping_not_os_environ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "abc")
    monkeypatch.setenv("APP_ENV", "staging")
    assert Settings.from_env({}).port == 5000


def test_from_env_reads_os_environ_when_no_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "8123")
    assert Settings.from_env().port == 8123


def test_good_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "APP_ENV": "production",
            "SECRET_KEY": GOOD_KEY,
            "PORT": "8080",
            "TIMEZONE": "Asia/Makassar",
            "DEFAULT_LOCALE": "en",
            "PUBLIC_BASE_URL": "https://suara.lampungutarakab.go.id/",
            "SMTP_STARTTLS": "off",
            "OFFICER_MIN_N": "5",
        }
    )
    assert settings.app_env == "production"
    assert settings.secret_key == GOOD_KEY
    assert settings.port == 8080
    assert settings.timezone == "Asia/Makassar"
    assert settings.default_locale == "en"
    # The trailing slash is dropped so that URLs can be joined with "/s/…".
    assert settings.public_base_url == "https://suara.lampungutarakab.go.id"
    assert settings.smtp_starttls is False
    assert settings.officer_min_n == 5


def test_secret_key_is_not_in_repr() -> None:
    settings = Settings.from_env({"SECRET_KEY": GOOD_KEY, "SMTP_PASSWORD": "smtp-pass-word"})
    assert GOOD_KEY not in repr(settings)
    assert "smtp-pass-word" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("PORT", "0"),
        ("SMTP_PORT", "-1"),
        ("TIMEZONE", "Mars/Base"),
        ("TIMEZONE", "../../etc/passwd"),
        ("DEFAULT_LOCALE", "fr"),
        ("PUBLIC_BASE_URL", "ftp://x"),
        ("PUBLIC_BASE_URL", "not a url"),
        ("PUBLIC_BASE_URL", "https://x.example?a=1"),
        ("DATABASE_URL", "mysql://user:pw@localhost/suara"),
        ("SMTP_STARTTLS", "maybe"),
        ("APP_ENV", "staging"),
        ("SECRET_KEY", "too-short"),
    ],
)
def test_bad_value_fails_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env({name: value})
    assert str(excinfo.value).startswith(f"{name}:")


def test_bad_value_message_quotes_the_value() -> None:
    with pytest.raises(ConfigError, match=r"PORT: must be between 1 and 65535, got 70000"):
        Settings.from_env({"PORT": "70000"})
    with pytest.raises(ConfigError, match=r"PORT: expected a whole number, got 'abc'"):
        Settings.from_env({"PORT": "abc"})


def test_production_without_secret_key_is_refused() -> None:
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env({"APP_ENV": "production"})
    assert "SECRET_KEY" in str(excinfo.value)
    assert "APP_ENV=production" in str(excinfo.value)


def test_secret_key_of_16_characters_is_enough() -> None:
    assert Settings.from_env({"SECRET_KEY": "x" * 16}).secret_key == "x" * 16
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"SECRET_KEY": "x" * 15})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://suara@db:5432/suara", "postgresql+psycopg://suara@db:5432/suara"),
        ("postgresql+psycopg://suara@db/suara", "postgresql+psycopg://suara@db/suara"),
        ("sqlite:////var/lib/suara/suara.db", "sqlite:////var/lib/suara/suara.db"),
    ],
    # Plain ids: the conftest summary counts node ids containing "[postgresql" as DB tests.
    ids=["pg-bare", "pg-psycopg", "embedded-file"],
)
def test_database_url_driver(given: str, expected: str) -> None:
    assert Settings.from_env({"DATABASE_URL": given}).database_url == expected


def test_with_secret_key_generates_a_private_key_once(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    settings = Settings(instance_dir=instance)
    first = settings.with_secret_key()
    key_file = instance / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert first.secret_key == key_file.read_text().strip()
    assert settings.secret_key == "", "with_secret_key must return a copy"

    second = Settings(instance_dir=instance).with_secret_key()
    assert second.secret_key == first.secret_key
    assert key_file.read_text().strip() == first.secret_key


def test_with_secret_key_keeps_a_configured_key(tmp_path: Path) -> None:
    settings = Settings(instance_dir=tmp_path / "instance", secret_key=GOOD_KEY)
    assert settings.with_secret_key().secret_key == GOOD_KEY
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_create_app_refuses_production_without_a_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env.update(APP_ENV="production", INSTANCE_DIR=str(tmp_path / "instance"))
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-c", "from app import create_app; create_app()"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ConfigError" in result.stderr
    # Nothing was generated as a fallback.
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_secret_key_fallbacks_are_the_old_keys_separated_by_spaces() -> None:
    settings = Settings.from_env({"SECRET_KEY": "n" * 32,
                                  "SECRET_KEY_FALLBACKS": f" {'a' * 16}  {'b' * 40} "})
    assert settings.secret_key_fallbacks == ("a" * 16, "b" * 40)
    assert Settings.from_env({"SECRET_KEY": "n" * 32}).secret_key_fallbacks == ()
    assert "a" * 16 not in repr(settings)


@pytest.mark.parametrize(("env", "message"), [
    ({"SECRET_KEY": "n" * 32, "SECRET_KEY_FALLBACKS": f"{'a' * 16} short"},
     "SECRET_KEY_FALLBACKS: key 2 must be at least 16 characters long"),
    ({"SECRET_KEY_FALLBACKS": "a" * 16},
     "SECRET_KEY_FALLBACKS: set SECRET_KEY too"),
    ({"SECRET_KEY": "n" * 32, "SECRET_KEY_FALLBACKS": "n" * 32},
     "SECRET_KEY_FALLBACKS: the current SECRET_KEY must not be listed"),
])
def test_bad_secret_key_fallbacks_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_the_default_submission_limit_is_generous_for_a_shared_carrier_address() -> None:
    """Many citizens share one public address behind carrier-grade NAT (issue 3): the
    default per-address limit lets a busy office through, at least 100 submissions a minute
    and 1,000 an hour."""
    from limits import parse_many

    for item in parse_many(Settings().rate_limit_submit):
        hours = item.get_expiry() / 3600
        if item.get_expiry() <= 60:
            assert item.amount >= 100, str(item)
        else:
            assert item.amount / hours >= 1000, str(item)


def test_the_default_public_url_follows_port_and_host() -> None:
    assert Settings.from_env({"PORT": "5077"}).public_base_url == "http://127.0.0.1:5077"
    settings = Settings.from_env({"HOST": "192.168.1.20", "PORT": "8080"})
    assert settings.host == "192.168.1.20"
    assert settings.public_base_url == "http://192.168.1.20:8080"
    assert Settings.from_env({}).host == "127.0.0.1"


def test_a_given_public_url_wins_over_host_and_port() -> None:
    settings = Settings.from_env({"HOST": ALL_INTERFACES, "PORT": "5077",
                                  "PUBLIC_BASE_URL": "https://suara.example.id"})
    assert settings.public_base_url == "https://suara.example.id"


def test_every_interface_gives_the_lan_address_or_loopback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "lan_address", lambda: "10.1.2.3")
    assert Settings.from_env({"HOST": ALL_INTERFACES, "PORT": "5077"}).public_base_url \
        == "http://10.1.2.3:5077"
    monkeypatch.setattr(config, "lan_address", lambda: None)
    assert Settings.from_env({"HOST": ALL_INTERFACES}).public_base_url == "http://127.0.0.1:5000"


def test_the_lan_address_is_not_loopback() -> None:
    address = config.lan_address()
    assert address is None or not address.startswith("127.")


@pytest.mark.parametrize("value", ["::1", "999.1.1.1", "host name", "http://x", "-bad"])
def test_a_bad_host_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^HOST: "):
        Settings.from_env({"HOST": value})
