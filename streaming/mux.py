"""The Mux Video API client: the only module that imports mux_python.

Callers get the plain frozen dataclasses of `streaming.payloads` (`Upload`, `Asset`, `SigningKey`, ...),
never SDK models, and only
two exception types: `IntegrationError` (502 envelope, safe message; Mux's error body is logged, never
shown) and its subclass `NotFoundAtMux` (Mux answered 404; left uncaught it is still a 502).

Transport rules:
- every call carries `_request_timeout=settings.MUX_REQUEST_TIMEOUT_SECONDS` (the SDK default blocks
  forever);
- POST (create) is never retried: urllib3 retries are 0 and there is no app-level retry, because a
  create whose response was lost may have happened;
- idempotent calls (GET, DELETE, PUT .../cancel) get one urllib3 retry on connect/read errors plus an
  app-level retry with bounded backoff on 429/5xx (honouring Retry-After up to a cap). Worst case for
  a hung Mux: 2 x timeout; for a 5xx storm: `IDEMPOTENT_ATTEMPTS` fast answers plus < 3 s of sleeps.

SDK quirks handled here:
- the SDK rejects unknown enum values (e.g. a new asset `status`) with ValueError while deserialising,
  and builds models from `Configuration.get_default_copy()`, so validation can only be switched off
  process-wide with `Configuration.set_default`. We do that once, with a credential-free
  Configuration: it only affects mux_python models, and nothing else in the process imports mux_python.
  Our parsers then treat unknown statuses as opaque strings;
- a success status the SDK does not expect (200 instead of 201) silently yields None: mapped to
  IntegrationError instead of an AttributeError;
- `ApiException` has no `error_type`/`error_messages` (the SDK's README says otherwise): we parse
  `.body` ourselves;
- transport failures are urllib3 exceptions (MaxRetryError, timeouts), not ApiException.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import mux_python
import urllib3
from django.conf import settings
from mux_python.rest import ApiException
from urllib3.util.retry import Retry

from learnstream.errors import IntegrationError
from streaming.payloads import (
    Asset,
    PlaybackId,
    SigningKey,
    SigningKeyInfo,
    StaticRendition,
    Track,
    Upload,
    asset_from_payload,
    parse_mux_time,
    static_rendition_from_payload,
    track_from_payload,
    upload_from_payload,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

UPLOAD_TIMEOUT_SECONDS = 3600  # how long a direct-upload URL stays valid (Mux allows 60..604800)
PASSTHROUGH_MAX_LENGTH = 255
IDEMPOTENT_ATTEMPTS = 3  # app-level attempts for GET/DELETE/cancel on 429/5xx
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 2.0
SIGNING_KEY_PAGE_SIZE = 100
MAX_CACHED_CLIENTS = 4

UNAVAILABLE_MESSAGE = "The video service is unavailable. Try again later."
REJECTED_MESSAGE = "The video service rejected the request."


class NotFoundAtMux(IntegrationError):
    """Mux answered 404 for a resource we referenced. Catch it where "gone" is a normal outcome."""

    default_message = "The video service does not know this resource."


# --- Transport ----------------------------------------------------------------------------------------

_clients_lock = threading.Lock()
_clients: dict[tuple[str, str, str, bool], Any] = {}


def _install_tolerant_models() -> None:
    """Let SDK models accept enum values this SDK version does not know (process-wide, see above)."""
    default = mux_python.Configuration()  # no host, no credentials: only the validation switch matters
    default.client_side_validation = False
    mux_python.Configuration.set_default(default)


# At import, so request models built before the first call behave the same as response models.
_install_tolerant_models()


def _api_client(*, idempotent: bool) -> Any:
    """One pooled ApiClient per (host, credentials, retry policy); settings may change in tests."""
    key = (settings.MUX_API_BASE_URL, settings.MUX_TOKEN_ID, settings.MUX_TOKEN_SECRET, idempotent)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            config = mux_python.Configuration(
                host=settings.MUX_API_BASE_URL.rstrip("/"),
                username=settings.MUX_TOKEN_ID,
                password=settings.MUX_TOKEN_SECRET,
            )
            if idempotent:
                # Connect errors are always safe to retry; read errors only because these methods are
                # idempotent. Status retries are done by `_call`, which can see Mux's body and Retry-After.
                config.retries = Retry(
                    total=2,
                    connect=2,
                    read=1,
                    status=0,
                    other=0,
                    redirect=0,
                    backoff_factor=BACKOFF_BASE_SECONDS,
                    allowed_methods=frozenset({"GET", "PUT", "DELETE"}),
                    raise_on_status=False,
                )
            else:
                config.retries = Retry(total=0, redirect=0, raise_on_redirect=False)
            client = mux_python.ApiClient(config)
            if len(_clients) >= MAX_CACHED_CLIENTS:  # tests point at a new emulator port each time
                oldest = next(iter(_clients))
                _clients.pop(oldest).rest_client.pool_manager.clear()
            _clients[key] = client
        return client


def _error_summary(exc: ApiException) -> str:
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body
    if not body:
        return "(empty body)"
    try:
        error = json.loads(body)["error"]
        return f"type={error.get('type')!r} messages={error.get('messages')!r}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"body={str(body)[:300]!r}"


def _retry_delay(attempt: int, exc: ApiException) -> float:
    delay = BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)) * (1 + random.random() / 4)  # noqa: S311
    retry_after = exc.headers.get("Retry-After") if exc.headers is not None else None
    if retry_after:
        with contextlib.suppress(ValueError):
            delay = max(delay, float(retry_after))
    return min(delay, BACKOFF_MAX_SECONDS)


def _is_retryable_status(status: int | None) -> bool:
    return status == 429 or (status is not None and 500 <= status <= 599)


def _call(operation: str, fn: Callable[[Any, float], T], *, idempotent: bool, resource: str = "") -> T:
    """Run one SDK call with our timeout/retry policy and translate every failure to IntegrationError."""
    client = _api_client(idempotent=idempotent)
    timeout = float(settings.MUX_REQUEST_TIMEOUT_SECONDS)
    attempts = IDEMPOTENT_ATTEMPTS if idempotent else 1
    for attempt in range(1, attempts + 1):
        try:
            result = fn(client, timeout)
        except ApiException as exc:
            status = exc.status or 0
            if attempt < attempts and _is_retryable_status(status):
                delay = _retry_delay(attempt, exc)
                logger.info("mux %s %s: HTTP %s, retrying in %.2fs", operation, resource, status, delay)
                time.sleep(delay)
                continue
            logger.warning("mux %s %s failed: HTTP %s %s", operation, resource, status, _error_summary(exc))
            if status == 404:
                raise NotFoundAtMux() from exc
            if status == 0 or _is_retryable_status(status):
                raise IntegrationError(UNAVAILABLE_MESSAGE) from exc
            raise IntegrationError(REJECTED_MESSAGE) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # MaxRetryError (refused, timed out after urllib3's retries), ProtocolError, raw timeouts.
            logger.warning("mux %s %s failed: %s", operation, resource, type(exc).__name__)
            raise IntegrationError(UNAVAILABLE_MESSAGE) from exc
        except (ValueError, TypeError) as exc:
            logger.warning("mux %s %s: undecodable response (%s)", operation, resource, exc)
            raise IntegrationError(UNAVAILABLE_MESSAGE) from exc
        if result is None:
            # The SDK returns None when the success status is not the one it expects (e.g. 200 vs 201).
            logger.warning("mux %s %s: unexpected success status, no body decoded", operation, resource)
            raise IntegrationError(UNAVAILABLE_MESSAGE)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _data_dict(response: Any) -> dict[str, Any]:
    data = getattr(response, "data", None)
    if data is None:
        raise IntegrationError(UNAVAILABLE_MESSAGE)
    result: dict[str, Any] = data.to_dict()
    return result


_DONE = object()  # a truthy sentinel for calls whose success has no body (DELETE → 204)


@dataclass(frozen=True, slots=True)
class GeneratedSubtitles:
    """One language of Mux's auto-generated subtitles (`AssetGeneratedSubtitleSettings`)."""

    language_code: str
    name: str | None = None


