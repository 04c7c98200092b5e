"""12345 hotline complaints: triage from what callers say, and its scoring.

``tokens``: jieba word segmentation (its dictionary ships inside the package: nothing is
downloaded). ``triage``: the model that predicts each complaint's competent level,
department and category from the summary, the operator's labels and the district, learns
only from the hotline's own closed work orders (never the generator's truth), and ranks
the queue so public-safety hazards come first. ``evaluate``: the figures
``citylake evaluate complaints`` prints against the truth, beside the ceiling and a
majority baseline.
"""
