"""The corpus inspector behind ``talk2face inspect``."""
