"""The project's URLs plus the empowerment pages (until the project urls.py mounts them)."""

from django.urls import NoReverseMatch, include, path, reverse

from dtsen.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
try:
    reverse("empower_family", urlconf="dtsen.urls")
except NoReverseMatch:
    urlpatterns.append(path("pemberdayaan/", include("dtsen.programs.empower_views")))
