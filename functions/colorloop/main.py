"""colorloop: put the target lights back into their colorloop effect (PingSource `colorloop`, 05:35,
and external POSTs through the Gateway)."""

import functions_framework
from flask import Request, Response

from huelights.app import create_function

handle = create_function("colorloop")


@functions_framework.http
def colorloop(request: Request) -> Response:
    return handle(request)
