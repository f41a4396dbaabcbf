"""gunicorn's settings for production: `gunicorn -c gunicorn.conf.py 'app:create_app()'`
(what `make serve` runs). The environment chooses WORKERS and BIND (or PORT); any setting can
also be given on the command line, which wins (`--workers 4`)."""

import multiprocessing
import os

# Two workers per core and one more, as gunicorn advises (a worker waits on PostgreSQL as
# much as it computes), capped: each worker holds its own connections to the database.
workers = int(os.environ.get("WORKERS") or min(multiprocessing.cpu_count() * 2 + 1, 12))
bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '5000')}"

# A request longer than this is a stuck worker: killed and replaced. Signing a dossier or
# printing a batch of letters takes seconds, not a minute.
timeout = 60
graceful_timeout = 30  # on a restart, requests under way get this long to finish
keepalive = 5  # seconds an idle connection from the proxy stays open

# A worker is replaced after this many requests (a leak, if any, stays bounded); the jitter
# keeps the workers from all restarting at once.
max_requests = 20000  # a worker is replaced now and then (memory), not in the middle of a busy minute
max_requests_jitter = 2000

# Not preloaded: each worker imports the app and opens its own database connections after
# the fork. A connection (or pool) opened in the master and shared by forked workers would
# interleave their queries on one socket (database.py guards against it as well).
preload_app = False

# The app writes one JSON line per request (blueprints/request_log.py, LOG_REQUESTS) with the
# request id; gunicorn's access log would only repeat it, with the raw paths and their codes.
accesslog = None
errorlog = "-"  # stderr, with the app's JSON lines and tracebacks
loglevel = "info"

# Which addresses may set X-Forwarded-* for gunicorn itself (wsgi.url_scheme). The app
# decides on its own with TRUSTED_PROXIES (ProxyFix: how many proxies' headers to believe),
# which is what sets the client address for throttling: set that one. gunicorn's default,
# 127.0.0.1, fits a proxy on the same machine.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
