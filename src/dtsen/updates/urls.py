"""Staff pages of the update workflows (mounted at /usulan/): queues, usulan, village meetings, ratification,
reports (views.py) and the social worker's visit pages (visit_views.py)."""

from dtsen.updates import views, visit_views

app_name = "updates"
urlpatterns = [*views.urlpatterns, *visit_views.urlpatterns]
