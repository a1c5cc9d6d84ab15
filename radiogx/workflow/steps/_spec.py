"""What a step of ``radiogx run`` is: a config section whose keys come from one ``rg.tl`` tool, and the calls of that
tool it plans. The fingerprint of a step hashes exactly the arguments its calls receive."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from anndata import AnnData

from .._schema import Key, resolve_tool_key
from .._store import StepStore

__all__ = ["Context", "Step", "StepSpec", "call", "takes_device"]


@dataclass
class Context:
    """What every step may read: the validated config, seed, jobs, gene sets and the run's step store."""

    cfg: dict
    seed: int
    n_jobs: int
    traits: dict[str, str]  # modelled trait -> task ("classification" or "regression")
    collections: dict[str, dict[str, dict[str, list[str]]]]  # "masking"/"enrich"/"train" -> label -> sets
    store: StepStore
    fingerprints: dict[str, str] = field(default_factory=dict)
    lost_work: tuple = ()  # exceptions meaning that a Dask worker died under a step (then it is computed again)
    device: str = "cpu"  # the torch device the tools that take ``device=`` compute on (resolved: "cpu", "cuda:0")


@dataclass
class Step:
    """One planned step.

    ``kwargs`` are passed to ``rg.tl.<tool>`` as they are and hashed into the fingerprint. ``derived`` describes, also
    hashed, the arguments built at run time from the steps in ``deps`` (whose fingerprints enter too), e.g. the gene
    sets of a collection or the saliency layers to rank; ``objects`` builds them. ``compute`` (default: one call) may
    call the tool several times, once per derived item; ``on_load`` runs after the step's stored result is added.
    """

    name: str
    tool: str
    kwargs: dict
    deps: list[str]
    derived: dict = field(default_factory=dict)
    objects: Callable[[AnnData, Context], dict] | None = None
    compute: Callable[[AnnData, Context, Step, str], None] | None = None
    on_load: Callable[[AnnData], None] | None = None

    def run(self, adata: AnnData, ctx: Context, fp: str) -> None:
        (self.compute or (lambda a, c, s, f: call(a, c, s)))(adata, ctx, self, fp)


def call(adata: AnnData, ctx: Context, step: Step, **per_call):
    """``rg.tl.<step.tool>(adata, **step.kwargs, **objects, **per_call)``, plus ``n_jobs`` where the tool takes it (no
    result depends on it) and the run's ``device`` where it takes one (the step's fingerprint holds it)."""
    from ... import tl

    func = getattr(tl, step.tool)
    kwargs = {**step.kwargs, **(step.objects(adata, ctx) if step.objects else {}), **per_call}
    if "n_jobs" in inspect.signature(func).parameters:
        kwargs["n_jobs"] = ctx.n_jobs
    if takes_device(step.tool):
        kwargs["device"] = ctx.device
    return func(adata, **kwargs)


def takes_device(tool: str) -> bool:
    """Whether ``rg.tl.<tool>`` computes with torch (it takes ``device=``)."""
    from ... import tl

    return "device" in inspect.signature(getattr(tl, tool)).parameters


@dataclass(frozen=True)
class StepSpec:
    """A step kind: its ``[steps.<section>]`` keys, the tool whose signature gives their defaults, the config checks
    that involve it, and the steps it plans from a validated config and the modelled traits."""

    section: str
    tool: str
    order: int
    keys: dict[str, Key]
    plan: Callable[[dict, dict[str, str]], list[Step]]
    check: Callable[[dict], None] | None = None

    def schema(self) -> dict[str, Key]:
        """The keys, with the tool's defaults and allowed values filled in."""
        return {name: resolve_tool_key(key, name, self.tool) for name, key in self.keys.items()}
