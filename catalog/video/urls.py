from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.video.views import CaptionFileView, LessonVideoViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # the documented paths have no trailing slash; accept both
router.register("lessons", LessonVideoViewSet, basename="lesson-video")

urlpatterns = [
    *router.urls,
    path("caption-files/<str:caption_id>.vtt", CaptionFileView.as_view(), name="caption-file"),
]
