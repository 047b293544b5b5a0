"""Input and output shapes of the commerce API (output fields listed explicitly: no Stripe ids)."""

from rest_framework import serializers

from catalog.repositories.base import is_object_id
from commerce.models import OrderStatus
from learnstream.limits import INT64_MAX


class CheckoutInputSerializer(serializers.Serializer):
    success_url = serializers.URLField(
        max_length=2000, help_text="Where Stripe sends the learner after paying; an allowed origin."
    )
    cancel_url = serializers.URLField(
        max_length=2000, help_text="Where Stripe sends the learner on cancel; an allowed origin."
    )


class CheckoutSerializer(serializers.Serializer):
    order_id = serializers.UUIDField()
    checkout_url = serializers.CharField(help_text="Stripe's hosted checkout page: send the learner there.")


class OrderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    course_id = serializers.CharField()
    course_title = serializers.CharField()
    amount = serializers.IntegerField(help_text="Minor units: the price when the order was opened.")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class OrderListQuerySerializer(serializers.Serializer):
    user = serializers.IntegerField(
        required=False, min_value=1, max_value=INT64_MAX, help_text="Admins only."
    )
    course = serializers.CharField(required=False, help_text="24-hex course id.")
    status = serializers.ChoiceField(required=False, choices=OrderStatus.choices)

    def validate_course(self, value: str) -> str:
        if not is_object_id(value):
            raise serializers.ValidationError("Not a valid id.")
        return value.lower()
