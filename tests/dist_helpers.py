"""Entry point for multi-process tests: runs `multimodal-sentiment ARGS` and, after `Trainer.train`,
writes what this rank holds to $DIST_DUMP_DIR: `rank{RANK}.pt` (the model's weights) and
`rank{RANK}.json` (training loss, world size, the distributed backend).

    torchrun --standalone --nproc_per_node 2 tests/dist_helpers.py train --dataset ... --output_dir ...
    accelerate launch --multi_gpu --num_processes 2 tests/dist_helpers.py train ...
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _record_after_training() -> None:
    import torch
    from transformers import Trainer

    folder = Path(os.environ["DIST_DUMP_DIR"])
    original = Trainer.train

    def train(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        rank = int(os.environ.get("RANK", "0"))
        weights = {name: tensor.detach().cpu().clone() for name, tensor in self.model.state_dict().items()}
        torch.save(weights, folder / f"rank{rank}.pt")
        backend = torch.distributed.get_backend() if torch.distributed.is_initialized() else None
        summary = {"training_loss": result.training_loss, "world_size": self.args.world_size, "backend": backend}
        (folder / f"rank{rank}.json").write_text(json.dumps(summary))
        return result

    Trainer.train = train


if __name__ == "__main__":
    _record_after_training()
    from multimodal_sentiment.cli import main

    sys.exit(main(sys.argv[1:]))
