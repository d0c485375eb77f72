"""Samplers chosen per request, each a fresh instance built from the model's own scheduler config.

A diffusers scheduler keeps state between steps (timesteps, the multistep history of PNDM and
DPM-Solver), so one instance is never shared by two runs: every call gets its own copy.
"""

from __future__ import annotations

from typing import Any

# name -> (diffusers class, overrides of the model's config). PNDM skips its Runge-Kutta warm-up
# steps as SD 1.5 ships it; dpmpp_2m is DPM-Solver++ of order 2 (A1111's "DPM++ 2M").
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {"skip_prk_steps": True}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "dpmpp_2m": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2},
    ),
}
# Only with the preview LoRA (`preview: true`): not one of the samplers a request may pick.
PREVIEW_SCHEDULER = "lcm"
_KNOWN = {**SCHEDULERS, PREVIEW_SCHEDULER: ("LCMScheduler", {})}
_NAME_BY_CLASS = {cls: name for name, (cls, _) in _KNOWN.items()}


def scheduler_name(scheduler: Any) -> str:
    """Our name for a scheduler instance (its class name when it is not one of ours)."""
    cls = type(scheduler).__name__
    return _NAME_BY_CLASS.get(cls, cls)


def make_scheduler(name: str | None, base: Any) -> Any:
    """A new scheduler `name` configured like `base` (the model's); None: a fresh copy of `base`."""
    import diffusers

    if name is None:
        return type(base).from_config(base.config)
    if name not in _KNOWN:
        raise ValueError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")
    cls, overrides = _KNOWN[name]
    return getattr(diffusers, cls).from_config(base.config, **overrides)
