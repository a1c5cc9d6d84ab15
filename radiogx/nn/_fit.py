"""Training loops: supervised networks with early stopping on a validation split, and the autoencoder."""

from __future__ import annotations

import contextlib
import copy
import warnings
from dataclasses import dataclass, field, fields

import numpy as np
import torch
from sklearn.feature_selection import f_classif, f_regression
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from .._metrics import regression_scores, score_auc, score_pr_auc  # noqa: F401 (re-exported)
from ._blocked_optim import BlockedAdadelta
from ._modules import RadiogenomicNetwork, TranscriptomeAutoencoder, seed_dropout, seeded_init

__all__ = ["REGRESSION", "NetworkConfig", "FitResult", "fit_network", "regression_scores", "screen_mask", "pca_init", "predict_logits", "probabilities", "score_auc", "score_pr_auc", "logit_scores",
           "fit_autoencoder", "reconstruction_r2", "DEFAULT_CONFIG"]

#: ``n_classes`` of a continuous trait: one output, a Gaussian (mean squared error) loss, no class probabilities.
REGRESSION = 0

# Dropout's own stream (fits running at once in the threads of one process must not share torch's global generator)
_DROPOUT_STREAM = 0x5EED
#: Whether a screened network trains on its screened genes alone (the same network; ``False``: on every gene, with
#: the others' weights held at zero, as radiogx <= 0.8 did, 4x slower at 12,042 genes).
_TRAIN_ON_SCREENED = True


_OPTIMIZERS = {  # name -> (class, default learning rate: Keras' defaults for the paper's Adadelta and Nadam)
    "adam": (torch.optim.Adam, 1e-3),
    "adamw": (torch.optim.AdamW, 1e-3),
    "nadam": (torch.optim.NAdam, 2e-3),
    "adadelta": (torch.optim.Adadelta, 1.0),
    "sgd": (torch.optim.SGD, 1e-2),
}


