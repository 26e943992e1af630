"""The Monday digest: each unit's summary of the past week, sent once to the unit's heads."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache, partial
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel.dates import format_date, format_interval, format_skeleton
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions import actions_due
from app.aggregation import WITHIN_MINUTES
from app.charts import format_number, format_share
from app.config import PROJECT_ROOT, Settings
from app.illegal_fees import PaidForFree, paid_for_free
from app.kiosks import KioskStatus, alerts
from app.models import Digest, ImprovementAction, Unit, User
from app.summary import WeeklySummary, weekly_summary
from app.summary_period import SummaryPeriod
from app.surveys import reference_survey

EMAIL_TEMPLATES = PROJECT_ROOT / "app" / "templates" / "email"

# Longer than any send can take (SMTP timeout 30 s per step), shorter than the hour between
# runs: a claim this old was left by a process that died while sending.
CLAIM_STALE = timedelta(minutes=15)


@dataclass(frozen=True)
class DigestOutcome:
    """What happened to one unit's digest in one run."""

    unit: str
    # "sent", "written" (outbox), "already-sent" (or being sent), "no-recipients", "failed"
    # (not sent, tried again next time), "uncertain" (the server may have it; not tried again)
    status: str
    detail: str = ""


def format_week(start: date, *, locale: str) -> str:
    """The span of an ISO week in ``locale`` (CLDR's interval: "17–23 Nov 2026",
    "Nov 17 – 23, 2026")."""
    return format_interval(start, start + timedelta(days=6), "yMMMd", locale=locale)


def _one_line(text: str, limit: int) -> str:
    """Whitespace runs as one space, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@cache
def email_templates(locale: str = Settings.default_locale,
                    translations_dir: Path = Settings.translations_dir) -> Environment:
    """The e-mail templates (app/templates/email/) in ``locale``, outside any Flask app: the
    scheduler renders them in its own process. Their messages come from the same catalogues
    as the pages' (``_()``, ``ngettext`` as in Flask-Babel's templates), numbers and dates
    from Babel. Only .html templates are escaped."""
    environment = Environment(
        loader=FileSystemLoader(EMAIL_TEMPLATES), autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
    # {% trans %} blocks are looked up trimmed, as babel.cfg extracts them.
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        Translations.load(translations_dir, [locale]), newstyle=True)
    environment.filters.update(
        number=partial(format_number, locale=locale),
        integer=partial(format_number, places=0, locale=locale),
        share=partial(format_share, locale=locale),
        signed=lambda delta: ("+" if delta > 0 else "") + format_number(delta, locale=locale),
        week=partial(format_week, locale=locale),
        month=lambda month: format_skeleton("yMMMM", month, locale=locale),
        day=lambda day: format_date(day, "dd-MM-yyyy", locale=locale),
        moment=lambda at: babel_dates.format_datetime(at, "dd-MM-yyyy HH:mm", locale=locale),
        quality=lambda category: category.label_en if locale == "en" else category.label_id,
        one_line=_one_line)
    return environment


def digest_text(summary: WeeklySummary, *, locale: str = Settings.default_locale,
                translations_dir: Path = Settings.translations_dir,
                kiosk_alerts: Sequence[KioskStatus] = (), tz: ZoneInfo | None = None,
                summary_url: str | None = None,
                actions_due: Sequence[ImprovementAction] = (), today: date | None = None,
                paid_free: Sequence[PaidForFree] = ()) -> str:
    """The weekly summary as the digest's plain text in ``locale`` (about 60 lines, no NIP),
    with the unit's kiosks that need someone (their times in ``tz``, by default the
    service's zone) and the services and counters where citizens said they paid for a free
    service (``paid_free``; the digest goes to unit heads only).

    Element names and waiting-time bands are the survey's, in that language."""
    survey = reference_survey()
    return email_templates(locale, translations_dir).get_template("digest.txt").render(
        s=summary, within_minutes=WITHIN_MINUTES,
        element_names=survey.element_names(locale), wait_labels=survey.wait_labels(locale),
        kiosk_alerts=kiosk_alerts, tz=tz or ZoneInfo(Settings.timezone),
        summary_url=summary_url, actions_due=actions_due, today=today, paid_free=paid_free)


def digest_subject(unit: Unit, week_start: date, *, locale: str = Settings.default_locale,
                   translations_dir: Path = Settings.translations_dir) -> str:
    """The digest's subject line in ``locale``."""
    return email_templates(locale, translations_dir).get_template(
        "digest_subject.txt").render(unit=unit, week_start=week_start).strip()


def digest_recipients(session: Session, unit_id: int) -> list[str]:
    """The active unit heads of a unit."""
    return list(session.scalars(
        select(User.email).where(User.unit_id == unit_id, User.role == "unit_head",
                                 User.active.is_(True)).order_by(User.email)))


