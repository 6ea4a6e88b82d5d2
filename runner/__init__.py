"""compose-bridge's model runner: a Docker Model Runner drop-in on llama-cpp-python."""

__version__ = "0.1.0"
