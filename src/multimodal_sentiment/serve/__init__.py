"""The web demo: `multimodal-sentiment serve` (Gradio, an optional extra) and its Space export."""
