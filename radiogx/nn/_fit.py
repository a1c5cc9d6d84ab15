"""Training loops: supervised networks with early stopping on a validation split, and the autoencoder."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from ._modules import RadiogenomicNetwork, TranscriptomeAutoencoder

__all__ = ["NetworkConfig", "FitResult", "fit_network", "predict_logits", "probabilities", "score_auc", "score_pr_auc", "logit_scores",
           "fit_autoencoder", "reconstruction_r2", "DEFAULT_CONFIG"]

#: Defaults of a network configuration (``rg.tl.train`` arguments and ``param_grid`` keys).
DEFAULT_CONFIG = {
    "hidden": (4000, 2000, 1000),
    "activation": "tanh",
    "dropout": 0.0,
    "epochs": 200,
    "batch_size": 32,
    "optimizer": "adam",
    "learning_rate": None,
    "weight_decay": 0.0,
    "patience": 20,
    "min_delta": 0.0,
}
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

    @classmethod
    def from_dict(cls, values: dict) -> NetworkConfig:
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

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class FitResult:
    """A fitted network's weights (at the chosen epoch) and its training history."""

    state: dict
    best_epoch: int  # 1-based number of epochs trained for the kept weights
    val_auc: list[float] = field(default_factory=list)
    best_val_auc: float = float("nan")
    best_score: float = float("nan")
    val_logits: np.ndarray | None = None


def score_auc(y: np.ndarray, scores: np.ndarray, n_classes: int) -> float:
    """ROC-AUC of ranking scores: binary (one column), or the macro mean of one-vs-rest AUCs over the classes present
    (scikit-learn's ``multi_class="ovr", average="macro"``). NaN with a single class."""
    scores = np.asarray(scores)
    if len(np.unique(y)) < 2:
        return float("nan")
    if n_classes == 2:
        return float(roc_auc_score(y, scores.ravel()))
    return float(np.mean([roc_auc_score(y == k, scores[:, k]) for k in np.unique(y)]))


def score_pr_auc(y: np.ndarray, scores: np.ndarray, n_classes: int) -> float:
    """Average precision of ranking scores: binary, or the macro mean over the classes present, one-vs-rest."""
    scores = np.asarray(scores)
    if n_classes == 2:
        return float(average_precision_score(y, scores.ravel()))
    return float(np.mean([average_precision_score(y == k, scores[:, k]) for k in np.unique(y)]))


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
    speed = {"fused": True} if cfg.optimizer in _FUSED else {"foreach": True}
    return cls([p for p in params if p.requires_grad], lr=cfg.learning_rate or lr, weight_decay=cfg.weight_decay, **speed)


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
) -> FitResult:
    """Train a :class:`RadiogenomicNetwork` on scaled expression ``x`` and integer labels ``y``.

    With a validation set, the ``monitor`` score is measured after every epoch and the weights of the best epoch
    are kept (early stopping after ``cfg.patience`` epochs without an improvement above ``cfg.min_delta``):
    ``"loss"``, the class-weighted validation cross-entropy (tie-free, so training goes on after the AUC saturates),
    or ``"auc"``, the validation ROC-AUC (the paper's callback). ``best_score`` is the kept epoch's score, higher is
    better (minus the loss). Without a validation set, the network trains for ``cfg.epochs`` epochs.
    """
    device = device or torch.device("cpu")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    n_out = 1 if n_classes == 2 else n_classes
    model = RadiogenomicNetwork(x.shape[1], n_out, cfg.hidden, activation=cfg.activation, dropout=cfg.dropout).to(device)
    if pretrained is not None:
        model.transfer_encoder(pretrained, freeze=freeze)
    weights = None
    if class_weight == "balanced":
        weights = torch.as_tensor(compute_class_weight("balanced", classes=np.arange(n_classes), y=y), dtype=torch.float32, device=device)
    elif class_weight is not None:
        raise ValueError(f"class_weight must be 'balanced' or None, got {class_weight!r}")
    if monitor not in ("loss", "auc"):
        raise ValueError(f"monitor must be 'loss' or 'auc', got {monitor!r}")
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.int64, device=device)
    opt = _optimizer(cfg, model.parameters())

    def loss_of(logits, target):
        if n_classes == 2:
            w = weights[target] if weights is not None else None
            return nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), target.float(), weight=w)
        return nn.functional.cross_entropy(logits, target, weight=weights)

    result = FitResult(state={}, best_epoch=cfg.epochs)
    best, best_state, since = -np.inf, None, 0
    for epoch in range(1, cfg.epochs + 1):
        _run_epoch(model, opt, len(xt), cfg.batch_size, generator, lambda idx: loss_of(model(xt[idx]), yt[idx]))
        if x_val is None:
            continue
        val_logits = predict_logits(model, x_val, device=device)
        auc = score_auc(y_val, logit_scores(val_logits, n_classes), n_classes)
        result.val_auc.append(auc)
        if monitor == "auc":
            score = auc
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
    result.state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return result


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
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
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
