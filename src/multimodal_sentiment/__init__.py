"""multimodal-sentiment: sentiment of posts from their text and image.

Importing the package registers the configs and models with the transformers Auto classes
(and the ``"multimodal-sentiment"`` pipeline task) in this process.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .modeling.configuration_era import EraConfig
from .modeling.configuration_misr import MisrConfig
from .modeling.modeling_era import EraForSequenceClassification, EraModel
from .modeling.modeling_misr import MisrForSequenceClassification, MisrModel
from .modeling.pipeline_multimodal_sentiment import MultimodalSentimentPipeline

# The checkpoint `pipeline("multimodal-sentiment")` loads when no model is given (id, revision).
DEFAULT_MODEL_ID = "multimodal-sentiment/era-minilm-mvsa"
DEFAULT_REVISION = "main"

__version__ = "0.1.0"


def _register() -> None:
    AutoConfig.register(EraConfig.model_type, EraConfig, exist_ok=True)
    AutoModel.register(EraConfig, EraModel, exist_ok=True)
    AutoModelForSequenceClassification.register(EraConfig, EraForSequenceClassification, exist_ok=True)
    # Saved checkpoints carry their code: these tell save_pretrained which files to copy.
    EraConfig.register_for_auto_class()
    EraModel.register_for_auto_class("AutoModel")
    EraForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
    AutoConfig.register(MisrConfig.model_type, MisrConfig, exist_ok=True)
    AutoModel.register(MisrConfig, MisrModel, exist_ok=True)
    AutoModelForSequenceClassification.register(MisrConfig, MisrForSequenceClassification, exist_ok=True)
    MisrConfig.register_for_auto_class()
    MisrModel.register_for_auto_class("AutoModel")
    MisrForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
    PIPELINE_REGISTRY.register_pipeline(
        "multimodal-sentiment",
        pipeline_class=MultimodalSentimentPipeline,
        pt_model=AutoModelForSequenceClassification,
        default=(DEFAULT_MODEL_ID, DEFAULT_REVISION),
        type="multimodal",
    )


_register()

__all__ = [
    "EraConfig",
    "EraModel",
    "EraForSequenceClassification",
    "MisrConfig",
    "MisrModel",
    "MisrForSequenceClassification",
    "MultimodalSentimentPipeline",
    "DEFAULT_MODEL_ID",
    "DEFAULT_REVISION",
    "__version__",
]
