from django.urls import path

from dtsen.documents import views

app_name = "documents"

urlpatterns = [
    path("<uuid:document_id>/", views.document_view, name="document"),
]
