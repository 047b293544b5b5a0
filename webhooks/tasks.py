"""Django Tasks API entry points (ImmediateBackend in tests/dev, django_tasks_db in production)."""

from django_tasks import task

from webhooks import services


@task()
def process_webhook_event(event_pk: int) -> str | None:
    """Idempotent: processing an already processed or locked event does nothing."""
    return services.webhook_event_process(event_pk=event_pk)
