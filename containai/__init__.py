"""containai: carry a developer's configuration into AI-agent containers, and back out."""

# The single source of the version: pyproject.toml reads it from here (hatch), and reading it
# here is cheaper at start-up than asking importlib.metadata.
__version__ = "0.1.0"
