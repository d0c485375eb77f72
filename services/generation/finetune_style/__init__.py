"""`batik finetune-style`: a style LoRA for Stable Diffusion trained on an index directory.

data.py (captions over the metadata, image tensors; the pairs and the split by source photo are the
captioning fine-tune's), model.py (the SD components, LoRA on the attention projections, precision),
train.py (the noise-prediction loop, checkpoints, resume), validation.py (held-out loss and the
before/after grid), output.py (the style folder: weights, manifest, atomic write).
"""
