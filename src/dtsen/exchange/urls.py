"""Staff page of bulk exchange (mounted at /pertukaran/): exports, schedules, reference imports (views.py)."""

from dtsen.exchange import views

app_name = "exchange"
urlpatterns = [*views.urlpatterns]
