"""`python -m multimodal_sentiment.cli ...` (as `torchrun -m` and `accelerate launch -m` call it)."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
