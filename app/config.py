"""Typed settings read once from the environment."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_ENVS = ("development", "production", "test")
LOCALES = ("id", "en")
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (a setting's value, chosen by whoever runs the demo)
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


class ConfigError(Exception):
    """A setting is missing or has a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in choices:
        raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {value!r}")
    return value


def _fallback_keys(env: Mapping[str, str], name: str, secret_key: str) -> tuple[str, ...]:
    """Old secret keys, separated by spaces; each as long as a key must be, none the key."""
    keys = tuple((env.get(name) or "").split())
    for number, key in enumerate(keys, start=1):
        if len(key) < 16:
            raise ConfigError(f"{name}: key {number} must be at least 16 characters long")
    if keys and not secret_key:
        raise ConfigError(f"{name}: set SECRET_KEY too (the new key); these are the old ones")
    if secret_key in keys:
        raise ConfigError(f"{name}: the current SECRET_KEY must not be listed as an old key")
    return keys


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"{name}: expected an absolute http(s) URL such as "
                          f"https://suara.lampungutarakab.go.id, got {value!r}")
    return value


def _host(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).strip()
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        # A name of digits and dots only is a mistyped address, not a host name.
        if _HOSTNAME.fullmatch(value) and not value.replace(".", "").isdigit():
            return value
        raise ConfigError(f"{name}: expected an IPv4 address or a host name such as 127.0.0.1 "
                          f"or 0.0.0.0 (every interface), got {value!r}") from None
    if address.version != 4:
        raise ConfigError(f"{name}: only IPv4 addresses are supported, got {value!r}")
    return value