# The languages `AssetGeneratedSubtitleSettings.language_code` accepts in mux-python 5.1.2.
GENERATED_SUBTITLE_LANGUAGES = frozenset(
    {
        "en", "es", "it", "pt", "de", "fr", "pl", "ru", "nl", "ca", "tr", "sv", "uk", "no", "fi", "sk",
        "el", "cs", "hr", "da", "ro", "bg",
    }
)  # fmt: skip
DOWNLOAD_RESOLUTION = "highest"  # the static rendition a downloadable course offers (`highest.mp4`)


def _asset_request(
    *,
    lesson_id: str,
    title: str | None,
    url: str | None = None,
    generated_subtitles: Sequence[GeneratedSubtitles] = (),
    static_renditions: Sequence[str] = (),
) -> Any:
    """`CreateAssetRequest` for a lesson: signed playback, passthrough = lesson id, optional auto captions
    (an `inputs` entry, with the URL for URL ingest) and static renditions. The generated tracks and the
    renditions carry the lesson id as their own passthrough too: their webhooks name only the asset."""
    if not lesson_id or len(lesson_id) > PASSTHROUGH_MAX_LENGTH:
        raise ValueError("lesson_id must be 1..255 characters (Mux passthrough limit)")
    meta = mux_python.AssetMetadata(external_id=lesson_id[:128], title=title[:512] if title else None)
    inputs = None
    if url is not None or generated_subtitles:
        inputs = [
            mux_python.InputSettings(
                url=url,
                generated_subtitles=[
                    mux_python.AssetGeneratedSubtitleSettings(
                        language_code=g.language_code, name=g.name, passthrough=lesson_id
                    )
                    for g in generated_subtitles
                ]
                or None,
            )
        ]
    return mux_python.CreateAssetRequest(
        inputs=inputs,
        playback_policies=[mux_python.PlaybackPolicy.SIGNED],
        passthrough=lesson_id,
        video_quality="basic",
        meta=meta,
        static_renditions=[
            mux_python.CreateStaticRenditionRequest(resolution=r, passthrough=lesson_id)
            for r in static_renditions
        ]
        or None,
    )


