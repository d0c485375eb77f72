"""LoRA adapters on one served model: the default merged into the weights, others applied on demand.

The default adapter is merged (a merged layer costs what the base layer costs, which matters at batch 1
on fp16). A request naming another adapter, or `none`, unmerges it and runs that adapter unmerged; the
next default request merges it again. Merging and unmerging in fp16 round the weights a little each
time, so the base weights of the merged layers are kept once and restored on every unmerge: switching
any number of times never drifts from the trained weights. Not thread-safe: call under the engine's lock.
"""

from __future__ import annotations

from typing import Any

from services.captioning.adapters import AdapterEntry
from services.common.models import resolve_source


class LoraSwitcher:
    def __init__(self, model: Any) -> None:
        self.base = model  # the Blip2 model; peft injects its layers into it in place
        self.peft: Any = None
        self.loaded: set[str] = set()
        self.merged: str | None = None
        self.active: str | None = None
        self._pristine: dict[str, Any] = {}

    def _load(self, entry: AdapterEntry) -> None:
        if entry.name in self.loaded:
            return
        # peft imports bitsandbytes (seconds): only pay for it when an adapter is used.
        from peft import PeftModel

        source = resolve_source(entry.source)
        if self.peft is None:
            self.peft = PeftModel.from_pretrained(
                self.base, source, adapter_name=entry.name, revision=entry.revision
            )
        else:
            self.peft.load_adapter(source, adapter_name=entry.name, revision=entry.revision)
        self.peft.eval()
        self.loaded.add(entry.name)

    def _lora_layers(self, name: str):
        from peft.tuners.lora import LoraLayer

        for module_name, module in self.base.named_modules():
            if isinstance(module, LoraLayer) and name in module.lora_A:
                yield module_name, module

    def merge(self, entry: AdapterEntry) -> None:
        """Serve `entry` merged into the weights (done once for the default adapter)."""
        self._load(entry)
        self._unmerge()
        self.peft.base_model.enable_adapter_layers()
        self.peft.set_adapter(entry.name, inference_mode=True)
        if not self._pristine:
            self._pristine = {
                n: m.get_base_layer().weight.detach().to("cpu", copy=True)
                for n, m in self._lora_layers(entry.name)
            }
        self.peft.merge_adapter([entry.name])
        self.merged = self.active = entry.name

    def _unmerge(self) -> None:
        if self.merged is None:
            return
        import torch

        layers = dict(self._lora_layers(self.merged))
        with torch.no_grad():
            for name, module in layers.items():
                module.unmerge()  # peft's bookkeeping; the weights are then restored exactly
                module.get_base_layer().weight.copy_(self._pristine[name])
        self.merged = None

    def use(self, entry: AdapterEntry | None, default: AdapterEntry | None) -> None:
        """Make `entry` (None: the base model) the adapter the next forward pass applies."""
        name = entry.name if entry else None
        if name == self.active and (name is None or name in self.loaded):
            return
        if entry is not None and default is not None and entry.name == default.name:
            self.merge(entry)
            return
        self._unmerge()
        if entry is None:
            self.peft.base_model.disable_adapter_layers()
        else:
            self._load(entry)
            self.peft.base_model.enable_adapter_layers()
            self.peft.set_adapter(entry.name, inference_mode=True)
        self.active = name
