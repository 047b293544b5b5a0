"""Certificate reads and the PDF rendering (reportlab: text, and the QR code of the verification URL)."""

import io
from typing import TypedDict

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from catalog.models import Certificate
from catalog.types import Page
from learnstream.errors import NotFound

MAX_CODE_LENGTH = 32


class CertificateView(TypedDict):
    """What anyone with the code may see: no email, no user id."""

    id: str
    code: str
    course_id: str
    course_title: str
    learner_name: str
    instructor_name: str
    issued_at: object


def certificate_view(cert: Certificate) -> CertificateView:
    return {
        "id": str(cert.id),
        "code": cert.code,
        "course_id": cert.course_id,
        "course_title": cert.course_title,
        "learner_name": cert.learner_name,
        "instructor_name": cert.instructor_name,
        "issued_at": cert.issued_at,
    }


def certificates_for_user(*, user_id: int, offset: int, limit: int) -> Page[CertificateView]:
    """The user's certificates, newest first (2 PostgreSQL queries: count, page)."""
    rows = Certificate.objects.filter(user_id=user_id)
    return Page(
        total=rows.count(),
        items=[certificate_view(c) for c in rows.order_by("-issued_at", "-id")[offset : offset + limit]],
    )


def certificate_codes_for_courses(*, user_id: int, course_ids: list[str]) -> dict[str, str]:
    """course id → certificate code, for a page of the user's courses (one query)."""
    if not course_ids:
        return {}
    return dict(
        Certificate.objects.filter(user_id=user_id, course_id__in=course_ids).values_list("course_id", "code")
    )


def certificate_by_code(*, code: str) -> Certificate:
    """The certificate with this code, or 404 (also for malformed codes: nothing to tell apart)."""
    if not code or len(code) > MAX_CODE_LENGTH:
        raise NotFound()
    cert = Certificate.objects.filter(code=code).first()
    if cert is None:
        raise NotFound()
    return cert


def certificate_pdf(*, cert: Certificate, verification_url: str) -> bytes:
    """One landscape A4 page: learner, course, instructor, date, the verification URL and its QR code."""
    buffer = io.BytesIO()
    width, height = landscape(A4)
    # Uncompressed: one page of text and a QR code stays a few kB, and the text stays searchable.
    pdf = canvas.Canvas(buffer, pagesize=(width, height), invariant=True, pageCompression=0)
    pdf.setTitle(f"Certificate — {cert.course_title}")
    pdf.setAuthor("LearnStream")
    pdf.setLineWidth(2)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setFont("Helvetica-Bold", 30)
    pdf.drawCentredString(width / 2, height - 50 * mm, "Certificate of Completion")
    pdf.setFont("Helvetica", 14)
    pdf.drawCentredString(width / 2, height - 68 * mm, "This certifies that")
    pdf.setFont("Helvetica-Bold", 24)
    pdf.drawCentredString(width / 2, height - 84 * mm, cert.learner_name or "—")
    pdf.setFont("Helvetica", 14)
    pdf.drawCentredString(width / 2, height - 100 * mm, "has completed the course")
    pdf.setFont("Helvetica-Bold", 20)
    pdf.drawCentredString(width / 2, height - 115 * mm, cert.course_title)
    pdf.setFont("Helvetica", 12)
    pdf.drawCentredString(width / 2, height - 130 * mm, f"Instructor: {cert.instructor_name or '—'}")
    pdf.drawCentredString(width / 2, height - 138 * mm, f"Issued on {cert.issued_at.date().isoformat()}")
    pdf.setFont("Helvetica", 9)
    pdf.drawString(20 * mm, 20 * mm, f"Verify: {verification_url}")
    qr = QrCodeWidget(verification_url)
    x0, y0, x1, y1 = qr.getBounds()
    size = 35 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, pdf, width - 20 * mm - size, 18 * mm)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
