"""The local stack: runner (make run), function processes, control API, dashboard, fire and load."""
