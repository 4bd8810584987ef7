"""Dev-only emulation of and tooling around the cluster (never imported by huelights/)."""
