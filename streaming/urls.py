from rest_framework.routers import SimpleRouter

from streaming.views import LessonVideoViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # api.md spells these without a slash; accept both
router.register("lessons", LessonVideoViewSet, basename="lesson-video")

urlpatterns = router.urls
