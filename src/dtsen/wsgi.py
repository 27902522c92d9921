import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
application = get_wsgi_application()

# Import the URLconf now (the API pulls in the ranking engine and scipy: about 3 s of CPU), so that gunicorn
# --preload forks workers that have it, instead of each worker paying for it on its first request.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
