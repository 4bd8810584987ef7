"""The simulated Philips Hue bridge (dev only), one direction of dependencies, bottom to top:

model.py, colours.py   lights and groups with CLIP v1 command rules; light colours for the dashboard
faults.py              THE list of faults it can inject (and how a dropped connection is made)
state.py               BridgeState: lights, groups (group 0 included), keys, faults, log, rate limiter
routes_v1.py           CLIP v1 /api routes on the state (CLIP v2 routes go next to it)
admin.py               the /_sim/ admin and fault API on the state
server.py              BridgeServer: the served bridge in a thread (HTTP, or HTTPS with an SSLContext)
app.py                 SimulatedBridge = state + WSGI app (faults, then routes) + serve()
__main__.py            python -m devstack.bridge --port 8000 [--config bridge.yaml] [--app-key K]
"""

from devstack.bridge.app import SimulatedBridge
from devstack.bridge.server import BridgeServer
from devstack.bridge.state import DEFAULT_CONFIG, BridgeState, load_config

__all__ = ["DEFAULT_CONFIG", "BridgeServer", "BridgeState", "SimulatedBridge", "load_config"]
