"""Hub-bound code: every file here travels with each saved checkpoint.

The folder is flat and its files reach each other only with ``from .sibling import X``,
importing nothing at top level but torch, transformers, PIL, numpy and the standard library:
``save_pretrained`` copies these files next to the weights, and a user's
``trust_remote_code=True`` load runs them on a machine without this package.
"""
