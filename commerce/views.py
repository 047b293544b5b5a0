"""Commerce endpoints: checkout, the orders list and detail, and the admin's refund. Thin: parse, call
one selector or service, render."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce import selectors, services
from commerce.models import Order
from commerce.serializers import (
    CheckoutInputSerializer,
    CheckoutSerializer,
    OrderListQuerySerializer,
    OrderSerializer,
)
from learnstream.openapi import error_responses
from learnstream.pagination import PageNumberPagination
from learnstream.permissions import Actor, IsAdminRole

COURSE_ID = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="24-hex course id (malformed ids are 404)."
)
ORDER_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Order id.")


class CheckoutView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = CheckoutInputSerializer

    @extend_schema(
        operation_id="courses_checkout",
        summary="Buy a paid course (Stripe Checkout)",
        description=(
            "Opens an order at the course's current price (or reuses the caller's open order, which keeps "
            "its price) and a Stripe Checkout Session; send the learner to `checkout_url`. Both redirect "
            "URLs must be on an origin of `CHECKOUT_REDIRECT_ORIGINS` exactly. Enrollment follows Stripe's "
            "signed `checkout.session.completed`. 403 `email_not_verified`; 409 when already enrolled, "
            "the course is free or unpublished; 502/504 when Stripe fails or is slow (retry: the order "
            "is reused)."
        ),
        parameters=[COURSE_ID],
        request=CheckoutInputSerializer,
        responses={201: CheckoutSerializer, **error_responses(400, 401, 403, 404, 409, 502, 503, 504)},
    )
    def post(self, request: Request, id: str) -> Response:
        data = CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.checkout_start(
            actor=Actor.of(request.user),
            course_id=id,
            success_url=data.validated_data["success_url"],
            cancel_url=data.validated_data["cancel_url"],
        )
        body = CheckoutSerializer({"order_id": order.pk, "checkout_url": order.checkout_url}).data
        return Response(body, status=status.HTTP_201_CREATED)


class OrderListView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = OrderSerializer
    pagination_class = PageNumberPagination

    def get_queryset(self) -> QuerySet[Order]:
        # Also what the browsable API's renderer asks for.
        query = OrderListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return selectors.orders_visible(
            actor=Actor.of(self.request.user),
            user_id=params.get("user"),
            course_id=params.get("course"),
            status=params.get("status"),
        )

    @extend_schema(
        operation_id="orders_list",
        summary="Orders: mine; admins see all",
        parameters=[OrderListQuerySerializer],
        responses={200: OrderSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(OrderSerializer(page, many=True).data)


class OrderDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="orders_retrieve",
        summary="One order (its owner or an admin)",
        parameters=[ORDER_ID],
        responses={200: OrderSerializer, **error_responses(401, 404, 503)},
    )
    def get(self, request: Request, id: str) -> Response:
        order = selectors.order_get(actor=Actor.of(request.user), order_id=id)
        return Response(OrderSerializer(order).data)


class OrderRefundView(APIView):
    permission_classes = [IsAuthenticated, IsAdminRole]

    @extend_schema(
        operation_id="orders_refund",
        summary="Refund a paid order in full (admin)",
        description=(
            "Asks Stripe for the refund and answers 202; the order becomes `refunded` and the enrollment "
            "ends when Stripe's `charge.refunded` event arrives. 409 unless the order is paid."
        ),
        parameters=[ORDER_ID],
        request=None,
        responses={202: OrderSerializer, **error_responses(401, 403, 404, 409, 502, 503, 504)},
    )
    def post(self, request: Request, id: str) -> Response:
        order = selectors.order_get(actor=Actor.of(request.user), order_id=id)
        order = services.order_refund(order_id=order.pk)
        return Response(OrderSerializer(order).data, status=status.HTTP_202_ACCEPTED)
