FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    APP_ENV=production \
    INSTANCE_DIR=/srv/suara-warga/instance \
    PORT=8000

WORKDIR /srv/suara-warga
COPY pyproject.toml README.md ./
COPY app ./app
COPY surveys ./surveys
COPY kiosk_templates ./kiosk_templates
COPY translations ./translations
COPY migrations ./migrations
COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh

# Editable install: the code finds surveys/ and migrations/ beside the package. The gettext
# catalogues are compiled here (.mo files are never committed).
RUN pip install -e . \
 && pybabel compile -d translations \
 && useradd --system --uid 10001 --home-dir /srv/suara-warga suara \
 && mkdir -p instance \
 && chown suara:suara instance

USER suara
EXPOSE 8000
ENTRYPOINT ["entrypoint.sh"]
CMD ["web"]
