"""arena's built-in tasks, one module each, each its own entry point of the group ``arena``.

Task modules import torch only inside methods, so registering them is cheap.
"""
