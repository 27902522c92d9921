from django.urls import path

from dtsen.registry import views

app_name = "registry"

urlpatterns = [
    path("families/", views.family_list_view, name="family_list"),
    path("families/<int:family_id>/", views.family_detail_view, name="family_detail"),
    path("persons/<int:person_id>/", views.person_detail_view, name="person_detail"),
]
