from django.urls import path

from dtsen.core import views

urlpatterns = [
    path("", views.home, name="home"),
]
