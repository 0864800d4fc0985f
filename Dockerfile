# The registry under gunicorn. Configuration comes from the environment at run
# time (see .env.example); docker-compose.yml runs it next to PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 registry \
    && useradd --system --uid 10001 --gid registry --home-dir /app --no-create-home registry

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are baked into the image and served by WhiteNoise. The settings
# refuse to load without SECRET_KEY, so the build uses throwaway random ones (the
# pseudonym key must be strong and differ from it); the
# running container must get its own from the environment.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    REGISTRY_PSEUDONYM_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    REGISTRY_CELL_KEY_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput --verbosity 0

USER registry
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "scripts/healthcheck"]
# Workers: WEB_CONCURRENCY; trusted proxies for X-Forwarded-*: FORWARDED_ALLOW_IPS
# (both read by gunicorn itself).
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
