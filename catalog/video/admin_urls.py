"""Included under /admin/ *before* the Django admin, so `POST /admin/uploads` is ours, not the admin's."""

from rest_framework.routers import SimpleRouter

from catalog.video.views import AdminUploadViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("uploads", AdminUploadViewSet, basename="admin-upload")

urlpatterns = router.urls
