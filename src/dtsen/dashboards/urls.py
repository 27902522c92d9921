"""Staff dashboards (mounted at /dasbor/)."""

from django.urls import path, re_path

from dtsen.dashboards import views

app_name = "dashboards"

CODE = r"(?P<code>\d{2}(?:\.\d{2}(?:\.\d{2}(?:\.\d{4})?)?)?)"

urlpatterns = [
    path("", views.dashboard, name="index"),
    re_path(rf"^{CODE}/$", views.dashboard, name="region"),
]
