from rest_framework.routers import SimpleRouter

from catalog.video.views import LessonVideoViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # the documented paths have no trailing slash; accept both
router.register("lessons", LessonVideoViewSet, basename="lesson-video")

urlpatterns = router.urls
