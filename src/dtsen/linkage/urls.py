"""The review pages of likely duplicates; the project mounts them at /duplikat/ (namespace "linkage")."""

from django.urls import URLPattern, path

from dtsen.linkage import views

app_name = "linkage"

urlpatterns: list[URLPattern] = [
    path("", views.queue_view, name="queue"),
    path("pasangan/<int:pair_id>/", views.pair_view, name="pair"),
    path("pasangan/<int:pair_id>/putuskan/", views.pair_decide, name="decide"),
    path("riwayat/", views.merge_list_view, name="merges"),
    path("riwayat/<int:merge_id>/batal/", views.merge_undo_view, name="undo"),
]
