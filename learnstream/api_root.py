"""`GET /api/v1/`: the API's front page, listing its sections (the README sends instructors here)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from learnstream.openapi import error_responses

# Section → URL name of its entry point (routers of accounts, catalog and streaming).
SECTIONS = {
    "login": "auth-token",
    "register": "auth-register",
    "me": "auth-me",
    "courses": "course-list",
    "enrollments": "enrollment-list",
    "my_progress": "my-progress-list",
    "analytics": "analytics-overview",
    "users": "user-list",
    "schema": "schema",
    "docs": "swagger-ui",
}


class ApiRootSerializer(serializers.Serializer):
    login = serializers.URLField(help_text="POST email and password for a token pair.")
    register = serializers.URLField(help_text="POST to create a student account.")
    me = serializers.URLField(help_text="Your profile.")
    courses = serializers.URLField(help_text="The catalog (published courses; your drafts too).")
    enrollments = serializers.URLField(help_text="Your enrollments (admins: everyone's).")
    my_progress = serializers.URLField(help_text="Your progress per enrolled course.")
    analytics = serializers.URLField(help_text="Admins: platform figures.")
    users = serializers.URLField(help_text="Admins: accounts.")
    schema = serializers.URLField(help_text="The OpenAPI document.")
    docs = serializers.URLField(help_text="Swagger UI for the OpenAPI document.")


class ApiRootView(APIView):
    """Every section of the API with its URL. Anyone may read it: it names no object and no user."""

    permission_classes = [AllowAny]
    name = "LearnStream API"

    @extend_schema(
        operation_id="api_root",
        summary="List the API's sections",
        # 401: a bad token is refused even here; 503: checking a token needs the stores.
        responses={200: ApiRootSerializer, **error_responses(401, 503)},
    )
    def get(self, request: Request) -> Response:
        return Response({key: reverse(name, request=request) for key, name in SECTIONS.items()})
