from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from catalog.views.certificates import CertificateViewSet, MyCertificatesViewSet
from catalog.views.courses import CourseViewSet
from catalog.views.invitations import InvitationViewSet
from catalog.views.learning import AnalyticsViewSet, EnrollmentViewSet, MyProgressViewSet
from catalog.views.lessons import LessonViewSet
from catalog.views.sections import SectionViewSet

router = SimpleRouter()
router.trailing_slash = (
    "/?"  # the documented paths have no trailing slash; accept both without redirecting writes
)
router.register("courses", CourseViewSet, basename="course")
router.register("lessons", LessonViewSet, basename="lesson")
router.register("sections", SectionViewSet, basename="section")
router.register("enrollments", EnrollmentViewSet, basename="enrollment")
router.register("me/progress", MyProgressViewSet, basename="my-progress")
router.register("analytics", AnalyticsViewSet, basename="analytics")
router.register("me/certificates", MyCertificatesViewSet, basename="my-certificates")
router.register("certificates", CertificateViewSet, basename="certificate")
router.register("invitations", InvitationViewSet, basename="invitation")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