@dataclass(frozen=True)
class NetworkConfig:
    """One network configuration (architecture and optimisation)."""

    hidden: tuple[int, ...] = (4000, 2000, 1000)
    activation: str = "tanh"
    dropout: float = 0.0
    epochs: int = 200
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float | None = None
    weight_decay: float = 0.0
    patience: int = 20
    min_delta: float = 0.0
    input_dropout: float | None = None  # None: the same as dropout
    select_genes: int | None = None  # the first layer sees only the fold's top genes by ANOVA F (None: every gene)
    interaction_rank: int = 0  # rank of the factorisation-machine term on the last hidden layer (0: none)

    @classmethod
    def from_dict(cls, values: dict) -> NetworkConfig:
        """A validated configuration: ``values`` over :data:`DEFAULT_CONFIG`."""
        unknown = set(values) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown network settings {sorted(unknown)}; allowed: {sorted(DEFAULT_CONFIG)}")
        merged = {**DEFAULT_CONFIG, **values}
        merged["hidden"] = tuple(int(h) for h in merged["hidden"])
        cfg = cls(**merged)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be a non-empty sequence of positive widths, got {self.hidden!r}")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)}, got {self.optimizer!r}")
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.input_dropout is not None and not 0 <= self.input_dropout < 1:
            raise ValueError(f"input_dropout must be in [0, 1) or None, got {self.input_dropout!r}")
        if self.select_genes is not None and (isinstance(self.select_genes, bool)
                                              or not isinstance(self.select_genes, int | np.integer) or self.select_genes < 1):
            raise ValueError(f"select_genes must be a positive integer or None, got {self.select_genes!r}")
        if isinstance(self.interaction_rank, bool) or not isinstance(self.interaction_rank, int | np.integer) \
                or self.interaction_rank < 0:
            raise ValueError(f"interaction_rank must be a non-negative integer, got {self.interaction_rank!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


#: Defaults of a network configuration (``rg.tl.train`` arguments and ``param_grid`` keys): :class:`NetworkConfig`'s.
DEFAULT_CONFIG = {f.name: f.default for f in fields(NetworkConfig)}


@dataclass
class FitResult:
    """A fitted network's weights (at the chosen epoch) and its training history."""

    state: dict
    best_epoch: int  # number of epochs trained for the kept weights (0: the untrained start of a continuous trait)
    val_auc: list[float] = field(default_factory=list)
    best_val_auc: float = float("nan")
    best_score: float = float("nan")
    val_logits: np.ndarray | None = None


def logit_scores(logits: np.ndarray, n_classes: int) -> np.ndarray:
    """Ranking scores of network logits: the logit itself (binary) or the softmax probabilities (multiclass)."""
    return logits if n_classes == 2 else probabilities(logits, n_classes)


def probabilities(logits: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities (patients x classes) from logits."""
    t = torch.from_numpy(np.asarray(logits, dtype=np.float64))
    if n_classes == 2:
        p = torch.sigmoid(t.reshape(-1))
        return torch.stack([1 - p, p], dim=1).numpy()
    return torch.softmax(t, dim=1).numpy()


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray, *, device: torch.device, batch_size: int = 512) -> np.ndarray:
    """Logits of a network in eval mode (its previous mode is restored)."""
    was_training = model.training
    model.eval()
    out = [model(torch.as_tensor(x[i:i + batch_size], dtype=torch.float32, device=device)).cpu()
           for i in range(0, len(x), batch_size)]
    model.train(was_training)
    logits = torch.cat(out).numpy().astype(np.float64)
    return logits


_FUSED = {"adam", "adamw", "sgd"}  # torch has fused (one-kernel) steps for these: 8x faster on 56 M parameters here


def _optimizer(cfg: NetworkConfig, params) -> torch.optim.Optimizer:
    cls, lr = _OPTIMIZERS[cfg.optimizer]
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "adadelta" and all(p.device.type == "cpu" for p in params):  # the paper's: its step blocked
        return BlockedAdadelta(params, lr=cfg.learning_rate or lr, weight_decay=cfg.weight_decay)
    speed = {"fused": True} if cfg.optimizer in _FUSED else {"foreach": True}
    return cls(params, lr=cfg.learning_rate or lr, weight_decay=cfg.weight_decay, **speed)


def _batches(n: int, batch_size: int, generator: torch.Generator):
    order = torch.randperm(n, generator=generator)
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        if len(idx) > 1:  # BatchNorm needs two patients; a lone last patient joins the next epoch's batches
            yield idx


def _run_epoch(module: nn.Module, opt: torch.optim.Optimizer, n: int, batch_size: int, generator: torch.Generator,
               batch_loss) -> None:
    """One epoch of mini-batch training: ``batch_loss(index)`` returns the loss of the patients in ``index``."""
    module.train()
    # the blocked Adadelta forms its Dense layers' weight gradients itself, in the cache (radiogx.nn._blocked_optim)
    with opt.deferring(module) if isinstance(opt, BlockedAdadelta) else contextlib.nullcontext():
        for idx in _batches(n, batch_size, generator):
            loss = batch_loss(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def fit_network(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int,
    cfg: NetworkConfig,
    seed: int,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    class_weight: str | None = "balanced",
    pretrained: TranscriptomeAutoencoder | None = None,
    freeze: int = 0,
    device: torch.device | None = None,
    monitor: str = "loss",
    set_mask: torch.Tensor | None = None,
) -> FitResult:
    """Train a :class:`RadiogenomicNetwork` on scaled expression ``x`` and integer labels ``y`` (or, with
    ``n_classes=REGRESSION``, the values of a continuous trait).

    With a validation set, the ``monitor`` score is measured after every epoch and the weights of the best epoch
    are kept (early stopping after ``cfg.patience`` epochs without an improvement above ``cfg.min_delta``):
    ``"loss"``, the class-weighted validation cross-entropy (tie-free, so training goes on after the AUC saturates),
    or ``"auc"``, the validation ROC-AUC (the paper's callback). ``best_score`` is the kept epoch's score, higher is
    better (minus the loss). Without a validation set, the network trains for ``cfg.epochs`` epochs.

    A continuous trait is fitted on its values standardised with the training patients' mean and sd, by mean squared
    error (the Gaussian loss); the kept network's head is then rescaled, so that its output is on the trait's own
    scale. ``val_auc`` and ``best_val_auc`` then hold the validation R^2, and ``monitor`` must be ``"loss"``.
    """
    device = device or torch.device("cpu")
    generator = torch.Generator().manual_seed(seed)
    regression = n_classes == REGRESSION
    n_out = 1 if n_classes in (REGRESSION, 2) else n_classes
    if regression:
        if monitor != "loss":
            raise ValueError(f"monitor={monitor!r}: a continuous trait is monitored by its validation loss ('loss')")
        y_mean, y_sd = float(np.mean(y)), float(np.std(y)) or 1.0
    first_mask = set_mask
    screened = None  # the genes a screen kept, where the network trains on them alone
    if first_mask is None and cfg.select_genes is not None and cfg.select_genes < x.shape[1]:
        first_mask = screen_mask(x, y, cfg.select_genes, cfg.hidden[0], regression=regression)
        if pretrained is None and _TRAIN_ON_SCREENED:
            screened = np.flatnonzero(first_mask[0].numpy())
    with seeded_init(seed):
        model = RadiogenomicNetwork(x.shape[1], n_out, cfg.hidden, activation=cfg.activation, dropout=cfg.dropout,
                                    input_dropout=cfg.input_dropout, first_mask=first_mask,
                                    interaction_rank=cfg.interaction_rank).to(device)
    full_model = model
    if screened is not None:
        # The other genes' first-layer weights are zero and get no gradient: the network on the screened genes alone
        # is the same network, from the same initial weights, at a fraction of the cost (its input dropout draws
        # masks for them only). Its weights go back into the full layer at the end.
        model = _on_genes(model, screened)
        x = x[:, screened]
        x_val = None if x_val is None else x_val[:, screened]
    seed_dropout(model, torch.Generator(device=device).manual_seed(seed + _DROPOUT_STREAM))
    if pretrained is not None:
        model.transfer_encoder(pretrained, freeze=freeze)
    if regression:  # start at the training mean (R^2 = 0): training moves away from it only where that helps
        with torch.no_grad():
            model.head.weight.zero_()
            model.head.bias.zero_()
    if set_mask is not None:
        pca_init(model.blocks[0][0], x, set_mask)
        if model.interaction_rank and len(model.blocks) == 1:
            pair_init(model, x, (y - y_mean) / y_sd if regression else y, regression=regression)
    if class_weight not in ("balanced", None):
        raise ValueError(f"class_weight must be 'balanced' or None, got {class_weight!r}")
    weights = None  # a continuous trait has no classes to weigh
    if class_weight == "balanced" and not regression:
        weights = torch.as_tensor(compute_class_weight("balanced", classes=np.arange(n_classes), y=y), dtype=torch.float32, device=device)
    if monitor not in ("loss", "auc"):
        raise ValueError(f"monitor must be 'loss' or 'auc', got {monitor!r}")
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    if regression:
        yt = torch.as_tensor((np.asarray(y, dtype=np.float64) - y_mean) / y_sd, dtype=torch.float32, device=device)
    else:
        yt = torch.as_tensor(np.array(y, dtype=np.int64), device=device)  # a copy: labels may be a read-only view
    opt = _optimizer(cfg, model.parameters())

    def loss_of(logits, target):
        if regression:
            return nn.functional.mse_loss(logits.squeeze(1), target)
        if n_classes == 2:
            w = weights[target] if weights is not None else None
            return nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), target.float(), weight=w)
        return nn.functional.cross_entropy(logits, target, weight=weights)

    result = FitResult(state={}, best_epoch=cfg.epochs)
    best, best_state, since = -np.inf, None, 0
    # A continuous trait's network starts at the training mean (zero head): epoch 0 is a candidate too, so that where
    # no epoch predicts the validation patients better than that mean, the mean is what is kept.
    for epoch in range(0 if regression and x_val is not None else 1, cfg.epochs + 1):
        if epoch:
            _run_epoch(model, opt, len(xt), cfg.batch_size, generator, lambda idx: loss_of(model(xt[idx]), yt[idx]))
        if x_val is None:
            continue
        val_logits = predict_logits(model, x_val, device=device)
        if regression:
            val_logits = val_logits * y_sd + y_mean
            auc = regression_scores(y_val, val_logits)["r2"]
        else:
            auc = score_auc(y_val, logit_scores(val_logits, n_classes), n_classes)
        result.val_auc.append(auc)
        if monitor == "auc":
            score = auc
        elif regression:
            score = -float(np.mean(((np.asarray(y_val) - val_logits.ravel()) / y_sd) ** 2))
        else:
            with torch.no_grad():
                yv = torch.as_tensor(y_val, dtype=torch.int64, device=device)
                score = -float(loss_of(torch.as_tensor(val_logits, dtype=torch.float32, device=device), yv))
        if score > best + cfg.min_delta or best_state is None:
            best, best_state, since = score, copy.deepcopy(model.state_dict()), 0
            result.best_epoch, result.best_val_auc, result.val_logits, result.best_score = epoch, auc, val_logits, score
        else:
            since += 1
            if since >= cfg.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    if regression:  # the output on the trait's own scale: y = y_mean + y_sd * (standardised output)
        with torch.no_grad():
            model.head.weight.mul_(y_sd)
            model.head.bias.mul_(y_sd).add_(y_mean)
            if model.interaction_rank:
                model.pair_head.weight.mul_(y_sd)
    if screened is not None:
        _back_on_all_genes(full_model, model, screened)
        model = full_model
    result.state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return result


def _on_genes(model: RadiogenomicNetwork, genes: np.ndarray) -> RadiogenomicNetwork:
    """A copy of ``model`` whose first layer sees the input ``genes`` only (its weights and mask columns for them)."""
    hp = model.hparams
    first = model.blocks[0][0]
    with seeded_init(0):  # every weight is overwritten below; this keeps the global generator out of it
        small = RadiogenomicNetwork(len(genes), hp["n_outputs"], hp["hidden"], activation=hp["activation"],
                                    dropout=hp["dropout"], input_dropout=hp["input_dropout"],
                                    first_mask=first.mask[:, genes], interaction_rank=hp["interaction_rank"])
    state = model.state_dict()
    state["blocks.0.0.weight"] = state["blocks.0.0.weight"][:, genes]
    state["blocks.0.0.mask"] = state["blocks.0.0.mask"][:, genes]
    small.load_state_dict(state)
    return small.to(first.weight.device)


@torch.no_grad()
def _back_on_all_genes(model: RadiogenomicNetwork, small: RadiogenomicNetwork, genes: np.ndarray) -> None:
    """Load ``small``'s trained weights into ``model`` (the weights of the genes it did not see stay zero)."""
    state = small.state_dict()
    weight = torch.zeros_like(model.blocks[0][0].weight)
    weight[:, torch.as_tensor(genes, device=weight.device)] = state.pop("blocks.0.0.weight")
    state["blocks.0.0.weight"] = weight
    state["blocks.0.0.mask"] = model.blocks[0][0].mask
    model.load_state_dict(state)


@torch.no_grad()
def pca_init(layer: nn.Linear, x: np.ndarray, mask: torch.Tensor) -> None:
    """Start each gene set's nodes (consecutive rows of ``mask`` with the same genes) as the leading principal
    components of the set's genes on the training patients ``x``, in order (a set with more nodes than principal
    components keeps its random start for the rest).

    A set's activity is then readable from the first epoch. With a random start, a trait driven by the product of
    two set activities gives the set weights no first-order gradient (an XOR problem), and the network stays at
    chance. The components use the training patients' expression only, never their labels.
    """
    rows = mask.numpy().astype(bool)
    xt = torch.as_tensor(x, dtype=torch.float64)
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and np.array_equal(rows[end], rows[start]):
            end += 1
        idx = np.flatnonzero(rows[start])
        if len(idx) and len(x) > 1:
            sub = xt[:, idx] - xt[:, idx].mean(0)
            _, _, vh = torch.linalg.svd(sub, full_matrices=False)
            k = min(end - start, vh.shape[0])
            w = torch.zeros(k, layer.weight.shape[1], dtype=torch.float64)
            w[:, torch.as_tensor(idx)] = vh[:k] / np.sqrt(len(idx))
            layer.weight[start:start + k] = w.to(layer.weight.dtype)
        start = end


def _anova_f(x: np.ndarray, y: np.ndarray, regression: bool = False) -> np.ndarray:
    """ANOVA F of each column of ``x`` against the classes ``y`` (scikit-learn's ``f_classif``), or the F of a linear
    regression on a continuous ``y`` (``f_regression``); constant columns get -inf, so that they rank last."""
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scikit-learn's notice about constant columns
        warnings.simplefilter("ignore", RuntimeWarning)
        f, _ = (f_regression if regression else f_classif)(x, y)
    return np.nan_to_num(f, nan=-np.inf)


def _mean_difference(v: np.ndarray, y: np.ndarray, classes: np.ndarray, n_out: int,
                     regression: bool = False) -> torch.Tensor:
    """Standardised class-mean differences of ``v``: for one logit, the positive class's mean minus the negative's;
    for one logit per class, each class's mean minus the overall mean (0 for a class absent from ``y``); for a
    continuous (standardised) ``y``, the least-squares slope of ``y`` on ``v`` in units of ``v``'s sd."""
    sd = v.std() or 1.0
    if regression:
        return torch.tensor([float(np.mean((v - v.mean()) / sd * (y - y.mean())))])
    if n_out == 1:
        return torch.tensor([float((v[y == classes[-1]].mean() - v[y != classes[-1]].mean()) / sd)])
    return torch.tensor([float((v[y == c].mean() - v.mean()) / sd) if (y == c).any() else 0.0 for c in range(n_out)])


@torch.no_grad()
def pair_init(model: RadiogenomicNetwork, x: np.ndarray, y: np.ndarray, chunk: int = 20_000, *,
              regression: bool = False) -> None:
    """Start the factorisation-machine term on the pairs of set nodes whose product is most associated with ``y``.

    The set nodes' starting activations on the training patients (standardised, through the activation) are
    multiplied pairwise, each product is scored by its ANOVA F against the training labels, and the ``rank`` best
    pairs (i, j) become the rows u = e_i, v = e_j; the pair head starts at each product's standardised class-mean
    difference (for a continuous, standardised ``y``: the F of a linear regression and the regression slope). A
    product of two set activities
    has no marginal association with either set, so gradient descent from a random start does not find it among
    thousands of pairs; the screen, like the gene screen of a dense network, uses only the training patients.
    """
    layer = model.blocks[0][0]
    pre = torch.as_tensor(x, dtype=torch.float32) @ layer.weight.T + layer.bias
    h = type(model.blocks[0][2])()((pre - pre.mean(0)) / pre.std(0).clamp_min(1e-6)).numpy().astype(np.float64)
    n = h.shape[1]
    i_all, j_all = np.triu_indices(n, k=1)
    best_f, best_pairs = np.empty(0), np.empty((0, 2), dtype=np.int64)
    for start in range(0, len(i_all), chunk):
        i, j = i_all[start:start + chunk], j_all[start:start + chunk]
        best_f = np.concatenate([best_f, _anova_f(h[:, i] * h[:, j], y, regression)])
        best_pairs = np.concatenate([best_pairs, np.stack([i, j], 1)])
        keep = np.argsort(-best_f, kind="stable")[:model.interaction_rank]
        best_f, best_pairs = best_f[keep], best_pairs[keep]
    rank = model.interaction_rank
    w = torch.zeros_like(model.pairs.weight)
    head = torch.zeros_like(model.pair_head.weight)  # outputs x rank
    classes = np.unique(y)
    for r, (i, j) in enumerate(best_pairs):
        w[r, i] = 1.0
        w[rank + r, j] = 1.0
        head[:, r] = _mean_difference(h[:, i] * h[:, j], y, classes, head.shape[0], regression)
    model.pairs.weight.copy_(w)
    model.pair_head.weight.copy_(head)
    # the linear head likewise starts on the rank nodes of largest F alone (a set driving the trait by itself)
    top = np.argsort(-_anova_f(h, y, regression), kind="stable")[:rank]
    linear = torch.zeros_like(model.head.weight)
    for i in top:
        linear[:, i] = _mean_difference(h[:, i], y, classes, linear.shape[0], regression)
    model.head.weight.copy_(linear)
    model.head.bias.zero_()


def screen_mask(x: np.ndarray, y: np.ndarray, k: int, width: int, *, regression: bool = False) -> torch.Tensor:
    """First-layer mask (``width`` x genes) connecting every node to the ``k`` genes of largest ANOVA F of ``x``
    against ``y`` (scikit-learn's ``f_classif``; ``f_regression`` for a continuous trait; ties by gene order; constant
    genes last). Computed on the patients a network trains on, never on those it is scored on."""
    top = np.argsort(-_anova_f(x, y, regression), kind="stable")[:k]
    mask = torch.zeros(width, x.shape[1])
    mask[:, torch.as_tensor(top)] = 1.0
    return mask


def fit_autoencoder(
    x: np.ndarray,
    *,
    hidden,
    activation: str,
    output: str,
    loss: str,
    epochs: int,
    batch_size: int,
    optimizer: str,
    learning_rate: float | None,
    patience: int,
    seed: int,
    x_val: np.ndarray | None,
    device: torch.device,
) -> tuple[TranscriptomeAutoencoder, list[float], int]:
    """Train the autoencoder; with ``x_val``, keep the epoch of best held-out R^2 (early stopping).

    Returns the model (eval mode), the per-epoch held-out R^2 and the kept epoch.
    """
    generator = torch.Generator().manual_seed(seed)
    with seeded_init(seed):
        ae = TranscriptomeAutoencoder(x.shape[1], hidden, activation=activation, output=output).to(device)
    cfg = NetworkConfig.from_dict({"hidden": hidden, "optimizer": optimizer, "learning_rate": learning_rate,
                                   "epochs": epochs, "batch_size": batch_size, "patience": patience})
    opt = _optimizer(cfg, ae.parameters())
    loss_fn = {"mse": nn.functional.mse_loss, "mae": nn.functional.l1_loss}[loss]
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    history: list[float] = []
    best, best_state, best_epoch, since = -np.inf, None, epochs, 0
    for epoch in range(1, epochs + 1):
        _run_epoch(ae, opt, len(xt), batch_size, generator, lambda idx: loss_fn(ae(xt[idx]), xt[idx]))
        if x_val is None:
            continue
        r2 = reconstruction_r2(ae, x_val, device=device)
        history.append(r2)
        if r2 > best:
            best, best_state, best_epoch, since = r2, copy.deepcopy(ae.state_dict()), epoch, 0
        else:
            since += 1
            if since >= patience:
                break
    if best_state is not None:
        ae.load_state_dict(best_state)
    ae.eval()
    return ae, history, best_epoch


@torch.no_grad()
def reconstruction_r2(ae: TranscriptomeAutoencoder, x: np.ndarray, *, device: torch.device) -> float:
    """Variance-weighted R^2 of the reconstruction of ``x`` (1 - SSE / SST over all genes)."""
    was = ae.training
    ae.eval()
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    rec = ae(xt)
    ae.train(was)
    sse = torch.sum((rec - xt) ** 2).item()
    sst = torch.sum((xt - xt.mean(0)) ** 2).item()
    return float(1 - sse / sst) if sst > 0 else float("nan")
