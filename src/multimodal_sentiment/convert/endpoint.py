"""Inference Endpoints files of an exported checkpoint: `handler.py` and `requirements.txt`.

`write_endpoint_files(folder)` is what `export` calls; the handler itself is
`endpoint_handler.py` (copied verbatim: it imports nothing from this package).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HANDLER_SOURCE = Path(__file__).resolve().with_name("endpoint_handler.py")
HANDLER_NAME = "handler.py"
REQUIREMENTS_NAME = "requirements.txt"
# What the remote code needs beyond torch (the endpoint's image brings torch).
BASE_REQUIREMENTS = ("transformers>=5.23,<6", "pillow>=10.0", "numpy>=1.24")
OCR_REQUIREMENT = "rapidocr-onnxruntime>=1.3,<2"


def endpoint_requirements(config: dict) -> list[str]:
    """The requirements lines for a checkpoint with this config.json content (OCR when its image views use it)."""
    lines = list(BASE_REQUIREMENTS)
    if "ocr" in (config.get("image_views") or []):
        lines.append(OCR_REQUIREMENT)
    return lines


def write_endpoint_files(folder: str | Path) -> list[str]:
    """Write `handler.py` and `requirements.txt` into an exported folder (its config.json read); return their names."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    shutil.copyfile(HANDLER_SOURCE, folder / HANDLER_NAME)
    requirements = "# Installed by Inference Endpoints before handler.py runs (torch comes with the image).\n"
    (folder / REQUIREMENTS_NAME).write_text(requirements + "\n".join(endpoint_requirements(config)) + "\n", encoding="utf-8")
    return [HANDLER_NAME, REQUIREMENTS_NAME]


__all__ = ["write_endpoint_files", "endpoint_requirements", "HANDLER_NAME", "REQUIREMENTS_NAME"]
