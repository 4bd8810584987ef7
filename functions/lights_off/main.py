"""lights_off: switch the target lights off (PingSource `lights-off`, 22:30)."""

import functions_framework
from flask import Request, Response

from huelights.app import create_function

handle = create_function("lights_off")


@functions_framework.http
def lights_off(request: Request) -> Response:
    return handle(request)
