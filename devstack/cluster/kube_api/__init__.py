"""A local Kubernetes API: the slice the run ledger, kubectl and the official Python client use (dev-only).

HTTPS on 127.0.0.1 with a per-run CA, bearer tokens (a cluster admin for the kubeconfig; one per
ServiceAccount, bound to a Role given as its manifest), ConfigMaps (get, list, create, patch, put) and
Events (create, get, list) in the namespace, and the discovery kubectl reads. It behaves as the API server
does where the ledger's correctness depends on it: 409 on a stale resourceVersion, 403 with the server's
message for what the Role does not allow, 401 for a token it does not know, Events expiring after an hour.
Its fidelity is checked by real clients (kubectl, the `kubernetes` package) in
tests/integration/test_kube_api.py, not by our own code.

- `store`: the objects and the API server's rules for them;
- `rbac`: tokens' identities and Role rules;
- `server`: the HTTP paths, discovery and kubectl's tables;
- `running`: the CA, tokens, kubeconfig and a pod's in-cluster files (`serve_kube_api`).
"""

from devstack.cluster.kube_api.rbac import Identity, PolicyRule
from devstack.cluster.kube_api.running import LocalCluster, serve_kube_api, write_kubeconfig
from devstack.cluster.kube_api.server import KubeApiServer
from devstack.cluster.kube_api.store import ApiError, ClusterStore

__all__ = [
    "ApiError",
    "ClusterStore",
    "Identity",
    "KubeApiServer",
    "LocalCluster",
    "PolicyRule",
    "serve_kube_api",
    "write_kubeconfig",
]
