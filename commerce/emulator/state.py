"""The emulator's Stripe objects and what happens to them: Checkout Sessions, PaymentIntents, Charges,
Refunds, Disputes and the events each change emits. Shapes follow Stripe's published API (the fields
LearnStream and Stripe's own docs rely on); anything else is left out rather than invented.

Thread-safe: one lock around every change; events leave through `on_event` after the lock is released.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2026-10-28.endive"  # what the pinned SDK sends as Stripe-Version
SESSION_LIFETIME_SECONDS = 24 * 3600
CURRENCY_RE_LEN = 3


class StripeError(Exception):
    """An API error answered with Stripe's envelope `{"error": {"type", "code", "message", "param"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str = "",
        param: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"type": type_, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def missing(kind: str, object_id: str) -> StripeError:
    return StripeError(
        404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id" if object_id else ""
    )


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class Event:
    id: str
    type: str
    payload: str  # the exact JSON body Stripe would POST (what is signed)


@dataclass
class StripeState:
    public_url: str = ""
    on_event: Callable[[Event], None] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def reset(self) -> None:
        with self.lock:
            for table in (self.sessions, self.payment_intents, self.charges, self.refunds, self.disputes):
                table.clear()
            self.events.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(
                {
                    "checkout_sessions": list(self.sessions.values()),
                    "payment_intents": list(self.payment_intents.values()),
                    "charges": list(self.charges.values()),
                    "refunds": list(self.refunds.values()),
                    "disputes": list(self.disputes.values()),
                }
            )

    # --- events -------------------------------------------------------------------------------------
    def _emit(self, event_type: str, obj: dict[str, Any], pending: list[Event]) -> None:
        event_id = new_id("evt")
        body: dict[str, Any] = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        event = Event(id=event_id, type=event_type, payload=json.dumps(body, indent=2))
        self.events.append(event)
        pending.append(event)

    def _publish(self, pending: list[Event]) -> None:
        if self.on_event is not None:
            for event in pending:
                self.on_event(event)

    def event(self, event_id: str) -> Event:
        with self.lock:
            for event in self.events:
                if event.id == event_id:
                    return event
        raise missing("event", event_id)

    # --- checkout sessions ----------------------------------------------------------------------------
    def session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise StripeError(400, "Only mode=payment is supported by the emulator.", param="mode")
        success_url = params.get("success_url")
        if not isinstance(success_url, str) or not success_url.startswith(("http://", "https://")):
            raise StripeError(400, "Not a valid URL", param="success_url")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise StripeError(400, "Missing required param: line_items.", param="line_items")
        total, currency = 0, None
        for index, item in enumerate(items):
            price = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(price, dict):
                raise StripeError(400, "Missing price_data.", param=f"line_items[{index}][price_data]")
            cur = str(price.get("currency", "")).lower()
            if len(cur) != CURRENCY_RE_LEN or not cur.isalpha():
                raise StripeError(
                    400, "Invalid currency.", param=f"line_items[{index}][price_data][currency]"
                )
            if currency not in (None, cur):
                raise StripeError(400, "All line items must share one currency.", param="line_items")
            currency = cur
            try:
                unit, quantity = int(price.get("unit_amount", "")), int(item.get("quantity", 1))
            except ValueError:
                raise StripeError(
                    400, "Invalid integer.", param=f"line_items[{index}][price_data][unit_amount]"
                ) from None
            if unit < 1 or quantity < 1:
                raise StripeError(400, "Amounts must be positive.", param=f"line_items[{index}]")
            total += unit * quantity
        created = int(time.time())
        session_id = new_id("cs_test")
        metadata = params.get("metadata") or {}
        intent_data = params.get("payment_intent_data") or {}
        session: dict[str, Any] = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": created,
            "currency": currency,
            "customer_email": params.get("customer_email"),
            "expires_at": int(params.get("expires_at") or created + SESSION_LIFETIME_SECONDS),
            "livemode": False,
            "metadata": dict(metadata) if isinstance(metadata, dict) else {},
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "url": f"{self.public_url}/c/pay/{session_id}",
            # Not part of Stripe's session object: what the PaymentIntent created on payment carries.
            "_intent_metadata": dict(intent_data.get("metadata") or {})
            if isinstance(intent_data, dict)
            else {},
        }
        with self.lock:
            self.sessions[session_id] = session
        return public(session)

    def session_get(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise missing("checkout.session", session_id)
            return public(session)

    def session_expire(self, session_id: str) -> dict[str, Any]:
        pending: list[Event] = []
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise missing("checkout.session", session_id)
            if session["status"] != "open":
                raise StripeError(
                    400, f"Only open sessions can be expired; this one is {session['status']}.",
                    code="checkout_session_not_open",
                )  # fmt: skip
            session["status"] = "expired"
            self._emit("checkout.session.expired", public(session), pending)
            result = public(session)
        self._publish(pending)
        return result

    def session_pay(
        self, session_id: str, *, amount: int | None = None, currency: str | None = None
    ) -> dict[str, Any]:
        """The customer pays (hosted page or `/_control/`). `amount`/`currency` override what is charged,
        to play a tampered or mis-priced payment."""
        pending: list[Event] = []
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise missing("checkout.session", session_id)
            if session["status"] != "open":
                raise StripeError(
                    400, f"This session is {session['status']}.", code="checkout_session_not_open"
                )
            charged = session["amount_total"] if amount is None else int(amount)
            charged_currency = session["currency"] if currency is None else currency.lower()
            now = int(time.time())
            intent_id, charge_id = new_id("pi"), new_id("ch")
            self.payment_intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": charged,
                "amount_received": charged,
                "created": now,
                "currency": charged_currency,
                "latest_charge": charge_id,
                "livemode": False,
                "metadata": dict(session["_intent_metadata"]),
                "status": "succeeded",
            }
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": charged,
                "amount_captured": charged,
                "amount_refunded": 0,
                "created": now,
                "currency": charged_currency,
                "disputed": False,
                "livemode": False,
                "metadata": {},
                "paid": True,
                "payment_intent": intent_id,
                "refunded": False,
                "status": "succeeded",
            }
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=intent_id,
                amount_subtotal=charged,
                amount_total=charged,
                currency=charged_currency,
            )
            self._emit("charge.succeeded", self.charges[charge_id], pending)
            self._emit("payment_intent.succeeded", self.payment_intents[intent_id], pending)
            self._emit("checkout.session.completed", public(session), pending)
            result = public(session)
        self._publish(pending)
        return result

    def session_redirect(self, session_id: str, *, cancelled: bool) -> str:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise missing("checkout.session", session_id)
            target = session["cancel_url"] if cancelled else session["success_url"]
            return str(target or "").replace("{CHECKOUT_SESSION_ID}", session_id)

    # --- payment intents, charges, refunds, disputes --------------------------------------------------
    def intent_get(self, intent_id: str) -> dict[str, Any]:
        with self.lock:
            intent = self.payment_intents.get(intent_id)
            if intent is None:
                raise missing("payment_intent", intent_id)
            return copy.deepcopy(intent)

    def _charge_for(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("charge"):
            charge = self.charges.get(str(params["charge"]))
            if charge is None:
                raise missing("charge", str(params["charge"]))
            return charge
        if params.get("payment_intent"):
            intent = self.payment_intents.get(str(params["payment_intent"]))
            if intent is None:
                raise missing("payment_intent", str(params["payment_intent"]))
            return self.charges[intent["latest_charge"]]
        raise StripeError(400, "One of `charge` or `payment_intent` is required.", param="payment_intent")

    def refund_create(self, params: dict[str, Any]) -> dict[str, Any]:
        pending: list[Event] = []
        with self.lock:
            charge = self._charge_for(params)
            left = charge["amount"] - charge["amount_refunded"]
            if left <= 0:
                raise StripeError(
                    400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
                )
            amount = int(params.get("amount") or left)
            if amount < 1 or amount > left:
                raise StripeError(400, "Refund amount is greater than the unrefunded amount.", param="amount")
            refund_id = new_id("re")
            refund = {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "created": int(time.time()),
                "currency": charge["currency"],
                "metadata": dict(params.get("metadata") or {}),
                "payment_intent": charge["payment_intent"],
                "reason": params.get("reason"),
                "status": "succeeded",
            }
            self.refunds[refund_id] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            self._emit("refund.created", refund, pending)
            self._emit("charge.refunded", charge, pending)
            result = copy.deepcopy(refund)
        self._publish(pending)
        return result

    def dispute_create(self, params: dict[str, Any]) -> dict[str, Any]:
        """Not an API call at Stripe (the cardholder's bank opens it): `/_control/disputes`."""
        pending: list[Event] = []
        with self.lock:
            charge = self._charge_for(params)
            dispute_id = new_id("dp")
            dispute = {
                "id": dispute_id,
                "object": "dispute",
                "amount": charge["amount"],
                "charge": charge["id"],
                "created": int(time.time()),
                "currency": charge["currency"],
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": str(params.get("reason") or "fraudulent"),
                "status": "needs_response",
            }
            self.disputes[dispute_id] = dispute
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute, pending)
            result = copy.deepcopy(dispute)
        self._publish(pending)
        return result


def public(session: dict[str, Any]) -> dict[str, Any]:
    """The session as the API shows it (without the emulator's private bookkeeping)."""
    return {k: copy.deepcopy(v) for k, v in session.items() if not k.startswith("_")}
