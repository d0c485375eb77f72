"""`batik finetune`: a LoRA adapter for BLIP-2 trained on an index directory's images and metadata.

data.py (pairs, split by source photo), model.py (4-bit QLoRA on CUDA, fp32 LoRA on CPU), train.py (the
loop: accumulation, warm-up, checkpoints, resume), metrics.py (BLEU-4, ROUGE-L on generated text),
report.py (training.json and the loss curve).
"""
