"""The citizen's usul, sanggah and correction pages (mounted at /warga/pengajuan/)."""

from dtsen.updates import citizen_views

app_name = "submissions"
urlpatterns = citizen_views.urlpatterns
