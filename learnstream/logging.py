"""Structured logging: one JSON object per line in production, with the request id attached."""

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
user_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("user_id", default="-")
client_ip_var: contextvars.ContextVar[str] = contextvars.ContextVar("client_ip", default="-")

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        if not hasattr(record, "user_id"):
            record.user_id = user_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """json.dumps escapes CR/LF and quotes, so user-controlled values cannot forge log lines."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


security_logger = logging.getLogger("learnstream.security")
_CONTROL_CHARS = {ord(c): f"\\x{ord(c):02x}" for c in map(chr, range(32))} | {0x7F: "\\x7f"}


def _clean(value: Any) -> Any:
    # The plain (development) formatter does not escape: keep CR/LF out so log lines cannot be forged.
    return value.translate(_CONTROL_CHARS) if isinstance(value, str) else value


def security_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """One structured record per security-relevant event (ASVS 16.3): login, 401/403/429, revocation.

    Callers pass identifiers only (user id, ip, family id) — never passwords, tokens or secrets.
    """
    extra = {key: _clean(value) for key, value in fields.items()}
    extra["event"] = event
    extra["request_id"] = request_id_var.get()
    extra.setdefault("ip", client_ip_var.get())
    security_logger.log(level, "security event %s", event, extra=extra)


class PlainFormatter(logging.Formatter):
    """Human-readable lines for development, with the structured fields appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS and not key.startswith("_") and value not in ("-", None)
        }
        if not extras:
            return line
        fields = " ".join(f"{key}={json.dumps(value, default=str)}" for key, value in extras.items())
        return f"{line} {fields}"
