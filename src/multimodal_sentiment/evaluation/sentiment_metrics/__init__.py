# A package only so that setuptools ships the metric script; `evaluate.load(<this folder>)`
# loads sentiment_metrics.py by itself.