# --- Operations -----------------------------------------------------------------------------------------


def create_direct_upload(
    *,
    lesson_id: str,
    title: str | None = None,
    timeout_seconds: int = UPLOAD_TIMEOUT_SECONDS,
    generated_subtitles: Sequence[GeneratedSubtitles] = (),
    static_renditions: Sequence[str] = (),
) -> Upload:
    """Create a direct upload whose asset gets a *signed* playback id and `passthrough` = lesson id,
    plus the auto-generated subtitles and static renditions asked for."""
    request = mux_python.CreateUploadRequest(
        timeout=timeout_seconds,
        cors_origin=settings.MUX_CORS_ORIGIN or None,
        new_asset_settings=_asset_request(
            lesson_id=lesson_id,
            title=title,
            generated_subtitles=generated_subtitles,
            static_renditions=static_renditions,
        ),
    )
    started = datetime.now(tz=UTC)
    response = _call(
        "create_direct_upload",
        lambda c, t: mux_python.DirectUploadsApi(c).create_direct_upload(request, _request_timeout=t),
        idempotent=False,
        resource=f"lesson={lesson_id}",
    )
    data = _data_dict(response)
    expires = started + timedelta(seconds=data.get("timeout") or timeout_seconds)
    return upload_from_payload(data, expires_at=expires)


def get_direct_upload(upload_id: str) -> Upload:
    response = _call(
        "get_direct_upload",
        lambda c, t: mux_python.DirectUploadsApi(c).get_direct_upload(upload_id, _request_timeout=t),
        idempotent=True,
        resource=upload_id,
    )
    return upload_from_payload(_data_dict(response))


