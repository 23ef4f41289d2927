"""API Gateway v2 (HTTP APIs) in front of the runtime: routes, stages, 2.0 events and responses."""
