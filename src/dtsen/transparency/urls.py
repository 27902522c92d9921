"""Public transparency pages and open data (mounted at /transparansi/)."""

from django.urls import path, re_path

from dtsen.transparency import views

app_name = "transparency"

CODE = r"(?P<code>\d{2}(?:\.\d{2}(?:\.\d{2}(?:\.\d{4})?)?)?)"

urlpatterns = [
    path("", views.region_page, name="nation"),
    path("data.csv", views.data_csv, name="nation_csv"),
    path("data.json", views.data_json, name="nation_json"),
    path("schema.json", views.schema_json, name="schema"),
    re_path(rf"^{CODE}/$", views.region_page, name="region"),
    re_path(rf"^{CODE}/data\.csv$", views.data_csv, name="region_csv"),
    re_path(rf"^{CODE}/data\.json$", views.data_json, name="region_json"),
]
