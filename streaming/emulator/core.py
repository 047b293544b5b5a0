"""The emulator's state machine: direct uploads, assets, playback ids and signing keys.

Framework-free (no Django, no HTTP): `server.py` maps requests onto these methods and renders
`ApiError` as Mux's `{"error": {"type", "messages"}}` envelope. Shapes and enum values follow Mux's API
reference exactly (docs/emulator.md), because the unmodified SDK rejects unknown enum values and drops
unknown statuses. REST responses carry asset `created_at` as a string, webhook payloads as a number.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import secrets
import string
import threading
import time
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


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.uploads: dict[str, dict[str, Any]] = {}
        self.upload_meta: dict[str, _UploadMeta] = {}
        self.assets: dict[str, dict[str, Any]] = {}
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
        return settings

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
                "upload_id": upload_id,
                "ingest_type": "on_demand_direct_upload",
                "video_quality": video_quality,
                "encoding_tier": "baseline" if video_quality == "basic" else "smart",
                "max_resolution_tier": settings.get("max_resolution_tier") or "1080p",
                "master_access": settings.get("master_access") or "none",
                "mp4_support": "none",
                "normalize_audio": bool(settings.get("normalize_audio", False)),
                "progress": {"state": "ingesting", "progress": 0},
                "tracks": [],
            }
            for key in ("passthrough", "meta", "test"):
                if key in settings:
                    asset[key] = copy.deepcopy(settings[key])
            self.assets[asset_id] = asset
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
            self.webhooks.emit(
                "video.asset.created", object_type="asset", object_id=asset_id, data=dict(asset)
            )
            if size == 0:
                self.make_errored(
                    asset_id, error_type="invalid_input", messages=["The uploaded file is empty."]
                )
            elif self.config.ready_delay > 0:
                self._schedule_ready(asset_id)
            self._changed()
            return copy.deepcopy(upload)

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
                ],
            )
            self.webhooks.emit("video.asset.ready", object_type="asset", object_id=asset_id, data=dict(asset))
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
