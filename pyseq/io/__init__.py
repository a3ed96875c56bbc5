"""Saving and loading tensors, models and training checkpoints (safetensors format, atomic writes);
reading GGUF files."""

from .checkpoint import load_checkpoint, load_model, save_checkpoint, save_model
from .gguf import read_gguf
from .safetensors import SafetensorsError, load_file, load_metadata, save_file

__all__ = ["SafetensorsError", "save_file", "load_file", "load_metadata",
           "save_model", "load_model", "save_checkpoint", "load_checkpoint", "read_gguf"]
