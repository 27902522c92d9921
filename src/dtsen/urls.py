from django.contrib import admin
from django.urls import include, path, re_path

from dtsen.api.api import api, api_not_found

urlpatterns = [
    path("", include("dtsen.core.public_urls")),  # first: Cek Bansos is the busiest page
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("2fa/", include("dtsen.accounts.auth_urls")),
    path("warga/pengajuan/", include("dtsen.updates.citizen_urls")),
    path("warga/", include("dtsen.accounts.citizen_urls")),
    path("usulan/", include("dtsen.updates.urls")),
    path("program/", include("dtsen.programs.urls")),
    path("pemberdayaan/", include("dtsen.programs.empower_views")),
    path("transparansi/", include("dtsen.transparency.urls")),
    path("dasbor/", include("dtsen.dashboards.urls")),
    path("dci/", include("dtsen.dci.urls")),
    path("odk/", include("dtsen.fieldforms.urls")),
    path("pertukaran/", include("dtsen.exchange.urls")),
    path("duplikat/", include("dtsen.linkage.urls")),
    path("dokumen/", include("dtsen.documents.urls")),
    path("audit/", include("dtsen.audit.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>(?s:.*))$", api_not_found, name="api_not_found"),
    path("", include("dtsen.registry.urls")),
    path("", include("dtsen.core.urls")),
]