def cancel_direct_upload(upload_id: str) -> Upload:
    """Cancel a waiting upload. Returns the upload as it now is.

    Mux answers 403 when the upload is no longer `waiting` (bytes arrived, already cancelled, timed
    out); a retried cancel whose first attempt succeeded looks the same. Then we return the current
    upload instead of failing: callers check `.status` (`cancelled`, or e.g. `asset_created`).
    """
    try:
        response = _call(
            "cancel_direct_upload",
            lambda c, t: mux_python.DirectUploadsApi(c).cancel_direct_upload(upload_id, _request_timeout=t),
            idempotent=True,
            resource=upload_id,
        )
    except IntegrationError as exc:
        cause = exc.__cause__
        if isinstance(cause, ApiException) and cause.status == 403:
            return get_direct_upload(upload_id)
        raise
    return upload_from_payload(_data_dict(response))


def get_asset(asset_id: str) -> Asset:
    response = _call(
        "get_asset",
        lambda c, t: mux_python.AssetsApi(c).get_asset(asset_id, _request_timeout=t),
        idempotent=True,
        resource=asset_id,
    )
    return asset_from_payload(_data_dict(response))


def _delete(operation: str, delete: Callable[[Any, float], object], *, resource: str) -> None:
    """Run an idempotent delete; a 404 means the thing is already gone, which is the outcome we wanted."""

    def call(c: Any, t: float) -> object:
        delete(c, t)
        return _DONE

    try:
        _call(operation, call, idempotent=True, resource=resource)
    except NotFoundAtMux:
        logger.info("mux %s %s: already deleted", operation, resource)


def delete_asset(asset_id: str) -> None:
    """Delete an asset (already gone counts as done)."""
    _delete(
        "delete_asset",
        lambda c, t: mux_python.AssetsApi(c).delete_asset(asset_id, _request_timeout=t),
        resource=asset_id,
    )


def create_signing_key() -> SigningKey:
    """Create an RS256 URL-signing key. Mux returns the private key only here, once."""
    response = _call(
        "create_signing_key",
        lambda c, t: mux_python.SigningKeysApi(c).create_signing_key(_request_timeout=t),
        idempotent=False,
    )
    data = _data_dict(response)
    private_key = data.get("private_key")
    if not isinstance(private_key, str) or not private_key:
        raise IntegrationError(UNAVAILABLE_MESSAGE)
    return SigningKey(
        id=str(data["id"]), private_key_b64=private_key, created_at=parse_mux_time(data.get("created_at"))
    )


def list_signing_keys() -> list[SigningKeyInfo]:
    keys: list[SigningKeyInfo] = []
    for page in range(1, 11):  # 1000 keys is far beyond any sane rotation scheme

        def call(c: Any, t: float, page: int = page) -> Any:
            return mux_python.SigningKeysApi(c).list_signing_keys(
                limit=SIGNING_KEY_PAGE_SIZE, page=page, _request_timeout=t
            )

        response = _call("list_signing_keys", call, idempotent=True)
        items = response.data or []
        keys.extend(
            SigningKeyInfo(id=str(k.id), created_at=parse_mux_time(k.created_at)) for k in items if k.id
        )
        if len(items) < SIGNING_KEY_PAGE_SIZE:
            break
    return keys


def delete_signing_key(key_id: str) -> None:
    """Delete a signing key (tokens it signed stop working; already gone counts as done)."""
    _delete(
        "delete_signing_key",
        lambda c, t: mux_python.SigningKeysApi(c).delete_signing_key(key_id, _request_timeout=t),
        resource=key_id,
    )


def create_asset_from_url(
    *,
    lesson_id: str,
    url: str,
    title: str | None = None,
    generated_subtitles: Sequence[GeneratedSubtitles] = (),
    static_renditions: Sequence[str] = (),
) -> Asset:
    """Create an asset Mux ingests from `url` (signed playback, passthrough = lesson id). Not retried."""
    request = _asset_request(
        lesson_id=lesson_id,
        title=title,
        url=url,
        generated_subtitles=generated_subtitles,
        static_renditions=static_renditions,
    )
    response = _call(
        "create_asset",
        lambda c, t: mux_python.AssetsApi(c).create_asset(request, _request_timeout=t),
        idempotent=False,
        resource=f"lesson={lesson_id}",
    )
    return asset_from_payload(_data_dict(response))


