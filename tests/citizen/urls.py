"""The project's URLs plus the citizen and document URLs (until the project urls.py includes them)."""

from django.urls import include, path

from dtsen.urls import urlpatterns as project_urlpatterns

_namespaces = {getattr(p, "namespace", None) for p in project_urlpatterns}
urlpatterns = list(project_urlpatterns)
if "citizen" not in _namespaces:
    urlpatterns.append(path("warga/", include("dtsen.accounts.citizen_urls")))
if "documents" not in _namespaces:
    urlpatterns.append(path("dokumen/", include("dtsen.documents.urls")))
