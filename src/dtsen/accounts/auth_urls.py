"""The second-factor pages; included at "2fa/" (namespace "two_factor")."""

from django.urls import path

from dtsen.accounts import auth_views as views

app_name = "two_factor"

urlpatterns = [
    path("setup/", views.two_factor_setup_view, name="setup"),
    path("verify/", views.two_factor_verify_view, name="verify"),
    path("reset/", views.two_factor_reset_view, name="reset"),
]
