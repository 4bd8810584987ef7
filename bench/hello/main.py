"""The bench's baseline: a bare functions-framework `@http` hello-world, staged and started like a function."""

import functions_framework


@functions_framework.http
def hello(request):
    return "ok"
