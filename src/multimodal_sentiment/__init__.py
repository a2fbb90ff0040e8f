"""multimodal-sentiment: sentiment of posts from their text and image.

Importing the package registers the configs and models with the transformers Auto classes
(and the ``"multimodal-sentiment"`` pipeline task) in this process.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .modeling.configuration_era import EraConfig
from .modeling.modeling_era import EraForSequenceClassification, EraModel

__version__ = "0.1.0"


def _register() -> None:
    AutoConfig.register(EraConfig.model_type, EraConfig, exist_ok=True)
    AutoModel.register(EraConfig, EraModel, exist_ok=True)
    AutoModelForSequenceClassification.register(EraConfig, EraForSequenceClassification, exist_ok=True)
    # Saved checkpoints carry their code: these tell save_pretrained which files to copy.
    EraConfig.register_for_auto_class()
    EraModel.register_for_auto_class("AutoModel")
    EraForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")


_register()

__all__ = ["EraConfig", "EraModel", "EraForSequenceClassification", "__version__"]
