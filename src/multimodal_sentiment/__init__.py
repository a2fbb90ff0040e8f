"""multimodal-sentiment: sentiment of posts from their text and image.

Importing the package registers the configs and models with the transformers Auto classes
(and the ``"multimodal-sentiment"`` pipeline task) in this process.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .default_model import DEFAULT_MODEL_DIR
from .modeling.configuration_era import EraConfig
from .modeling.configuration_misr import MisrConfig
from .modeling.modeling_era import EraForSequenceClassification, EraModel
from .modeling.modeling_misr import MisrForSequenceClassification, MisrModel
from .modeling.pipeline_multimodal_sentiment import MultimodalSentimentPipeline

# What `pipeline("multimodal-sentiment", trust_remote_code=True)` loads when no model is given:
# the embedded default, a local folder inside this package, so it works offline.
DEFAULT_MODEL_ID = str(DEFAULT_MODEL_DIR)
DEFAULT_REVISION = None

__version__ = "0.1.0"


def _register() -> None:
    for config_class, base_class, classifier_class in (
        (EraConfig, EraModel, EraForSequenceClassification),
        (MisrConfig, MisrModel, MisrForSequenceClassification),
    ):
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, base_class, exist_ok=True)
        AutoModelForSequenceClassification.register(config_class, classifier_class, exist_ok=True)
        # Saved checkpoints carry their code: these tell save_pretrained which files to copy.
        config_class.register_for_auto_class()
        base_class.register_for_auto_class("AutoModel")
        classifier_class.register_for_auto_class("AutoModelForSequenceClassification")
    PIPELINE_REGISTRY.register_pipeline(
        "multimodal-sentiment",
        pipeline_class=MultimodalSentimentPipeline,
        pt_model=AutoModelForSequenceClassification,
        default=(DEFAULT_MODEL_ID, DEFAULT_REVISION),
        type="multimodal",
    )
    # The default is intentional: no "No model was supplied" warning, no weight-loading bars
    # (both come back at transformers' INFO verbosity; see quiet.py).
    from .quiet import install as install_quiet_defaults

    install_quiet_defaults(DEFAULT_MODEL_ID)


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
