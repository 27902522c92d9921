"""Staff pages of programs (mounted at /program/): eligibility runs, results, decrees, disbursement and BNBA
downloads (views.py)."""

from dtsen.programs import views

app_name = "programs"
urlpatterns = [*views.urlpatterns]
