"""The emulator's HTTP face: Mux's REST API, the upload URL, signed playback hosts, `/_control/`.

stdlib `ThreadingHTTPServer`, HTTP/1.1 keep-alive (urllib3 pools connections), loopback only. See
docs/emulator.md for every endpoint.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from streaming.emulator import media
from streaming.emulator.core import ApiError, Emulator, EmulatorConfig, invalid, is_loopback, not_found
from streaming.emulator.tokens import AUDIENCES, TokenRejected, verify_playback_token

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
API_PREFIXES = ("/video/", "/system/")
CONTROL_TOKEN_HEADER = "X-Control-Token"  # noqa: S105 - a header name, not a secret
ERROR_TYPES = {429: "too_many_requests", 500: "internal_server_error", 502: "bad_gateway", 503: "unavailable"}


@dataclass
class FaultRule:
    """The next `count` matching API calls wait `delay` seconds, then fail with `status` (if set)."""

    count: int
    status: int | None = None
    delay: float = 0.0
    retry_after: int | None = None
    method: str | None = None
    path_prefix: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: MuxEmulator) -> None:
        self.emulator = emulator
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_open_sockets(self) -> None:
        """Unblock handler threads parked on idle keep-alive connections so none outlives the server."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class MuxEmulator:
    """Run the emulator on a loopback port in a background thread (`with MuxEmulator(...) as emu:`)."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        control_token: str | None = None,
        allow_non_loopback: bool = False,
    ) -> None:
        # `/_control/` can rewrite assets, drop faults in and read every event: off loopback (a
        # container) it needs a token, or anyone who reaches the port could drive it.
        if not is_loopback(host) and not allow_non_loopback:
            raise ValueError(f"the Mux emulator only listens on loopback, not {host!r}")
        if not is_loopback(host) and not control_token:
            raise ValueError(f"listening on non-loopback {host!r} needs a control token")
        self.control_token = control_token or None
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self._own_storage: Path | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.faults: list[FaultRule] = []
        self.requests: list[dict[str, Any]] = []
        self.control_lock = threading.Lock()
        self.core: Emulator | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def emulator(self) -> Emulator:
        if self.core is None:
            raise RuntimeError("emulator not started")
        return self.core

    def start(self) -> MuxEmulator:
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        if not self.config.public_url:
            self.config.public_url = self.url
        if self.config.storage_dir is None:
            self._own_storage = Path(tempfile.mkdtemp(prefix="mux-emulator-"))
            self.config.storage_dir = self._own_storage
        self.core = Emulator(self.config)
        self.core.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="mux-emulator-http",
            daemon=True,
        )
        self._thread.start()
        logger.info("Mux emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_open_sockets()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self.core is not None:
            self.core.stop()
        if self._own_storage is not None:
            shutil.rmtree(self._own_storage, ignore_errors=True)

    def serve_forever(self) -> None:
        """Foreground mode for the management command / `python -m streaming.emulator`."""
        self.start()
        try:
            while not self.stopping.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> MuxEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def take_fault(self, method: str, path: str) -> FaultRule | None:
        with self.control_lock:
            for rule in self.faults:
                if rule.matches(method, path):
                    rule.count -= 1
                    if rule.count <= 0:
                        self.faults.remove(rule)
                    return rule
        return None

    def log_request(self, method: str, path: str, status: int) -> None:
        with self.control_lock:
            self.requests.append({"method": method, "path": path, "status": status, "at": time.time()})


Route = tuple[str, re.Pattern[str], str]
_ID = r"([A-Za-z0-9_-]+)"


def _r(method: str, pattern: str, name: str) -> Route:
    return method, re.compile(f"^{pattern}$"), name


API_ROUTES: list[Route] = [
    _r("POST", r"/video/v1/uploads", "create_upload"),
    _r("GET", r"/video/v1/uploads", "list_uploads"),
    _r("GET", rf"/video/v1/uploads/{_ID}", "get_upload"),
    _r("PUT", rf"/video/v1/uploads/{_ID}/cancel", "cancel_upload"),
    _r("GET", r"/video/v1/assets", "list_assets"),
    _r("GET", rf"/video/v1/assets/{_ID}", "get_asset"),
    _r("PATCH", rf"/video/v1/assets/{_ID}", "update_asset"),
    _r("DELETE", rf"/video/v1/assets/{_ID}", "delete_asset"),
    _r("POST", rf"/video/v1/assets/{_ID}/playback-ids", "create_playback_id"),
    _r("GET", rf"/video/v1/assets/{_ID}/playback-ids/{_ID}", "get_asset_playback_id"),
    _r("DELETE", rf"/video/v1/assets/{_ID}/playback-ids/{_ID}", "delete_asset_playback_id"),
    _r("GET", rf"/video/v1/playback-ids/{_ID}", "lookup_playback_id"),
    _r("POST", r"/video/v1/assets", "create_asset"),
    _r("POST", rf"/video/v1/assets/{_ID}/tracks", "create_track"),
    _r("DELETE", rf"/video/v1/assets/{_ID}/tracks/{_ID}", "delete_track"),
    _r("POST", rf"/video/v1/assets/{_ID}/static-renditions", "create_static_rendition"),
    _r("DELETE", rf"/video/v1/assets/{_ID}/static-renditions/{_ID}", "delete_static_rendition"),
    _r("POST", r"/(?:system|video)/v1/signing-keys", "create_signing_key"),
    _r("GET", r"/(?:system|video)/v1/signing-keys", "list_signing_keys"),
    _r("GET", rf"/(?:system|video)/v1/signing-keys/{_ID}", "get_signing_key"),
    _r("DELETE", rf"/(?:system|video)/v1/signing-keys/{_ID}", "delete_signing_key"),
]

CONTROL_ROUTES: list[Route] = [
    _r("GET", r"/_control/state", "state"),
    _r("POST", r"/_control/reset", "reset"),
    _r("GET", r"/_control/config", "get_config"),
    _r("POST", r"/_control/config", "set_config"),
    _r("POST", rf"/_control/assets/{_ID}/ready", "asset_ready"),
    _r("POST", rf"/_control/assets/{_ID}/errored", "asset_errored"),
    _r("POST", rf"/_control/assets/{_ID}/override", "asset_override"),
    _r("GET", r"/_control/faults", "list_faults"),
    _r("POST", r"/_control/faults", "add_fault"),
    _r("DELETE", r"/_control/faults", "clear_faults"),
    _r("GET", r"/_control/requests", "list_requests"),
    _r("DELETE", r"/_control/requests", "clear_requests"),
    _r("POST", r"/_control/webhooks/faults", "webhook_faults"),
    _r("POST", r"/_control/webhooks/hold", "webhook_hold"),
    _r("POST", r"/_control/webhooks/release", "webhook_release"),
    _r("POST", r"/_control/webhooks/flush", "webhook_flush"),
    _r("POST", r"/_control/flush", "flush"),
    _r("GET", r"/_control/webhooks/deliveries", "webhook_deliveries"),
    _r("GET", r"/_control/webhooks/events", "webhook_events"),
    _r("POST", r"/_control/webhooks/events", "webhook_emit"),
    _r("POST", rf"/_control/webhooks/events/{_ID}/redeliver", "webhook_redeliver"),
]


def _match(routes: list[Route], method: str, path: str) -> tuple[str | None, tuple[str, ...], bool]:
    """(handler name or None, path args, whether the path exists for some method)."""
    path_known = False
    for route_method, pattern, name in routes:
        found = pattern.match(path)
        if found:
            if route_method == method:
                return name, found.groups(), True
            path_known = True
    return None, (), path_known


def _no_content(fn: Callable[[], None]) -> tuple[int, Any]:
    fn()
    return 204, None


PLAYBACK_ROUTES = [
    (re.compile(r"/stream/([A-Za-z0-9]+)\.m3u8"), "stream", "playlist"),
    (re.compile(r"/stream/([A-Za-z0-9]+)/source"), "stream", "source"),
    (re.compile(r"/stream/([A-Za-z0-9]+)/text/([A-Za-z0-9]+)\.vtt"), "stream", "text"),
    (
        re.compile(r"/stream/([A-Za-z0-9]+)/((?:highest|capped-1080p|\d{3,4}p)\.mp4|audio\.m4a)"),
        "stream",
        "rendition",
    ),
    (re.compile(r"/image/([A-Za-z0-9]+)/thumbnail\.(jpg|png|webp)"), "thumbnail", "image"),
    (re.compile(r"/image/([A-Za-z0-9]+)/storyboard\.(jpg|png|webp)"), "storyboard", "image"),
    (re.compile(r"/image/([A-Za-z0-9]+)/storyboard\.(vtt|json)"), "storyboard", "storyboard"),
]


def _playback_route(path: str) -> tuple[re.Match[str], str, str] | None:
    """(match, token audience kind, what to serve) for a stream/image path."""
    for pattern, kind, what in PLAYBACK_ROUTES:
        found = pattern.fullmatch(path)
        if found:
            return found, kind, what
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in one segment: no 40 ms delayed-ACK stalls
    wbufsize = CHUNK  # buffered; BaseHTTPRequestHandler flushes after each request
    timeout = 30  # idle keep-alive connections close; stop() also shuts them down
    server: _Server
    server_version = "MuxEmulator/1"

    # --- plumbing ---------------------------------------------------------------------------------------

    @property
    def emu(self) -> MuxEmulator:
        return self.server.emulator

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return b"".join(self._iter_chunked())
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _iter_chunked(self) -> Any:
        while True:
            line = self.rfile.readline(65537).strip()
            size = int(line.split(b";", 1)[0] or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537).strip():  # trailers
                    pass
                return
            yield self.rfile.read(size)
            self.rfile.readline(3)

    def _send(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body and status != 204 and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, *, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _text(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        self._send(status, message.encode(), content_type="text/plain; charset=utf-8", headers=headers)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            if path.startswith(API_PREFIXES):
                self._api(method, path, query)
            elif path.startswith("/_upload/"):
                self._upload(method, path, query)
            elif path.startswith(("/stream/", "/image/")):
                self._playback(method, path, query)
            elif path.startswith("/_control/"):
                self._control(method, path, query)
            else:
                self._read_body()
                self._json(404, not_found().envelope())
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    @staticmethod
    def _int(query: dict[str, list[str]], name: str, default: int) -> int:
        try:
            return int(query.get(name, [default])[0])
        except ValueError as exc:
            raise invalid(f"{name} must be an integer") from exc

    # --- Mux REST API -----------------------------------------------------------------------------------

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        config = self.emu.config
        return hmac.compare_digest(user, config.token_id) & hmac.compare_digest(password, config.token_secret)

    def _api(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        raw = self._read_body()
        status = self._api_respond(method, path, query, raw)
        self.emu.log_request(method, path, status)

    def _api_respond(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> int:
        rule = self.emu.take_fault(method, path)
        if rule is not None:
            if rule.delay > 0 and self.emu.stopping.wait(rule.delay):
                self.close_connection = True
                return 0
            if rule.status is not None:
                headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else None
                error = ApiError(rule.status, ERROR_TYPES.get(rule.status, "error"), "Injected failure.")
                self._json(rule.status, error.envelope(), headers=headers)
                return rule.status
        if not self._authorized():
            error = ApiError(401, "unauthorized", "Unauthorized request")
            self._json(401, error.envelope(), headers={"WWW-Authenticate": 'Basic realm="Mux"'})
            return 401
        name, args, path_known = _match(API_ROUTES, method, path)
        if name is None:
            if path_known:
                self._json(405, ApiError(405, "method_not_allowed", "Method not allowed.").envelope())
                return 405
            self._json(404, not_found().envelope())
            return 404
        try:
            payload: dict[str, Any] = {}
            if raw:
                decoded = json.loads(raw)
                if not isinstance(decoded, dict):
                    raise invalid("The request body must be a JSON object.")
                payload = decoded
            status, body = self._api_call(name, args, query, payload)
        except ValueError:
            status, body = 400, invalid("The request body is not valid JSON.").envelope()
        except ApiError as exc:
            status, body = exc.status, exc.envelope()
        if status == 204:
            self._send(204)
        else:
            self._json(status, body)
        return status

    def _api_call(
        self, name: str, args: tuple[str, ...], query: dict[str, list[str]], payload: dict[str, Any]
    ) -> tuple[int, Any]:
        core = self.emu.emulator
        limit, page = self._int(query, "limit", 25), self._int(query, "page", 1)
        calls: dict[str, Callable[[], tuple[int, Any]]] = {
            "create_upload": lambda: (201, {"data": core.create_upload(payload)}),
            "list_uploads": lambda: (200, {"data": core.list_uploads(limit=limit, page=page)}),
            "get_upload": lambda: (200, {"data": core.get_upload(args[0])}),
            "cancel_upload": lambda: (200, {"data": core.cancel_upload(args[0])}),
            "list_assets": lambda: (
                200,
                {
                    "data": core.list_assets(
                        limit=limit, page=page, upload_id=query.get("upload_id", [None])[0]
                    )
                },
            ),
            "get_asset": lambda: (200, {"data": core.get_asset(args[0])}),
            "update_asset": lambda: (200, {"data": core.update_asset(args[0], payload)}),
            "delete_asset": lambda: _no_content(lambda: core.delete_asset(args[0])),
            "create_playback_id": lambda: (201, {"data": core.create_playback_id(args[0], payload)}),
            "get_asset_playback_id": lambda: (200, {"data": core.get_asset_playback_id(args[0], args[1])}),
            "delete_asset_playback_id": lambda: _no_content(
                lambda: core.delete_asset_playback_id(args[0], args[1])
            ),
            "lookup_playback_id": lambda: (200, {"data": core.lookup_playback_id(args[0])}),
            "create_asset": lambda: (201, {"data": core.create_asset(payload)}),
            "create_track": lambda: (201, {"data": core.create_track(args[0], payload)}),
            "delete_track": lambda: _no_content(lambda: core.delete_track(args[0], args[1])),
            "create_static_rendition": lambda: (
                201,
                {"data": core.create_static_rendition(args[0], payload)},
            ),
            "delete_static_rendition": lambda: _no_content(
                lambda: core.delete_static_rendition(args[0], args[1])
            ),
            "create_signing_key": lambda: (201, {"data": core.create_signing_key()}),
            "list_signing_keys": lambda: (200, {"data": core.list_signing_keys(limit=limit, page=page)}),
            "get_signing_key": lambda: (200, {"data": core.get_signing_key(args[0])}),
            "delete_signing_key": lambda: _no_content(lambda: core.delete_signing_key(args[0])),
        }
        return calls[name]()

    # --- the upload URL ("storage", no auth) --------------------------------------------------------------

    def _cors(self, origin: str | None) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": origin or "*",
            "Access-Control-Allow-Methods": "PUT, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Content-Range, Content-Length",
            "Access-Control-Expose-Headers": "Range",
            "Access-Control-Max-Age": "3600",
        }

    def _upload(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        found = re.fullmatch(rf"/_upload/{_ID}", path)
        core = self.emu.emulator
        upload_id = found.group(1) if found else ""
        cors = self._cors(core.upload_cors_origin(upload_id))
        if method == "OPTIONS":
            self._read_body()
            self._send(204, headers=cors)
            return
        if method != "PUT" or not found:
            self.close_connection = True
            self._text(405 if found else 404, "Not allowed.", headers=cors)
            return
        try:
            core.upload_target(upload_id, query.get("token", [None])[0])
        except ApiError as exc:
            self.close_connection = True  # the body is not read: do not reuse the connection
            self._text(exc.status, " ".join(exc.messages), headers=cors)
            return
        target = core.storage_path(upload_id)
        start, _end, total = self._content_range()
        if start is None and total is not None:  # "bytes */N": where are we?
            self._read_body()
            self._resume_incomplete(target, cors)
            return
        mode = "r+b" if start and target.exists() else "wb"
        written = 0
        with target.open(mode) as fh:
            fh.seek(start or 0)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                for piece in self._iter_chunked():
                    fh.write(piece)
                    written += len(piece)
            else:
                remaining = int(self.headers.get("Content-Length") or 0)
                while remaining > 0:
                    piece = self.rfile.read(min(CHUNK, remaining))
                    if not piece:
                        raise ConnectionError("client went away mid-upload")
                    fh.write(piece)
                    written += len(piece)
                    remaining -= len(piece)
        size = (start or 0) + written
        if total is not None and size < total:
            self._resume_incomplete(target, cors)
            return
        try:
            core.upload_received(upload_id, path=target, size=size)
        except ApiError as exc:  # cancelled meanwhile
            self._text(exc.status, " ".join(exc.messages), headers=cors)
            return
        self._text(200, "", headers=cors)

    def _content_range(self) -> tuple[int | None, int | None, int | None]:
        header = self.headers.get("Content-Range")
        if not header:
            return None, None, None
        found = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", header.strip())
        if not found:
            return None, None, None
        start = int(found.group(1)) if found.group(1) else None
        end = int(found.group(2)) if found.group(2) else None
        total = int(found.group(3)) if found.group(3) != "*" else None
        return start, end, total

    def _resume_incomplete(self, target: Path, cors: dict[str, str]) -> None:
        size = target.stat().st_size if target.exists() else 0
        headers = dict(cors)
        if size:
            headers["Range"] = f"bytes=0-{size - 1}"
        self._send(308, b"", content_type="text/plain", headers=headers)

    # --- signed playback (stream.mux.com / image.mux.com stand-ins) -------------------------------------

    def _playback(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        self._read_body()
        cors = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
        if method not in ("GET", "OPTIONS"):
            self._text(405, "Method not allowed.", headers=cors)
            return
        if method == "OPTIONS":
            self._send(204, headers={**cors, "Access-Control-Allow-Methods": "GET"})
            return
        route = _playback_route(path)
        if route is None:
            self._text(404, "Not found.", headers=cors)
            return
        found, kind, what = route
        playback_id = found.group(1)
        core = self.emu.emulator
        playable = core.playable(playback_id)
        if playable is None:
            self._text(404, "Playback ID not found.", headers=cors)
            return
        asset, policy, source = playable
        token = query.get("token", [None])[0]
        if policy != "public":
            try:
                verify_playback_token(
                    token,
                    playback_id=playback_id,
                    audience=AUDIENCES[kind],
                    public_keys=core.verification_keys(),
                )
            except TokenRejected as exc:
                logger.info("playback %s %s refused: %s", kind, playback_id, exc)
                self._text(403, "Forbidden: invalid or expired playback token.", headers=cors)
                return
        if asset["status"] != "ready":
            self._text(412, "The asset is not ready for playback.", headers=cors)
            return
        duration = float(asset.get("duration") or 0.0)
        if what == "playlist":
            url = media.with_token(f"/stream/{playback_id}/source", token if policy != "public" else None)
            body = media.hls_playlist(source_url=url, duration=duration)
            self._send(200, body, content_type="application/vnd.apple.mpegurl", headers=cors)
        elif what == "source":
            self._send_file(source, cors)
        elif what == "text":
            text = core.text_track(asset["id"], found.group(2))
            if text is None:
                self._text(404, "Text track not found.", headers=cors)
            else:
                self._send(200, text, content_type="text/vtt; charset=utf-8", headers=cors)
        elif what == "rendition":
            if core.rendition_file(asset["id"], found.group(2)) is None:
                self._text(404, "Static rendition not found.", headers=cors)
            else:
                self._send_file(source, cors)
        elif what == "image":
            content_type, image = media.IMAGES[found.group(2)]
            self._send(200, image, content_type=content_type, headers=cors)
        else:
            image_url = media.with_token(
                f"/image/{playback_id}/storyboard.jpg", token if policy != "public" else None
            )
            if found.group(2) == "vtt":
                self._send(
                    200,
                    media.storyboard_vtt(image_url=image_url, duration=duration),
                    content_type="text/vtt",
                    headers=cors,
                )
            else:
                self._send(200, media.storyboard_json(image_url=image_url, duration=duration), headers=cors)

    def _send_file(self, source: Path | None, headers: dict[str, str]) -> None:
        if source is None or not source.exists():
            self._text(404, "The uploaded file is gone.", headers=headers)
            return
        size = source.stat().st_size
        with source.open("rb") as fh:
            content_type = media.sniff_content_type(fh.read(12))
            fh.seek(0)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(size))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            shutil.copyfileobj(fh, self.wfile, CHUNK)

    # --- /_control/ (tests and humans; loopback only, or anywhere with the control token) -----------------

    def _control_allowed(self) -> bool:
        expected = self.emu.control_token
        if expected is None:
            return True  # bound to loopback (enforced at construction)
        given = self.headers.get(CONTROL_TOKEN_HEADER, "")
        return hmac.compare_digest(given.encode(), expected.encode())

    def _control(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if not self._control_allowed():
            # Refused before the body is read (an unauthenticated caller must not make us buffer it);
            # the unread body makes the connection unusable, so it is closed after the answer.
            self.close_connection = True
            self._json(401, {"error": f"control API: missing or wrong {CONTROL_TOKEN_HEADER} header"})
            return
        raw = self._read_body()
        name, args, path_known = _match(CONTROL_ROUTES, method, path)
        if name is None:
            self._json(405 if path_known else 404, {"error": "unknown control endpoint"})
            return
        try:
            payload = json.loads(raw) if raw else {}
            if not isinstance(payload, dict):
                raise ValueError("body must be a JSON object")
            status, body = getattr(self, f"_c_{name}")(args, payload)
        except ApiError as exc:
            status, body = exc.status, exc.envelope()
        except (ValueError, TypeError, KeyError) as exc:
            status, body = 400, {"error": f"bad control request: {exc}"}
        self._json(status, body)

    def _c_state(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        return 200, self.emu.emulator.snapshot()

    def _c_reset(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        self.emu.emulator.reset(keep_signing_keys=bool(payload.get("keep_signing_keys", True)))
        with self.emu.control_lock:
            self.emu.faults.clear()
            self.emu.requests.clear()
        return 200, {"reset": True}

    def _c_get_config(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        return 200, self.emu.emulator.snapshot()["config"]

    def _c_set_config(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        core = self.emu.emulator
        hooks = core.webhooks.config
        if "webhook_url" in payload:
            url = payload["webhook_url"]
            if url is not None and not str(url).startswith(("http://", "https://")):
                raise ValueError("webhook_url must be an http(s) URL or null")
            hooks.url = url
        if "webhook_secrets" in payload:
            secrets = payload["webhook_secrets"]
            if not isinstance(secrets, list) or not all(isinstance(s, str) and s for s in secrets):
                raise ValueError("webhook_secrets must be a list of non-empty strings")
            hooks.secrets = list(secrets)
        if "ready_delay" in payload:
            core.config.ready_delay = float(payload["ready_delay"])
        if "default_duration" in payload:
            value = payload["default_duration"]
            core.config.default_duration = None if value is None else float(value)
        if "webhook_max_attempts" in payload:
            hooks.max_attempts = max(int(payload["webhook_max_attempts"]), 1)
        if "webhook_retry_base_seconds" in payload:
            hooks.retry_base_seconds = max(float(payload["webhook_retry_base_seconds"]), 0.0)
        if "stale_seconds" in payload:
            hooks.stale_seconds = int(payload["stale_seconds"])
        return 200, core.snapshot()["config"]

    def _c_asset_ready(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        duration = payload.get("duration")
        asset = self.emu.emulator.make_ready(
            args[0],
            duration=None if duration is None else float(duration),
            aspect_ratio=payload.get("aspect_ratio"),
        )
        return 200, {"data": asset}

    def _c_asset_errored(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        messages = payload.get("messages")
        asset = self.emu.emulator.make_errored(
            args[0],
            error_type=str(payload.get("type") or "invalid_input"),
            messages=[str(m) for m in messages] if isinstance(messages, list) else None,
        )
        return 200, {"data": asset}

    def _c_asset_override(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"data": self.emu.emulator.override_asset(args[0], payload)}

    def _c_list_faults(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        with self.emu.control_lock:
            return 200, {"faults": [f.as_dict() for f in self.emu.faults]}

    def _c_add_fault(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        status = payload.get("status")
        rule = FaultRule(
            count=int(payload.get("count", 1)),
            status=None if status is None else int(status),
            delay=float(payload.get("delay", 0.0)),
            retry_after=None if payload.get("retry_after") is None else int(payload["retry_after"]),
            method=str(payload["method"]).upper() if payload.get("method") else None,
            path_prefix=payload.get("path_prefix"),
        )
        if rule.status is None and rule.delay <= 0:
            raise ValueError("a fault needs a status or a delay")
        if rule.status is not None and rule.status not in HTTPStatus._value2member_map_:
            raise ValueError("unknown HTTP status")
        with self.emu.control_lock:
            self.emu.faults.append(rule)
            return 201, {"faults": [f.as_dict() for f in self.emu.faults]}

    def _c_clear_faults(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        with self.emu.control_lock:
            self.emu.faults.clear()
        return 200, {"faults": []}

    def _c_list_requests(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        with self.emu.control_lock:
            return 200, {"requests": list(self.emu.requests)}

    def _c_clear_requests(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        with self.emu.control_lock:
            self.emu.requests.clear()
        return 200, {"requests": []}

    def _c_webhook_faults(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        hooks = self.emu.emulator.webhooks
        if "stale_seconds" in payload:
            hooks.config.stale_seconds = int(payload["stale_seconds"])
        faults = hooks.add_faults(
            duplicate=int(payload.get("duplicate", 0)),
            stale=int(payload.get("stale", 0)),
            wrong_secret=int(payload.get("wrong_secret", 0)),
        )
        return 200, {"faults": faults}

    def _c_webhook_hold(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        self.emu.emulator.webhooks.hold()
        return 200, self.emu.emulator.webhooks.status()

    def _c_webhook_release(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        order = payload.get("order", "original")
        if order not in ("original", "reversed"):
            raise ValueError("order must be original or reversed")
        released = self.emu.emulator.webhooks.release(reverse=order == "reversed")
        return 200, {"released": released}

    def _c_webhook_flush(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        drained = self.emu.emulator.webhooks.flush(float(payload.get("timeout", 10.0)))
        return 200, {"drained": drained, **self.emu.emulator.webhooks.status()}

    def _c_flush(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        """Wait for background work (URL downloads, due transitions), then for webhook deliveries."""
        timeout = float(payload.get("timeout", 10.0))
        core = self.emu.emulator
        drained = core.timers.wait_idle(timeout) and core.webhooks.flush(timeout)
        return 200, {"drained": drained, **core.webhooks.status()}

    def _c_webhook_deliveries(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"deliveries": self.emu.emulator.webhooks.deliveries()}

    def _c_webhook_events(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        events = self.emu.emulator.webhooks.events()
        return 200, {"events": [{**e.as_dict(), "body": e.body.decode()} for e in events]}

    def _c_webhook_emit(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        obj = payload.get("object") or {}
        data = payload.get("data") or {}
        if (
            not isinstance(payload.get("type"), str)
            or not isinstance(obj, dict)
            or not isinstance(data, dict)
        ):
            raise ValueError("need type (string), object {type, id} and data (object)")
        event = self.emu.emulator.webhooks.emit(
            payload["type"],
            object_type=str(obj.get("type") or "asset"),
            object_id=str(obj.get("id") or data.get("id") or ""),
            data=data,
        )
        return 201, {**event.as_dict(), "body": event.body.decode()}

    def _c_webhook_redeliver(self, args: tuple[str, ...], payload: dict[str, Any]) -> tuple[int, Any]:
        if not self.emu.emulator.webhooks.redeliver(args[0]):
            raise not_found()
        return 202, {"redelivering": args[0]}
