"""Certificates: the learner's list, the public verification page and the PDF. Thin: parse, one
selector, render."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.certificates import certificate_by_code, certificate_pdf, certificate_view, certificates_for_user
from catalog.serializers import CertificateSerializer
from catalog.views.base import CatalogViewSet
from learnstream.openapi import error_responses

CODE_PARAM = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The certificate's verification code."
)


class MyCertificatesViewSet(CatalogViewSet):
    permission_map = {"list": [IsAuthenticated]}

    @extend_schema(
        summary="My certificates",
        description="Certificates issued to you (one per completed course), newest first.",
        responses={200: CertificateSerializer(many=True), **error_responses(400, 401, 404, 503)},
    )
    def list(self, request: Request) -> Response:
        window = self.paginator.window(request)
        page = certificates_for_user(user_id=self.actor.id or 0, offset=window.offset, limit=window.limit)
        return self.paginator.page_response(
            request, window, total=page.total, data=CertificateSerializer(page.items, many=True).data
        )


class CertificateViewSet(CatalogViewSet):
    lookup_url_kwarg = "code"
    lookup_value_regex = "[^/]+"
    permission_map = {"retrieve": [AllowAny], "pdf": [AllowAny]}

    @extend_schema(
        summary="Verify a certificate",
        description="Public: anyone with the code may check it. Shows the learner's name, the course, the "
        "instructor and the date; never an email or a user id. Unknown codes are 404.",
        parameters=[CODE_PARAM],
        auth=[],
        responses={200: CertificateSerializer, **error_responses(404, 503)},
    )
    def retrieve(self, request: Request, code: str) -> Response:
        return Response(CertificateSerializer(certificate_view(certificate_by_code(code=code))).data)

    @extend_schema(
        summary="Certificate PDF",
        description="The certificate as a one-page PDF with the verification URL and its QR code.",
        parameters=[CODE_PARAM],
        auth=[],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
            **error_responses(404, 503),
        },
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, code: str) -> HttpResponse:
        cert = certificate_by_code(code=code)
        url = request.build_absolute_uri(f"/api/v1/certificates/{cert.code}")
        response = HttpResponse(
            certificate_pdf(cert=cert, verification_url=url), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'inline; filename="certificate-{cert.code}.pdf"'
        return response
