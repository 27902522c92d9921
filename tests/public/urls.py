"""The project's URLs plus Cek Bansos (until the project urls.py mounts dtsen.core.public_urls)."""

from django.urls import NoReverseMatch, include, path, reverse

from dtsen.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
try:
    reverse("public:search", urlconf="dtsen.urls")
except NoReverseMatch:
    urlpatterns.append(path("", include("dtsen.core.public_urls")))
