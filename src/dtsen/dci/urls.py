"""DCI Social Registry API (social_api_v1.0.0): the standard's paths below /dci/."""

from django.urls import path

from dtsen.dci import views

app_name = "dci"

urlpatterns = [
    path("registry/sync/search", views.sync_search, name="sync_search"),
    path("registry/search", views.search, name="search"),
    path("registry/sync/txn/status", views.sync_txn_status, name="sync_txn_status"),
    path("registry/txn/status", views.txn_status, name="txn_status"),
]
