"""The torch model module: autoencoder, radiogenomic network, their training loops and the trained-model object."""

from ._fit import DEFAULT_CONFIG, NetworkConfig
from ._model import RadiogenomicModel, model_info
from ._modules import RadiogenomicNetwork, TranscriptomeAutoencoder

__all__ = ["TranscriptomeAutoencoder", "RadiogenomicNetwork", "RadiogenomicModel", "NetworkConfig", "DEFAULT_CONFIG",
           "model_info"]
