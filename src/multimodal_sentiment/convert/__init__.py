"""Convert and publish checkpoints (the design card's "convert").

- `export.py`: `multimodal-sentiment export SOURCE OUTPUT_DIR`, a self-contained Hub-ready folder
  from a Trainer checkpoint, a saved model folder or a plain state dict (atomic).
- `keymap.py`: the documented key mapping for state dicts trained outside this package.
- `push.py`: `multimodal-sentiment push FOLDER REPO_ID`, upload with branch, tag and pinned sha.
"""

from .export import ExportError, export_checkpoint
from .keymap import KeyMappingError, map_state_dict, parse_key_map
from .push import PushError, PushResult, check_exported_folder, push_folder

__all__ = [
    "ExportError",
    "export_checkpoint",
    "KeyMappingError",
    "map_state_dict",
    "parse_key_map",
    "PushError",
    "PushResult",
    "check_exported_folder",
    "push_folder",
]
