"""The simulated Philips Hue bridge (dev only), one direction of dependencies, bottom to top:

model.py, colours.py   lights and groups with CLIP v1 command rules (and how a loop shows in v1 and v2);
                       light colours for the dashboard
faults.py              THE list of faults it can inject (and how a dropped connection is made)
resources_v2.py        the CLIP v2 resources built from the model, and v2 PUT bodies checked and applied
state.py               BridgeState: lights, groups (group 0 included), keys, faults, log, rate limiter
routes_v1.py           CLIP v1 /api routes on the state
routes_v2.py           CLIP v2 /clip/v2 routes on the same state (HTTPS only unless v2_over_http)
admin.py               the /_sim/ admin and fault API on the state
server.py              BridgeServer: the served bridge in a thread (HTTP, or HTTPS with an SSLContext)
app.py                 SimulatedBridge = state + WSGI app (faults, then routes) + serve()
__main__.py            python -m devstack.bridge --port 8000 [--config bridge.yaml] [--app-key K] [--v2-over-http]
"""

from devstack.bridge.app import SimulatedBridge
from devstack.bridge.server import BridgeServer
from devstack.bridge.state import DEFAULT_CONFIG, V2_SHOWCASE_CONFIG, BridgeState, load_config

__all__ = ["DEFAULT_CONFIG", "V2_SHOWCASE_CONFIG", "BridgeServer", "BridgeState", "SimulatedBridge", "load_config"]
