"""The project's URLs plus the program pages at /program/ (until the project urls.py mounts them)."""

from django.urls import NoReverseMatch, include, path, reverse

from dtsen.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
try:
    reverse("programs:runs", urlconf="dtsen.urls")
except NoReverseMatch:
    urlpatterns.append(path("program/", include("dtsen.programs.urls")))