def update_asset_passthrough(asset_id: str, *, passthrough: str) -> Asset:
    """Set an asset's passthrough (an imported asset then names its lesson in every later webhook)."""
    request = mux_python.UpdateAssetRequest(passthrough=passthrough[:PASSTHROUGH_MAX_LENGTH])
    response = _call(
        "update_asset",
        lambda c, t: mux_python.AssetsApi(c).update_asset(asset_id, request, _request_timeout=t),
        idempotent=True,
        resource=asset_id,
    )
    return asset_from_payload(_data_dict(response))


def create_signed_playback_id(asset_id: str) -> PlaybackId:
    """Add a *signed* playback id to an asset (not retried: a lost answer may have created one)."""
    request = mux_python.CreatePlaybackIDRequest(policy=mux_python.PlaybackPolicy.SIGNED)
    response = _call(
        "create_asset_playback_id",
        lambda c, t: mux_python.AssetsApi(c).create_asset_playback_id(asset_id, request, _request_timeout=t),
        idempotent=False,
        resource=asset_id,
    )
    data = _data_dict(response)
    return PlaybackId(id=str(data["id"]), policy=str(data.get("policy") or ""))


def create_text_track(*, asset_id: str, url: str, language_code: str, name: str, passthrough: str) -> Track:
    """Ask Mux to fetch a WebVTT file from `url` as a subtitles track. Not retried."""
    request = mux_python.CreateTrackRequest(
        url=url,
        type="text",
        text_type="subtitles",
        language_code=language_code,
        name=name,
        closed_captions=False,
        passthrough=passthrough[:PASSTHROUGH_MAX_LENGTH],
    )
    response = _call(
        "create_asset_track",
        lambda c, t: mux_python.AssetsApi(c).create_asset_track(asset_id, request, _request_timeout=t),
        idempotent=False,
        resource=asset_id,
    )
    return track_from_payload(_data_dict(response))


def delete_text_track(*, asset_id: str, track_id: str) -> None:
    """Delete a track (already gone, or its asset gone, counts as done)."""
    _delete(
        "delete_asset_track",
        lambda c, t: mux_python.AssetsApi(c).delete_asset_track(asset_id, track_id, _request_timeout=t),
        resource=f"{asset_id}/{track_id}",
    )


def create_static_rendition(
    asset_id: str, *, passthrough: str, resolution: str = DOWNLOAD_RESOLUTION
) -> StaticRendition:
    """Ask Mux for a static MP4 of an existing asset (the `static_renditions` API; `mp4_support` is
    deprecated). Not retried."""
    request = mux_python.CreateStaticRenditionRequest(
        resolution=resolution, passthrough=passthrough[:PASSTHROUGH_MAX_LENGTH]
    )
    response = _call(
        "create_asset_static_rendition",
        lambda c, t: mux_python.AssetsApi(c).create_asset_static_rendition(
            asset_id, request, _request_timeout=t
        ),
        idempotent=False,
        resource=asset_id,
    )
    return static_rendition_from_payload({**_data_dict(response), "asset_id": asset_id})


_text_pool: urllib3.PoolManager | None = None
TEXT_TRACK_MAX_BYTES = 2 * 1024 * 1024


def fetch_text_track(url: str) -> str:
    """GET a text track (WebVTT) from Mux's stream host, e.g. to build a transcript."""
    global _text_pool
    if _text_pool is None:
        _text_pool = urllib3.PoolManager(retries=Retry(total=1, status=0, redirect=0))
    timeout = float(settings.MUX_REQUEST_TIMEOUT_SECONDS)
    try:
        response = _text_pool.request("GET", url, timeout=timeout, preload_content=False)
        try:
            body = response.read(TEXT_TRACK_MAX_BYTES + 1)
        finally:
            response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        logger.warning("mux text track fetch failed: %s", type(exc).__name__)
        raise IntegrationError(UNAVAILABLE_MESSAGE) from exc
    if response.status != 200 or len(body) > TEXT_TRACK_MAX_BYTES:
        logger.warning("mux text track fetch: HTTP %s, %d bytes", response.status, len(body))
        raise IntegrationError(UNAVAILABLE_MESSAGE)
    return body.decode("utf-8", "replace")
