"""The project's URLs plus the citizen URLs (until the project urls.py includes them), so that their rate
limits can be tested by URL name."""

from django.urls import include, path

from dtsen.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if "citizen" not in {getattr(p, "namespace", None) for p in project_urlpatterns}:
    urlpatterns.insert(0, path("warga/", include("dtsen.accounts.citizen_urls")))
