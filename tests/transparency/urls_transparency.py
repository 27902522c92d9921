"""The project's URLs plus the transparency pages at /transparansi/ (until the project urls.py mounts them)."""

from django.urls import NoReverseMatch, include, path, reverse

from dtsen.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
try:
    reverse("transparency:nation", urlconf="dtsen.urls")
except NoReverseMatch:
    urlpatterns.insert(0, path("transparansi/", include("dtsen.transparency.urls")))
