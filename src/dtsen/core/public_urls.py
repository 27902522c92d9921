"""Public pages without login (issue 7). Mounted by the project at the root: path("", include(...))."""

from django.urls import path

from dtsen.core import public_views

app_name = "public"

urlpatterns = [
    path("cek-bansos/", public_views.search, name="search"),
]
