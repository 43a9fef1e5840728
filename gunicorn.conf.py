"""gunicorn reads this file from the working folder: fieldsvc's settings (metrics shared by
the workers, the rate-limit storage check). See fieldsvc/gunicorn_conf.py."""

from fieldsvc.gunicorn_conf import *  # noqa: F401,F403
from fieldsvc.gunicorn_conf import (  # noqa: F401
    child_exit,
    on_exit,
    on_starting,
    post_worker_init,
)
