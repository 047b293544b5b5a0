"""The emulator's state machine: direct uploads, assets, playback ids and signing keys.

Framework-free (no Django, no HTTP): `server.py` maps requests onto these methods and renders
`ApiError` as Mux's `{"error": {"type", "messages"}}` envelope. Shapes and enum values follow Mux's API
reference exactly (docs/emulator.md), because the unmodified SDK rejects unknown enum values and drops
unknown statuses. REST responses carry asset `created_at` as a string, webhook payloads as a number.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import logging
import secrets
import ssl
import string
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streaming.emulator import persistence, tokens
from streaming.emulator.scheduler import Scheduler
from streaming.emulator.webhooks import WebhookConfig, WebhookDispatcher

logger = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits
PLAYBACK_POLICIES = ("public", "signed", "drm")
BYTES_PER_SECOND = 125_000  # a derived duration: the upload's size at 1 Mbit/s
NOT_FOUND_MESSAGE = "The requested resource either doesn't exist or you don't have access to it."
# Generated subtitles: the languages mux-python 5.1.2 accepts (`AssetGeneratedSubtitleSettings`).
GENERATED_SUBTITLE_LANGUAGES = (
    "en", "es", "it", "pt", "de", "fr", "pl", "ru", "nl", "ca", "tr", "sv", "uk", "no", "fi", "sk", "el",
    "cs", "hr", "da", "ro", "bg",
)  # fmt: skip
# `CreateStaticRenditionRequest.resolution` values and the file each one produces.
STATIC_RENDITION_NAMES = {
    "highest": "highest.mp4",
    "audio-only": "audio.m4a",
    **{r: f"{r}.mp4" for r in ("2160p", "1440p", "1080p", "720p", "540p", "480p", "360p", "270p")},
}
INPUT_MAX_BYTES = 512 * 1024 * 1024  # what the emulator downloads for an asset input URL
TEXT_TRACK_MAX_BYTES = 10 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 10.0


def new_id(length: int = 40) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class ApiError(Exception):
    def __init__(self, status: int, error_type: str, *messages: str) -> None:
        super().__init__(f"{status} {error_type}: {'; '.join(messages)}")
        self.status = status
        self.error_type = error_type
        self.messages = list(messages)

    def envelope(self) -> dict[str, Any]:
        return {"error": {"type": self.error_type, "messages": self.messages}}


def not_found() -> ApiError:
    return ApiError(404, "not_found", NOT_FOUND_MESSAGE)


def invalid(*messages: str) -> ApiError:
    return ApiError(400, "invalid_parameters", *messages)


@dataclass
class EmulatorConfig:
    token_id: str = "emulator-token-id"  # noqa: S105 - the documented emulator default
    token_secret: str = "emulator-token-secret"  # noqa: S105
    webhook_url: str | None = None
    webhook_secrets: list[str] = field(default_factory=list)
    ready_delay: float = 2.0  # seconds after the bytes arrive; <= 0: only on a control call
    default_duration: float | None = None  # None: derived from the upload's size
    public_url: str = ""  # base of upload URLs (set by the server once the port is known)
    storage_dir: Path | None = None  # where uploaded bytes go (a temp dir when None)
    state_file: Path | None = None  # JSON persistence (dev); None keeps everything in memory
    webhook_max_attempts: int = 8
    webhook_retry_base_seconds: float = 1.0
    reuse_keys: bool = False  # tests: draw RSA keys from a process-wide pool instead of generating
    ensure_signing_key: bool = False  # dev: issue one key at start if none exists (before serving)


@dataclass
class _UploadMeta:
    created: float
    token: str
    path: Path | None = None
    size: int = 0


def generated_vtt(*, language_code: str, duration: float) -> bytes:
    """The "auto-generated" subtitles of an emulated asset: a few cues spread over its duration."""
    seconds = max(duration, 3.0)
    step = seconds / 3
    lines = ["WEBVTT", ""]
    for i in range(3):
        lines += [
            f"{_vtt_time(i * step)} --> {_vtt_time((i + 1) * step)}",
            f"[{language_code}] Emulated caption {i + 1} of 3.",
            "",
        ]
    return "\n".join(lines).encode()


def _vtt_time(seconds: float) -> str:
    whole = int(seconds)
    return (
        f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{int((seconds - whole) * 1000):03d}"
    )


def fetch_url(url: str, *, max_bytes: int) -> bytes:
    """Download an input the way Mux would. Loopback HTTPS is fetched without certificate checks (tests
    serve it with a throwaway self-signed certificate); anything else is verified normally."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("only http(s) URLs can be fetched")
    context = None
    if parts.scheme == "https" and is_loopback(parts.hostname):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"User-Agent": "Mux emulator"})  # noqa: S310 - scheme checked
    opened = urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS, context=context)  # noqa: S310  # nosec B310 - http(s) only, checked above
    with opened as response:
        data: bytes = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError("input too large")
    return data


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.uploads: dict[str, dict[str, Any]] = {}
        self.upload_meta: dict[str, _UploadMeta] = {}
        self.assets: dict[str, dict[str, Any]] = {}
        # asset id -> what was asked at creation and is applied when it becomes ready
        # (`generated_subtitles` [{language_code, name?, passthrough?}]); text track id -> its WebVTT.
        self.asset_inputs: dict[str, dict[str, Any]] = {}
        self.texts: dict[str, bytes] = {}
        self.blobs: dict[str, tuple[Path, int]] = {}  # asset id -> (file, size)
        self.playback_ids: dict[str, tuple[str, str]] = {}  # playback id -> (asset id, policy)
        self.signing_keys: dict[str, dict[str, Any]] = {}
        self.public_keys: dict[str, bytes] = {}
        self._key_seq = 0
        self.timers = Scheduler("mux-emulator-timers")
        self.webhooks = WebhookDispatcher(
            WebhookConfig(
                url=config.webhook_url,
                secrets=list(config.webhook_secrets),
                max_attempts=config.webhook_max_attempts,
                retry_base_seconds=config.webhook_retry_base_seconds,
            )
        )
        if config.state_file is not None:
            self._load(config.state_file)

    def start(self) -> None:
        if self.config.ensure_signing_key and not self.signing_keys:
            self.create_signing_key()
        self.timers.start()
        self.webhooks.start()
        with self.lock:
            if self.config.ready_delay > 0:  # resume transitions interrupted by a restart
                for asset in self.assets.values():
                    if asset["status"] == "preparing":
                        self._schedule_ready(asset["id"])

    def stop(self) -> None:
        self.timers.stop()
        self.webhooks.stop()

    # --- direct uploads -------------------------------------------------------------------------------

    def create_upload(self, payload: dict[str, Any]) -> dict[str, Any]:
        timeout = payload.get("timeout", 3600)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 60 <= timeout <= 604800:
            raise invalid("timeout must be an integer between 60 and 604800")
        cors_origin = payload.get("cors_origin")
        if cors_origin is not None and not isinstance(cors_origin, str):
            raise invalid("cors_origin must be a string")
        settings = self._asset_settings(payload.get("new_asset_settings") or {})
        upload_id = new_id()
        token = secrets.token_urlsafe(24)
        upload: dict[str, Any] = {
            "id": upload_id,
            "timeout": timeout,
            "status": "waiting",
            "new_asset_settings": settings,
            "url": f"{self.config.public_url}/_upload/{upload_id}?token={token}",
        }
        if cors_origin is not None:
            upload["cors_origin"] = cors_origin
        if payload.get("test") is not None:
            upload["test"] = bool(payload["test"])
        with self.lock:
            self.uploads[upload_id] = upload
            self.upload_meta[upload_id] = _UploadMeta(created=time.time(), token=token)
            self.webhooks.emit(
                "video.upload.created", object_type="upload", object_id=upload_id, data=copy.deepcopy(upload)
            )
            self._changed()
            return copy.deepcopy(upload)

    @staticmethod
    def _asset_settings(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise invalid("new_asset_settings must be an object")
        settings = {k: v for k, v in raw.items() if v is not None}
        policies = settings.pop("playback_policies", None) or settings.pop("playback_policy", None) or []
        settings.pop("playback_policy", None)
        if isinstance(policies, str):
            policies = [policies]
        if not isinstance(policies, list) or any(p not in PLAYBACK_POLICIES for p in policies):
            raise invalid("playback_policies must be a list of public, signed or drm")
        passthrough = settings.get("passthrough")
        if passthrough is not None and (not isinstance(passthrough, str) or len(passthrough) > 255):
            raise invalid("passthrough must be a string of at most 255 characters")
        settings["playback_policies"] = policies  # Mux echoes the plural form
        inputs = settings.pop("input", None) or settings.get("inputs")
        if inputs is not None:
            if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
                raise invalid("inputs must be a list of objects")
            for item in inputs:
                for generated in item.get("generated_subtitles") or []:
                    if not isinstance(generated, dict) or (
                        generated.get("language_code") not in GENERATED_SUBTITLE_LANGUAGES
                    ):
                        raise invalid("generated_subtitles: unsupported language_code")
            settings["inputs"] = inputs
        renditions = settings.get("static_renditions")
        if renditions is not None:
            if not isinstance(renditions, list) or any(
                not isinstance(r, dict) or r.get("resolution") not in STATIC_RENDITION_NAMES
                for r in renditions
            ):
                raise invalid("static_renditions: unsupported resolution")
            if settings.get("mp4_support") not in (None, "none"):
                raise invalid("mp4_support cannot be combined with static_renditions")
        return settings

    @staticmethod
    def _generated_subtitles(settings: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            dict(g) for item in settings.get("inputs") or [] for g in item.get("generated_subtitles") or []
        ]

    def _expire(self, upload: dict[str, Any]) -> None:
        meta = self.upload_meta.get(upload["id"])
        if upload["status"] == "waiting" and meta and time.time() > meta.created + upload["timeout"]:
            upload["status"] = "timed_out"
            upload.pop("url", None)

    def get_upload(self, upload_id: str) -> dict[str, Any]:
        with self.lock:
            upload = self.uploads.get(upload_id)
            if upload is None:
                raise not_found()
            self._expire(upload)
            return copy.deepcopy(upload)

    def list_uploads(self, *, limit: int, page: int) -> list[dict[str, Any]]:
        with self.lock:
            uploads = list(self.uploads.values())
            for upload in uploads:
                self._expire(upload)
            return copy.deepcopy(_page(list(reversed(uploads)), limit=limit, page=page))

    def cancel_upload(self, upload_id: str) -> dict[str, Any]:
        with self.lock:
            upload = self.uploads.get(upload_id)
            if upload is None:
                raise not_found()
            self._expire(upload)
            if upload["status"] != "waiting":
                raise ApiError(403, "forbidden", "Only uploads in the waiting state can be cancelled.")
            upload["status"] = "cancelled"
            upload.pop("url", None)
            self.webhooks.emit(
                "video.upload.cancelled",
                object_type="upload",
                object_id=upload_id,
                data=copy.deepcopy(upload),
            )
            self._changed()
            return copy.deepcopy(upload)

    def upload_target(self, upload_id: str, token: str | None) -> tuple[dict[str, Any], _UploadMeta]:
        """The upload a PUT to its URL addresses, if the URL is genuine and still accepts bytes."""
        with self.lock:
            upload = self.uploads.get(upload_id)
            meta = self.upload_meta.get(upload_id)
            if upload is None or meta is None:
                raise not_found()
            if not token or not secrets.compare_digest(token, meta.token):
                raise ApiError(403, "forbidden", "Invalid upload URL signature.")
            self._expire(upload)
            if upload["status"] != "waiting":
                raise ApiError(403, "forbidden", f"Upload is {upload['status']}, not waiting.")
            return copy.deepcopy(upload), meta

    def upload_cors_origin(self, upload_id: str) -> str | None:
        with self.lock:
            origin = self.uploads.get(upload_id, {}).get("cors_origin")
            return origin if isinstance(origin, str) else None

    def storage_path(self, upload_id: str) -> Path:
        base = self.config.storage_dir
        if base is None:
            raise RuntimeError("storage_dir not configured")
        base.mkdir(parents=True, exist_ok=True)
        return base / f"{upload_id}.bin"

    def upload_received(self, upload_id: str, *, path: Path, size: int) -> dict[str, Any]:
        """The last byte arrived: create the asset in `preparing` and announce it."""
        with self.lock:
            upload = self.uploads[upload_id]
            if upload["status"] != "waiting":
                raise ApiError(403, "forbidden", f"Upload is {upload['status']}, not waiting.")
            settings = upload["new_asset_settings"]
            asset = self._new_asset(settings, ingest_type="on_demand_direct_upload", upload_id=upload_id)
            asset_id = asset["id"]
            self.blobs[asset_id] = (path, size)
            meta = self.upload_meta[upload_id]
            meta.path, meta.size = path, size
            upload["status"] = "asset_created"
            upload["asset_id"] = asset_id
            upload.pop("url", None)
            self.webhooks.emit(
                "video.upload.asset_created",
                object_type="upload",
                object_id=upload_id,
                data=copy.deepcopy(upload),
            )
            self._announce_created(asset)
            if size == 0:
                self.make_errored(
                    asset_id, error_type="invalid_input", messages=["The uploaded file is empty."]
                )
            elif self.config.ready_delay > 0:
                self._schedule_ready(asset_id)
            self._changed()
            return copy.deepcopy(upload)

    def _new_asset(
        self, settings: dict[str, Any], *, ingest_type: str, upload_id: str | None
    ) -> dict[str, Any]:
        """A `preparing` asset for validated settings (caller holds the lock and announces it)."""
        asset_id = new_id()
        playback = []
        for policy in settings.get("playback_policies") or []:
            pid = new_id(44)
            self.playback_ids[pid] = (asset_id, policy)
            playback.append({"id": pid, "policy": policy})
        video_quality = settings.get("video_quality") or "basic"
        asset: dict[str, Any] = {
            "id": asset_id,
            "created_at": int(time.time()),
            "status": "preparing",
            "playback_ids": playback,
            "ingest_type": ingest_type,
            "video_quality": video_quality,
            "encoding_tier": "baseline" if video_quality == "basic" else "smart",
            "max_resolution_tier": settings.get("max_resolution_tier") or "1080p",
            "master_access": settings.get("master_access") or "none",
            "mp4_support": "none",
            "normalize_audio": bool(settings.get("normalize_audio", False)),
            "progress": {"state": "ingesting", "progress": 0},
            "tracks": [],
        }
        if upload_id is not None:
            asset["upload_id"] = upload_id
        for key in ("passthrough", "meta", "test"):
            if key in settings:
                asset[key] = copy.deepcopy(settings[key])
        renditions = settings.get("static_renditions") or []
        if renditions:
            asset["static_renditions"] = {
                "status": "preparing",
                "files": [self._rendition_file(r) for r in renditions],
            }
        self.assets[asset_id] = asset
        self.asset_inputs[asset_id] = {"generated_subtitles": self._generated_subtitles(settings)}
        return asset

    @staticmethod
    def _rendition_file(request: dict[str, Any]) -> dict[str, Any]:
        resolution = request["resolution"]
        name = STATIC_RENDITION_NAMES[resolution]
        file: dict[str, Any] = {
            "id": new_id(),
            "name": name,
            "ext": name.rsplit(".", 1)[1],
            "resolution": resolution,
            "type": "standard",
            "status": "preparing",
        }
        if request.get("passthrough") is not None:
            file["passthrough"] = request["passthrough"]
        return file

    def _announce_created(self, asset: dict[str, Any]) -> None:
        self.webhooks.emit(
            "video.asset.created", object_type="asset", object_id=asset["id"], data=dict(asset)
        )
        for file in (asset.get("static_renditions") or {}).get("files") or []:
            self._emit_rendition("video.asset.static_rendition.created", asset["id"], file)

    def _emit_rendition(self, event_type: str, asset_id: str, file: dict[str, Any]) -> None:
        self.webhooks.emit(
            event_type,
            object_type="asset",
            object_id=asset_id,
            data={**copy.deepcopy(file), "asset_id": asset_id},
        )

    def _emit_track(self, event_type: str, asset_id: str, track: dict[str, Any]) -> None:
        self.webhooks.emit(
            event_type,
            object_type="track",
            object_id=track["id"],
            data={**copy.deepcopy(track), "asset_id": asset_id},
        )

    def _schedule_ready(self, asset_id: str) -> None:
        def transition() -> None:
            with contextlib.suppress(ApiError):  # deleted or errored by a control call meanwhile
                self.make_ready(asset_id)

        self.timers.call_later(self.config.ready_delay, transition)

    # --- assets -----------------------------------------------------------------------------------------

    def _asset(self, asset_id: str) -> dict[str, Any]:
        asset = self.assets.get(asset_id)
        if asset is None:
            raise not_found()
        return asset

    @staticmethod
    def api_view(asset: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(asset)
        view["created_at"] = str(view["created_at"])
        return view

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        with self.lock:
            return self.api_view(self._asset(asset_id))

    def list_assets(self, *, limit: int, page: int, upload_id: str | None) -> list[dict[str, Any]]:
        with self.lock:
            assets = [a for a in self.assets.values() if upload_id is None or a.get("upload_id") == upload_id]
            return [self.api_view(a) for a in _page(list(reversed(assets)), limit=limit, page=page)]

    def update_asset(self, asset_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            asset = self._asset(asset_id)
            if "passthrough" in payload:
                passthrough = payload["passthrough"]
                if passthrough is not None and (not isinstance(passthrough, str) or len(passthrough) > 255):
                    raise invalid("passthrough must be a string of at most 255 characters")
                asset["passthrough"] = passthrough
            if isinstance(payload.get("meta"), dict):
                asset["meta"] = {k: v for k, v in payload["meta"].items() if v is not None}
            self.webhooks.emit(
                "video.asset.updated", object_type="asset", object_id=asset_id, data=dict(asset)
            )
            self._changed()
            return self.api_view(asset)

    def delete_asset(self, asset_id: str) -> None:
        with self.lock:
            asset = self.assets.pop(asset_id, None)
            if asset is None:
                raise not_found()
            for pid in [p["id"] for p in asset.get("playback_ids", [])]:
                self.playback_ids.pop(pid, None)
            blob = self.blobs.pop(asset_id, None)
            if blob is not None:
                blob[0].unlink(missing_ok=True)
            self.asset_inputs.pop(asset_id, None)
            for track in asset.get("tracks", []):
                self.texts.pop(track["id"], None)
            self.webhooks.emit("video.asset.deleted", object_type="asset", object_id=asset_id, data=asset)
            self._changed()

    def make_ready(
        self, asset_id: str, *, duration: float | None = None, aspect_ratio: str | None = None
    ) -> dict[str, Any]:
        with self.lock:
            asset = self._asset(asset_id)
            if asset["status"] == "ready":
                return self.api_view(asset)
            if asset["status"] != "preparing":
                raise ApiError(409, "conflict", f"Asset is {asset['status']}, not preparing.")
            size = self.blobs.get(asset_id, (None, 0))[1]
            seconds = duration if duration is not None else self.config.default_duration
            if seconds is None:
                seconds = round(max(size / BYTES_PER_SECOND, 1.0), 3)
            seconds = float(seconds)
            text_tracks = [t for t in asset.get("tracks", []) if t.get("type") == "text"]
            asset.update(
                status="ready",
                duration=seconds,
                aspect_ratio=aspect_ratio or "16:9",
                resolution_tier="1080p",
                max_stored_resolution="FHD",
                max_stored_frame_rate=30.0,
                progress={"state": "completed", "progress": 100},
                tracks=[
                    {
                        "id": new_id(),
                        "type": "video",
                        "duration": seconds,
                        "max_width": 1920,
                        "max_height": 1080,
                        "max_frame_rate": 30.0,
                        "status": "ready",
                    },
                    {
                        "id": new_id(),
                        "type": "audio",
                        "duration": seconds,
                        "max_channels": 2,
                        "max_channel_layout": "stereo",
                        "primary": True,
                        "status": "ready",
                    },
                    *text_tracks,
                ],
            )
            if asset.get("static_renditions"):
                asset["static_renditions"]["status"] = "preparing"
            self.webhooks.emit("video.asset.ready", object_type="asset", object_id=asset_id, data=dict(asset))
            self._generated_tracks_ready(asset)
            self._renditions_ready(asset)
            self._changed()
            return self.api_view(asset)

    def make_errored(
        self, asset_id: str, *, error_type: str = "invalid_input", messages: list[str] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            asset = self._asset(asset_id)
            if asset["status"] == "errored":
                return self.api_view(asset)
            if asset["status"] != "preparing":
                raise ApiError(409, "conflict", f"Asset is {asset['status']}, not preparing.")
            asset.update(
                status="errored",
                errors={
                    "type": error_type,
                    "messages": messages or ["The input file could not be processed."],
                },
                progress={"state": "errored", "progress": 0},
            )
            self.webhooks.emit(
                "video.asset.errored", object_type="asset", object_id=asset_id, data=dict(asset)
            )
            self._changed()
            return self.api_view(asset)

    def override_asset(self, asset_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Test-only: overwrite raw asset fields (e.g. a status value this SDK version does not know)."""
        with self.lock:
            asset = self._asset(asset_id)
            asset.update(copy.deepcopy(fields))
            self._changed()
            return self.api_view(asset)

    # --- assets from a URL, text tracks, static renditions -----------------------------------------------

    def create_asset(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /assets: Mux downloads `inputs[0].url` in the background (here: on the timer thread);
        an input that cannot be fetched makes the asset `errored`."""
        settings = self._asset_settings(payload)
        inputs = settings.get("inputs") or []
        url = inputs[0].get("url") if inputs else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise invalid("inputs[0].url must be an http(s) URL")
        with self.lock:
            asset = self._new_asset(settings, ingest_type="on_demand_url", upload_id=None)
            self._announce_created(asset)
            self._changed()
            view = self.api_view(asset)
        self.timers.call_later(0, lambda: self._ingest_url(asset["id"], url))
        return view

    def _ingest_url(self, asset_id: str, url: str) -> None:
        try:
            data = fetch_url(url, max_bytes=INPUT_MAX_BYTES)
        except (OSError, ValueError, urllib.error.URLError) as exc:
            logger.info("asset %s: input %s not fetched: %s", asset_id, url, exc)
            with contextlib.suppress(ApiError):
                self.make_errored(
                    asset_id, error_type="invalid_input", messages=["The input URL could not be downloaded."]
                )
            return
        path = self.storage_path(f"asset-{asset_id}")
        path.write_bytes(data)
        with self.lock:
            if asset_id not in self.assets:
                path.unlink(missing_ok=True)
                return
            self.blobs[asset_id] = (path, len(data))
            self._changed()
        if not data:
            with contextlib.suppress(ApiError):
                self.make_errored(asset_id, error_type="invalid_input", messages=["The input file is empty."])
        elif self.config.ready_delay > 0:
            self._schedule_ready(asset_id)

    def create_track(self, asset_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /assets/{id}/tracks (text tracks from a URL): `preparing`, then Mux fetches the file
        (on the timer thread) and the track becomes `ready` or `errored`."""
        url = payload.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise invalid("url must be an http(s) URL")
        if payload.get("type") != "text" or payload.get("text_type", "subtitles") != "subtitles":
            raise invalid("only text tracks of text_type subtitles are supported")
        language = payload.get("language_code")
        if not isinstance(language, str) or not language:
            raise invalid("language_code is required")
        passthrough = payload.get("passthrough")
        if passthrough is not None and (not isinstance(passthrough, str) or len(passthrough) > 255):
            raise invalid("passthrough must be a string of at most 255 characters")
        with self.lock:
            asset = self._asset(asset_id)
            if asset["status"] == "errored":
                raise invalid("The asset is errored.")
            track: dict[str, Any] = {
                "id": new_id(),
                "type": "text",
                "text_type": "subtitles",
                "text_source": "uploaded",
                "language_code": language,
                "name": str(payload.get("name") or language),
                "closed_captions": bool(payload.get("closed_captions", False)),
                "status": "preparing",
            }
            if passthrough is not None:
                track["passthrough"] = passthrough
            asset.setdefault("tracks", []).append(track)
            self._emit_track("video.asset.track.created", asset_id, track)
            self._changed()
            created = copy.deepcopy(track)
        self.timers.call_later(0, lambda: self._ingest_text(asset_id, track["id"], url))
        return created

    def _ingest_text(self, asset_id: str, track_id: str, url: str) -> None:
        try:
            data = fetch_url(url, max_bytes=TEXT_TRACK_MAX_BYTES)
            ok = data.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT")
        except (OSError, ValueError, urllib.error.URLError) as exc:
            logger.info("track %s: %s not fetched: %s", track_id, url, exc)
            data, ok = b"", False
        with self.lock:
            asset = self.assets.get(asset_id)
            track = next((t for t in (asset or {}).get("tracks", []) if t["id"] == track_id), None)
            if asset is None or track is None or track["status"] != "preparing":
                return
            if ok:
                track["status"] = "ready"
                self.texts[track_id] = data
                self._emit_track("video.asset.track.ready", asset_id, track)
            else:
                track["status"] = "errored"
                track["error"] = {"type": "invalid_input", "messages": ["The text track could not be read."]}
                self._emit_track("video.asset.track.errored", asset_id, track)
            self._changed()

    def delete_track(self, asset_id: str, track_id: str) -> None:
        with self.lock:
            asset = self._asset(asset_id)
            track = next((t for t in asset.get("tracks", []) if t["id"] == track_id), None)
            if track is None:
                raise not_found()
            asset["tracks"] = [t for t in asset["tracks"] if t["id"] != track_id]
            self.texts.pop(track_id, None)
            self._emit_track("video.asset.track.deleted", asset_id, {**track, "status": "deleted"})
            self._changed()

    def text_track(self, asset_id: str, track_id: str) -> bytes | None:
        """The WebVTT of a ready text track (served on the stream host)."""
        with self.lock:
            asset = self.assets.get(asset_id) or {}
            track = next((t for t in asset.get("tracks", []) if t["id"] == track_id), None)
            if track is None or track.get("status") != "ready":
                return None
            return self.texts.get(track_id)

    def create_static_rendition(self, asset_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /assets/{id}/static-renditions: `preparing`; ready at once when the asset already is."""
        if payload.get("resolution") not in STATIC_RENDITION_NAMES:
            raise invalid("resolution must be one of " + ", ".join(STATIC_RENDITION_NAMES))
        with self.lock:
            asset = self._asset(asset_id)
            if asset["status"] == "errored":
                raise invalid("The asset is errored.")
            renditions = asset.setdefault("static_renditions", {"status": "preparing", "files": []})
            if any(f["resolution"] == payload["resolution"] for f in renditions["files"]):
                raise invalid("This static rendition already exists.")
            file = self._rendition_file(payload)
            renditions["files"].append(file)
            self._emit_rendition("video.asset.static_rendition.created", asset_id, file)
            if asset["status"] == "ready":
                self._renditions_ready(asset)
            else:
                renditions["status"] = "preparing"
            self._changed()
            return copy.deepcopy(file)

    def delete_static_rendition(self, asset_id: str, rendition_id: str) -> None:
        with self.lock:
            asset = self._asset(asset_id)
            renditions = asset.get("static_renditions") or {"files": []}
            file = next((f for f in renditions["files"] if f["id"] == rendition_id), None)
            if file is None:
                raise not_found()
            renditions["files"] = [f for f in renditions["files"] if f["id"] != rendition_id]
            self._emit_rendition(
                "video.asset.static_rendition.deleted", asset_id, {**file, "status": "deleted"}
            )
            self._changed()

    def _renditions_ready(self, asset: dict[str, Any]) -> None:
        renditions = asset.get("static_renditions")
        if not renditions:
            return
        size = self.blobs.get(asset["id"], (None, 0))[1]
        for file in renditions["files"]:
            if file["status"] == "preparing":
                audio = file["resolution"] == "audio-only"
                file.update(
                    status="ready",
                    resolution_tier="audio-only" if audio else "1080p",
                    filesize=str(size),
                    bitrate=128000 if audio else 4_000_000,
                    **({} if audio else {"width": 1920, "height": 1080}),
                )
                self._emit_rendition("video.asset.static_rendition.ready", asset["id"], file)
        renditions["status"] = "ready"

    def _generated_tracks_ready(self, asset: dict[str, Any]) -> None:
        """Mux's auto captions: one text track per requested language, created then ready."""
        for generated in self.asset_inputs.get(asset["id"], {}).get("generated_subtitles") or []:
            code = generated["language_code"]
            track: dict[str, Any] = {
                "id": new_id(),
                "type": "text",
                "text_type": "subtitles",
                "text_source": "generated_vod",
                "language_code": code,
                "name": str(generated.get("name") or code),
                "closed_captions": False,
                "status": "preparing",
            }
            if generated.get("passthrough") is not None:
                track["passthrough"] = generated["passthrough"]
            asset["tracks"].append(track)
            self._emit_track("video.asset.track.created", asset["id"], track)
            self.texts[track["id"]] = generated_vtt(language_code=code, duration=float(asset["duration"]))
            track["status"] = "ready"
            self._emit_track("video.asset.track.ready", asset["id"], track)

    def rendition_file(self, asset_id: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            asset = self.assets.get(asset_id) or {}
            files = (asset.get("static_renditions") or {}).get("files") or []
            found = next((f for f in files if f["name"] == name and f["status"] == "ready"), None)
            return copy.deepcopy(found) if found else None

    # --- playback ids -----------------------------------------------------------------------------------

    def create_playback_id(self, asset_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        policy = payload.get("policy")
        if policy not in PLAYBACK_POLICIES:
            raise invalid("policy must be public, signed or drm")
        with self.lock:
            asset = self._asset(asset_id)
            pid = new_id(44)
            self.playback_ids[pid] = (asset_id, policy)
            asset.setdefault("playback_ids", []).append({"id": pid, "policy": policy})
            self._changed()
            return {"id": pid, "policy": policy}

    def get_asset_playback_id(self, asset_id: str, playback_id: str) -> dict[str, Any]:
        with self.lock:
            owner = self.playback_ids.get(playback_id)
            if owner is None or owner[0] != asset_id:
                raise not_found()
            return {"id": playback_id, "policy": owner[1]}

    def delete_asset_playback_id(self, asset_id: str, playback_id: str) -> None:
        with self.lock:
            self.get_asset_playback_id(asset_id, playback_id)
            del self.playback_ids[playback_id]
            asset = self._asset(asset_id)
            asset["playback_ids"] = [p for p in asset.get("playback_ids", []) if p["id"] != playback_id]
            self._changed()

    def lookup_playback_id(self, playback_id: str) -> dict[str, Any]:
        with self.lock:
            owner = self.playback_ids.get(playback_id)
            if owner is None:
                raise not_found()
            return {"id": playback_id, "policy": owner[1], "object": {"type": "asset", "id": owner[0]}}

    def playable(self, playback_id: str) -> tuple[dict[str, Any], str, Path | None] | None:
        """(asset, policy, file) for a playback id, or None if unknown."""
        with self.lock:
            owner = self.playback_ids.get(playback_id)
            if owner is None or owner[0] not in self.assets:
                return None
            blob = self.blobs.get(owner[0])
            return copy.deepcopy(self.assets[owner[0]]), owner[1], blob[0] if blob else None

    # --- signing keys -----------------------------------------------------------------------------------

    def create_signing_key(self) -> dict[str, Any]:
        with self.lock:
            self._key_seq += 1
            seq = self._key_seq
        # Generated outside the lock: RSA-2048 generation takes ~0.1 s.
        pair = tokens.pooled_key_pair(seq - 1) if self.config.reuse_keys else tokens.generate_key_pair()
        with self.lock:
            key_id = new_id()
            key: dict[str, Any] = {
                "id": key_id,
                "created_at": int(time.time()),
                "private_key": pair.private_key_b64,
                "seq": seq,
            }
            self.signing_keys[key_id] = key
            self.public_keys[key_id] = pair.public_pem
            self._changed()
            return {"id": key_id, "created_at": str(key["created_at"]), "private_key": key["private_key"]}

    def get_signing_key(self, key_id: str) -> dict[str, Any]:
        with self.lock:
            key = self.signing_keys.get(key_id)
            if key is None:
                raise not_found()
            return {"id": key["id"], "created_at": str(key["created_at"])}

    def list_signing_keys(self, *, limit: int, page: int) -> list[dict[str, Any]]:
        with self.lock:
            keys = sorted(self.signing_keys.values(), key=lambda k: k["seq"], reverse=True)
            return [
                {"id": k["id"], "created_at": str(k["created_at"])}
                for k in _page(keys, limit=limit, page=page)
            ]

    def delete_signing_key(self, key_id: str) -> None:
        with self.lock:
            if self.signing_keys.pop(key_id, None) is None:
                raise not_found()
            self.public_keys.pop(key_id, None)
            self._changed()

    def verification_keys(self) -> dict[str, bytes]:
        with self.lock:
            return dict(self.public_keys)

    # --- control ----------------------------------------------------------------------------------------

    def reset(self, *, keep_signing_keys: bool = True) -> None:
        self.timers.clear()
        self.webhooks.reset()
        with self.lock:
            for path, _size in self.blobs.values():
                path.unlink(missing_ok=True)
            self.uploads.clear()
            self.upload_meta.clear()
            self.assets.clear()
            self.asset_inputs.clear()
            self.texts.clear()
            self.blobs.clear()
            self.playback_ids.clear()
            if not keep_signing_keys:
                self.signing_keys.clear()
                self.public_keys.clear()
            self._changed()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "uploads": copy.deepcopy(list(self.uploads.values())),
                "assets": [self.api_view(a) for a in self.assets.values()],
                "signing_keys": [
                    {"id": k["id"], "created_at": str(k["created_at"])} for k in self.signing_keys.values()
                ],
                "config": {
                    "webhook_url": self.webhooks.config.url,
                    "webhook_secrets": len(self.webhooks.config.secrets),
                    "ready_delay": self.config.ready_delay,
                    "default_duration": self.config.default_duration,
                    "webhook_max_attempts": self.webhooks.config.max_attempts,
                    "webhook_retry_base_seconds": self.webhooks.config.retry_base_seconds,
                },
                "webhooks": self.webhooks.status(),
            }

    # --- persistence ------------------------------------------------------------------------------------

    def _changed(self) -> None:
        if self.config.state_file is None:
            return
        data = {
            "version": 1,
            "uploads": self.uploads,
            "upload_meta": {
                k: {
                    "created": m.created,
                    "token": m.token,
                    "path": str(m.path) if m.path else None,
                    "size": m.size,
                }
                for k, m in self.upload_meta.items()
            },
            "assets": self.assets,
            "asset_inputs": self.asset_inputs,
            "texts": {k: v.decode("utf-8", "replace") for k, v in self.texts.items()},
            "blobs": {k: [str(p), s] for k, (p, s) in self.blobs.items()},
            "playback_ids": {k: list(v) for k, v in self.playback_ids.items()},
            "signing_keys": list(self.signing_keys.values()),
        }
        try:
            persistence.save_state(self.config.state_file, data)
        except OSError:
            logger.exception("could not persist emulator state")

    def _load(self, path: Path) -> None:
        data = persistence.load_state(path)
        if not data:
            return
        try:
            self.uploads = dict(data.get("uploads") or {})
            self.upload_meta = {
                k: _UploadMeta(
                    created=float(m["created"]),
                    token=str(m["token"]),
                    path=Path(m["path"]) if m.get("path") else None,
                    size=int(m.get("size") or 0),
                )
                for k, m in (data.get("upload_meta") or {}).items()
            }
            self.assets = dict(data.get("assets") or {})
            self.asset_inputs = dict(data.get("asset_inputs") or {})
            self.texts = {k: str(v).encode() for k, v in (data.get("texts") or {}).items()}
            self.blobs = {k: (Path(v[0]), int(v[1])) for k, v in (data.get("blobs") or {}).items()}
            self.playback_ids = {k: (v[0], v[1]) for k, v in (data.get("playback_ids") or {}).items()}
            for key in data.get("signing_keys") or []:
                self.signing_keys[key["id"]] = key
                self.public_keys[key["id"]] = tokens.public_pem_from_private_b64(key["private_key"])
                self._key_seq = max(self._key_seq, int(key.get("seq") or 0))
        except (KeyError, TypeError, ValueError):
            logger.exception("ignoring unreadable emulator state in %s", path)


def _page(items: list[Any], *, limit: int, page: int) -> list[Any]:
    limit = min(max(limit, 1), 100)
    start = (max(page, 1) - 1) * limit
    return items[start : start + limit]
