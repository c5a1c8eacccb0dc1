"""factpack: publish research datasets built from annotated news articles."""

__version__ = "0.1.0"
