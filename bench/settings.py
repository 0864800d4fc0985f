"""Settings for the benchmark server: the product's settings plus a bench-only URL.

Only `ROOT_URLCONF` differs, so the bare view (the baseline of single-case
POSTs) runs behind the same middleware, in the same workers, as the API.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