def lan_address() -> str | None:
    """This machine's address on its local network, or None when none can be found.

    Connecting a UDP socket sends nothing; it only asks the system which interface would
    carry traffic outward, and that interface's address is what a phone on the same
    network reaches.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed beyond this machine
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return None if ipaddress.ip_address(address).is_loopback else address


def reachable_host(host: str) -> str | None:
    """The host a browser uses to reach a server listening on ``host``; None when it listens
    on every interface and no LAN address can be found."""
    return lan_address() if host == ALL_INTERFACES else host


def serving_urls(host: str, port: int) -> list[str]:
    """The addresses a server listening on ``host``:``port`` answers a browser on: loopback
    and the LAN address (when one is found) for every interface, else the host itself."""
    if host != ALL_INTERFACES:
        return [f"http://{host}:{port}"]
    lan = lan_address()
    return [f"http://127.0.0.1:{port}"] + ([f"http://{lan}:{port}"] if lan else [])


def _database_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    scheme = value.split(":", 1)[0]
    if not (scheme.startswith("sqlite") or scheme.startswith("postgres")):
        raise ConfigError(f"{name}: expected a sqlite:/// or postgresql+psycopg:// URL, "
                          f"got scheme {scheme!r}")
    if scheme in ("postgresql", "postgres"):
        # The project ships psycopg 3; a bare postgresql:// would ask for psycopg2.
        value = "postgresql+psycopg" + value[len(scheme):]
    return value


def _timezone(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}: unknown time zone {value!r} (e.g. Asia/Jakarta)") from None
    return value


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name}: expected limits such as '120 per minute;2000 per hour', "
                          f"got {value!r}") from None
    return value


@dataclass(frozen=True)
class Settings:
    """Every knob of the service; see the README table for what each one does."""

    app_env: str = "development"
    secret_key: str = field(default="", repr=False)
    # Keys retired by a rotation: still accepted on signed data, never used to sign.
    secret_key_fallbacks: tuple[str, ...] = field(default=(), repr=False)
    database_url: str = ""
    instance_dir: Path = PROJECT_ROOT / "instance"
    surveys_dir: Path = PROJECT_ROOT / "surveys"
    translations_dir: Path = PROJECT_ROOT / "translations"
    public_base_url: str = "http://127.0.0.1:5000"
    host: str = "127.0.0.1"
    timezone: str = "Asia/Jakarta"
    default_locale: str = "id"
    port: int = 5000
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "Suara Warga <noreply@localhost>"
    smtp_starttls: bool = True
    officer_min_n: int = 10
    # Weeks before and after an improvement action's start whose responses measure it.
    action_window_weeks: int = 8
    aggregate_every_seconds: int = 600
    scheduler_lock_stale_seconds: int = 90
    retention_hash_days: int = 30
    retention_job_runs_days: int = 90
    sqlite_busy_timeout_ms: int = 5000
    ratelimit_storage_uri: str = "memory://"
    rate_limit_submit: str = "120 per minute;2000 per hour"
    # Pairing a kiosk tablet: per client address (a six-digit code must not be guessable).
    rate_limit_pair: str = "5 per minute;30 per hour"
    # Failed pairings from all addresses together.
    rate_limit_pair_failures: str = "20 per minute;100 per hour"
    trusted_proxies: int = 0
    # Days a new API token (personal or integration) lasts unless its creator says otherwise.
    api_token_days: int = 90

    @property
    def tz(self) -> ZoneInfo:
        """The configured local time zone, where days, weeks and months are cut."""
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; a bad value raises ConfigError naming it."""
        env = os.environ if env is None else env
        app_env = _choice(env, "APP_ENV", "development", APP_ENVS)
        instance_dir = Path(env.get("INSTANCE_DIR") or PROJECT_ROOT / "instance")
        surveys_dir = Path(env.get("SURVEYS_DIR") or PROJECT_ROOT / "surveys")
        secret_key = env.get("SECRET_KEY", "")
        if secret_key and len(secret_key) < 16:
            raise ConfigError("SECRET_KEY: must be at least 16 characters long")
        if not secret_key and app_env == "production":
            raise ConfigError(
                "SECRET_KEY: must be set when APP_ENV=production "
                '(generate one with: python -c "import secrets; print(secrets.token_hex(32))")'
            )
        default_db = f"sqlite:///{instance_dir / 'suara-warga.db'}"
        host = _host(env, "HOST", "127.0.0.1")
        port = _int(env, "PORT", 5000, 1, 65535)
        # The default address is where `serve` itself answers; with every interface, the
        # LAN address (loopback when none is found, and `serve` says so).
        default_base = ("" if env.get("PUBLIC_BASE_URL")
                        else f"http://{reachable_host(host) or '127.0.0.1'}:{port}")
        return cls(
            app_env=app_env,
            secret_key=secret_key,
            secret_key_fallbacks=_fallback_keys(env, "SECRET_KEY_FALLBACKS", secret_key),
            database_url=_database_url(env, "DATABASE_URL", default_db),
            instance_dir=instance_dir,
            surveys_dir=surveys_dir,
            translations_dir=Path(env.get("TRANSLATIONS_DIR") or PROJECT_ROOT / "translations"),
            public_base_url=_base_url(env, "PUBLIC_BASE_URL", default_base),
            host=host,
            timezone=_timezone(env, "TIMEZONE", "Asia/Jakarta"),
            default_locale=_choice(env, "DEFAULT_LOCALE", "id", LOCALES),
            port=port,
            smtp_host=env.get("SMTP_HOST", ""),
            smtp_port=_int(env, "SMTP_PORT", 587, 1, 65535),
            smtp_user=env.get("SMTP_USER", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_from=env.get("SMTP_FROM") or "Suara Warga <noreply@localhost>",
            smtp_starttls=_bool(env, "SMTP_STARTTLS", True),
            officer_min_n=_int(env, "OFFICER_MIN_N", 10, 1, 1000),
            action_window_weeks=_int(env, "ACTION_WINDOW_WEEKS", 8, 1, 52),
            aggregate_every_seconds=_int(env, "AGGREGATE_EVERY_SECONDS", 600, 1, 86400),
            scheduler_lock_stale_seconds=_int(env, "SCHEDULER_LOCK_STALE_SECONDS", 90, 3, 3600),
            retention_hash_days=_int(env, "RETENTION_HASH_DAYS", 30, 1, 3650),
            retention_job_runs_days=_int(env, "RETENTION_JOB_RUNS_DAYS", 90, 1, 3650),
            sqlite_busy_timeout_ms=_int(env, "SQLITE_BUSY_TIMEOUT_MS", 5000, 0, 600_000),
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI") or "memory://",
            rate_limit_submit=_rate_limit(env, "RATE_LIMIT_SUBMIT",
                                          "120 per minute;2000 per hour"),
            rate_limit_pair=_rate_limit(env, "RATE_LIMIT_PAIR", "5 per minute;30 per hour"),
            rate_limit_pair_failures=_rate_limit(env, "RATE_LIMIT_PAIR_FAILURES",
                                                 "20 per minute;100 per hour"),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 0, 0, 5),
            api_token_days=_int(env, "API_TOKEN_DAYS", 90, 1, 3650),
        )

    def with_secret_key(self) -> Settings:
        """Return settings that carry a secret key, generating a development one if needed.

        Outside production a key is created once in ``instance/secret_key`` and reused, so
        sessions survive a restart. In production from_env already refused a missing key.
        """
        if self.secret_key:
            return self
        path = self.instance_dir / "secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: of several processes starting at once exactly one writes the key, and
            # the file is private from its first byte.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        key = path.read_text().strip()
        if len(key) < 16:
            raise ConfigError(f"SECRET_KEY: {path} is empty or too short; delete it to have "
                              "a new one generated, or set SECRET_KEY")
        return replace(self, secret_key=key)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (used by tests and the CLI)."""
        return replace(self, **changes)
