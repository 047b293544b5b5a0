# Production image: slim Python, pinned requirements, static files collected (served by WhiteNoise),
# gunicorn as a non-root user. The same image runs web, worker, migrate, scheduler and the emulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Fail closed: an image started without configuration refuses to run instead of using dev defaults.
    DJANGO_ENV=production
WORKDIR /app

# Dependencies first so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic must run with the *production* storage (CompressedManifestStaticFilesStorage): it writes
# the manifest and compressed files WhiteNoise serves; a development run would leave no manifest and
# every `{% static %}` would fail at runtime. Production settings refuse to load without their secrets,
# so build-only placeholders are passed to this one command (never baked into the image's environment;
# no store is contacted).
RUN DJANGO_SECRET_KEY=build-only-placeholder-for-collectstatic-never-used-at-runtime-0000 \
    JWT_SIGNING_KEY=build-only-jwt-placeholder-for-collectstatic-0000 \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost/build \
    MONGO_URI=mongodb://localhost:27017 \
    REDIS_URL=redis://localhost:6379/0 \
    MUX_TOKEN_ID=build MUX_TOKEN_SECRET=build \
    MUX_WEBHOOK_SECRET=build-only-webhook-placeholder \
    MUX_SIGNING_KEY_ID=build MUX_SIGNING_PRIVATE_KEY=build \
    python manage.py collectstatic --no-input --verbosity 0

# Code and static files stay root-owned (read-only to the app); only var/ is writable.
RUN useradd --create-home --uid 10001 app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "learnstream.wsgi"]
