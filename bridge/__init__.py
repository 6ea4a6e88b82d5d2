"""compose-bridge: convert Docker Compose applications into Helm charts."""

__version__ = "0.1.0"