def compose_digest(session: Session, unit: Unit, week_start: date, settings: Settings, *,
                   now: datetime) -> tuple[str, str]:
    """The subject and text of a unit's digest for a week, as it would be sent at ``now``
    (reads only: ``digest preview`` prints it).

    In the service's language (users have no language of their own yet). The kiosks' state
    and the dialogues due are as of ``now``, not of the past week. Its recipients are the
    unit's heads only (``digest_recipients``): the illegal-fee signal per counter points to
    the officer who staffs it."""
    locale, translations_dir = settings.default_locale, settings.translations_dir
    today = now.astimezone(settings.tz).date()
    summary = weekly_summary(session, unit.id, week_start,
                             officer_min_n=settings.officer_min_n, tz=settings.tz,
                             dialogues_as_of=today, cases_as_of=today)
    kiosk_alerts = alerts(session, [unit.id], now=now, tz=settings.tz)
    due = actions_due(session, unit.id, today)
    link = (f"{settings.public_base_url}/dashboard/units/{quote(unit.code)}"
            f"?week={week_start.isoformat()}")
    return (digest_subject(unit, week_start, locale=locale, translations_dir=translations_dir),
            digest_text(summary, locale=locale, translations_dir=translations_dir,
                        kiosk_alerts=kiosk_alerts, tz=settings.tz, summary_url=link,
                        actions_due=due, today=today,
                        paid_free=paid_for_free(session, unit.id,
                                                SummaryPeriod.of("week", week_start))))


def prepare_digest(session: Session, unit: Unit, week_start: date, settings: Settings, *,
                   now: datetime) -> Digest:
    """The digest row of a unit and week, created (with its text) if missing.

    Until it is sent, its recipients are the unit's active heads as of now: a retry after a
    failed send never goes to a head deactivated or moved meanwhile, and reaches one added
    since. Once sent, the row records who received it.
    """
    digest = session.scalars(select(Digest).where(
        Digest.unit_id == unit.id, Digest.week_start == week_start)).one_or_none()
    if digest is None:
        subject, body = compose_digest(session, unit, week_start, settings, now=now)
        digest = Digest(unit_id=unit.id, week_start=week_start, subject=subject,
                        body_text=body, recipients="", created_at=now)
        session.add(digest)
    if digest.sent_at is None:
        digest.recipients = ", ".join(digest_recipients(session, unit.id))
    session.flush()
    return digest


def claim_for_sending(session: Session, digest: Digest, *, now: datetime) -> bool:
    """Claim a digest for sending, so that a rerun (or another process) does not send it too.

    A claim ends with ``mark_sent`` once the mail server may have the message, or with
    ``release_claim`` when it certainly did not. A claim older than CLAIM_STALE was left by
    a process that died while sending (killed on shutdown, say): the digest is claimed and
    sent again, which makes a copy only if that process died in the moment between the
    server taking the message and its acceptance being recorded.
    """
    if digest.sent_at is not None:
        return False
    if digest.claimed_at is not None and digest.claimed_at > now - CLAIM_STALE:
        return False
    digest.claimed_at = now
    session.flush()
    return True


def mark_sent(session: Session, digest: Digest, *, now: datetime) -> None:
    """Record that the mail server has (or may have) the digest: it is never sent again."""
    digest.sent_at = now
    session.flush()


def release_claim(session: Session, digest: Digest) -> None:
    """Undo a claim after a send that certainly did not go, so the next run tries again."""
    digest.claimed_at = None
    session.flush()


def build_message(digest: Digest, settings: Settings, *, now: datetime) -> EmailMessage:
    """The e-mail of a digest (plain text, in the language it was written in)."""
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = settings.smtp_from
    message["To"] = digest.recipients
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="suara-warga.local")
    message.set_content(digest.body_text)
    return message


class NotSent(Exception):
    """The mail server could not be reached or refused the message: nothing was handed over,
    so sending again cannot make a copy."""


# Refusals the server answers with a reply code: the message was not accepted.
_REFUSED = (smtplib.SMTPSenderRefused, smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)


def deliver(message: EmailMessage, settings: Settings, *, filename: str) -> str:
    """Send through SMTP, or without SMTP_HOST write an .eml file to instance/outbox/.

    Raises NotSent when the message was certainly not accepted (connecting, TLS, login, a
    refused sender, recipients or message). Any other error while the message is sent means
    the server may have it (its acceptance may have been lost on the way back): that one
    propagates as it is. Once accepted, a failing goodbye (QUIT) does not matter.
    """
    if not settings.smtp_host:
        outbox = Path(settings.instance_dir) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / filename
        path.write_bytes(bytes(message))
        return "written"
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotSent(f"mail server unreachable: {exc}") from exc
    try:
        try:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotSent(f"mail server refused the session: {exc}") from exc
        try:
            smtp.send_message(message)
        except _REFUSED as exc:
            raise NotSent(f"mail server refused the message: {exc}") from exc
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return "sent"
