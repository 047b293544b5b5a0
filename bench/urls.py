"""The production URLconf plus `GET /bench/bare`: a DRF view with the project's default renderers,
authentication and exception handling, no store access. Its throughput is the ceiling that every
real endpoint is measured against."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from learnstream import urls as project


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def bare(request: Request) -> Response:
    return Response({"ok": True})


urlpatterns = [path("bench/bare", bare, name="bench-bare"), *project.urlpatterns]

handler400 = project.handler400
handler403 = project.handler403
handler404 = project.handler404
handler500 = project.handler500
