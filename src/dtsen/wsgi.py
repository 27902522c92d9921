import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
application = get_wsgi_application()

# Import the URLconf now (the API pulls in the ranking engine and scipy: about 3 s of CPU), so that a server
# that loads the app before starting its workers (gunicorn --preload) gives it to them, instead of each worker
# paying for it on its first request.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018

# What is loaded now (about 320,000 objects: modules, the URLconf, scipy) lives as long as the process: move it
# out of the cyclic garbage collector's reach, so that its full collections scan only what requests create
# rather than pausing a worker for the whole heap (and, after a fork, no page is copied for the collector).
gc.freeze()
