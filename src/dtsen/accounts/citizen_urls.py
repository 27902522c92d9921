"""Citizen pages and the verifiers' review queue; included at "warga/" (namespace "citizen")."""

from django.urls import path

from dtsen.accounts import citizen_views as views

app_name = "citizen"

urlpatterns = [
    path("daftar/", views.register_view, name="register"),
    path("masuk/", views.login_view, name="login"),
    path("kode/", views.otp_view, name="otp"),
    path("kode/kirim-ulang/", views.otp_resend_view, name="otp_resend"),
    path("foto/", views.photos_view, name="photos"),
    path("status/", views.status_view, name="status"),
    path("keluarga/", views.family_home_view, name="family"),
    path("keluarga/<int:family_id>/", views.family_view, name="family_detail"),
    path("unduh/", views.download_view, name="download"),
    path("unduh/data.json", views.download_json_view, name="download_json"),
    path("unduh/data.pdf", views.download_pdf_view, name="download_pdf"),
    path("verifikasi/", views.review_queue_view, name="review_queue"),
    path("verifikasi/<int:account_id>/", views.review_detail_view, name="review_detail"),
    path("verifikasi/<int:account_id>/setujui/", views.review_approve_view, name="review_approve"),
    path("verifikasi/<int:account_id>/tolak/", views.review_reject_view, name="review_reject"),
]
