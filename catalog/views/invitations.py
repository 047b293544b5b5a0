"""`POST invitations/accept`: a signed-in user follows a course invitation link (catalog/services/
invitations.py). Thin: parse the token, call the service, render the enrollment."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.onetime import TOKEN_MAX_CHARS
from catalog.services.invitations import invitation_accept
from catalog.views.base import CatalogViewSet
from learnstream.openapi import error_responses


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX_CHARS, help_text="The `token` of the invitation link.")


class InvitationAcceptedSerializer(serializers.Serializer):
    course_id = serializers.CharField()
    course_title = serializers.CharField()
    status = serializers.CharField(help_text="`active`.")
    enrolled_at = serializers.DateTimeField(help_text="When the (current) enrollment started.")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When access ends; null = never.")


class InvitationViewSet(CatalogViewSet):
    permission_map = {"accept": [IsAuthenticated]}
    serializer_classes = {"accept": InvitationAcceptSerializer}

    @extend_schema(
        summary="Accept a course invitation",
        description="Enrolls the signed-in caller in the invitation's course (the link is single-use and "
        "expires after 14 days; a newer invitation to the same address supersedes it). Staff authority: "
        "`invite_only` and the enrollment window do not apply; `capacity` does (409 `course_full`, and the "
        "invitation stays usable). An unknown, used, superseded or expired token → 400 `invalid_token`; a "
        "course that is no longer published → 409.",
        request=InvitationAcceptSerializer,
        responses={200: InvitationAcceptedSerializer, **error_responses(400, 401, 409, 503)},
    )
    @action(detail=False, methods=["post"])
    def accept(self, request: Request) -> Response:
        token = self.parse(InvitationAcceptSerializer, request.data)["token"]
        enrollment, course = invitation_accept(user_id=self.actor.id or 0, raw=token)
        body = {
            "course_id": course["id"],
            "course_title": course["title"],
            "status": enrollment.status,
            "enrolled_at": enrollment.created_at,
            "expires_at": enrollment.expires_at,
        }
        return Response(InvitationAcceptedSerializer(body).data)
