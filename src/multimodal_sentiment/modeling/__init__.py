"""Hub-bound code: every file here travels with each saved checkpoint.

The folder is flat and its files reach each other only with ``from .sibling import X``,
importing nothing at top level but torch, transformers, PIL, numpy and the standard library:
``save_pretrained`` copies these files next to the weights, and a user's
``trust_remote_code=True`` load runs them on a machine without this package.

This ``__init__`` does not travel. It imports transformers before any file of the folder: the
package registers its classes when transformers is first imported (``multimodal_sentiment.register``),
and that registration must never meet one of these files half-imported.
"""

import transformers  # noqa: F401
