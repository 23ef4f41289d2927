"""The harness: builds images, publishes models, runs Terraform and the local cloud."""
