"""lights_on: switch the target lights on (PingSource `lights-on`, 05:30)."""

import functions_framework
from flask import Request, Response

from huelights.app import create_function

handle = create_function("lights_on")


@functions_framework.http
def lights_on(request: Request) -> Response:
    return handle(request)
