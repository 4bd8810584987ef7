"""What stands in for the cluster locally, read from knative/, gateway/ and the Containerfile."""
