from django.urls import path

from dtsen.fieldforms import views

app_name = "fieldforms"

urlpatterns = [
    path("", views.import_view, name="import"),
    path("formulir.xlsx", views.form_view, name="form"),
]
