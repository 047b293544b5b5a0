from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from catalog.views import AnalyticsViewSet, CourseViewSet, EnrollmentViewSet, LessonViewSet, MyProgressViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # api.md spells paths both ways; accept both without redirecting writes
router.register("courses", CourseViewSet, basename="course")
router.register("lessons", LessonViewSet, basename="lesson")
router.register("enrollments", EnrollmentViewSet, basename="enrollment")
router.register("me/progress", MyProgressViewSet, basename="my-progress")
router.register("analytics", AnalyticsViewSet, basename="analytics")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
