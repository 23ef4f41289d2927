"""Docker only: the engine client, images, and containers. Knows nothing about Lambda or AWS."""
