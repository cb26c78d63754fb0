"""fieldscope: observe clinical leadership in integrated care governance."""

__version__ = "0.1.0"
