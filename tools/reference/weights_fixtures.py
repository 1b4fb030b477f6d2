"""Write the tiny checkpoint fixtures that core/weights tests read.

Run once from the repository root:

    .venv/bin/python tools/reference/weights_fixtures.py

It writes, under testdata/weights/:

  tiny.safetensors            the tensors below, contiguous, in their own dtypes
  tiny_pytorch_model.bin      the same state dict saved by torch.save (zip format), where several
                              tensors are views (transposed, offset, strided) that share one storage
  tiny_pytorch_legacy.bin     the same state dict in the pre-1.6 non-zip torch format
  tiny_expected.json          every tensor's name, source dtype, shape and values as float32

Names mimic an old BertForPreTraining checkpoint ("bert." prefix, LayerNorm gamma/beta, a "cls."
head, an int64 position_ids buffer) so the same files exercise name canonicalisation.
"""

import json
import os
import sys

import safetensors
import safetensors.torch
import torch

OUT = os.path.join("testdata", "weights")


def state_dict():
    torch.manual_seed(42)
    sd = {}
    sd["bert.embeddings.word_embeddings.weight"] = torch.randn(10, 8)
    sd["bert.embeddings.position_ids"] = torch.arange(6, dtype=torch.int64).unsqueeze(0)
    sd["bert.embeddings.LayerNorm.gamma"] = 1 + 0.1 * torch.randn(8)
    sd["bert.embeddings.LayerNorm.beta"] = 0.1 * torch.randn(8)
    # A transposed view: strides (1, 8), not contiguous.
    base = torch.randn(8, 6)
    sd["bert.encoder.layer.0.attention.self.query.weight"] = base.t()
    # Two views of one storage: a row (storage offset 16) and a column (offset 1, stride 6).
    shared = torch.randn(4, 6)
    sd["bert.encoder.layer.0.attention.self.query.bias"] = shared[2]
    sd["bert.encoder.layer.0.attention.self.key.bias"] = shared[:, 1]
    sd["half.weight"] = torch.randn(3, 4).half()
    sd["bfloat.weight"] = torch.randn(2, 3).bfloat16()
    sd["double.weight"] = torch.randn(2).double()
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 3)
    sd["cls.predictions.bias"] = torch.randn(10)
    return sd


def main():
    sd = state_dict()
    versions = f"torch {torch.__version__}, safetensors {safetensors.__version__}"
    generator = f"tools/reference/weights_fixtures.py ({versions})"

    contiguous = {k: v.contiguous().clone() for k, v in sd.items()}
    safetensors.torch.save_file(
        contiguous, os.path.join(OUT, "tiny.safetensors"), metadata={"format": "pt", "generator": generator}
    )
    torch.save(sd, os.path.join(OUT, "tiny_pytorch_model.bin"))
    torch.save(sd, os.path.join(OUT, "tiny_pytorch_legacy.bin"), _use_new_zipfile_serialization=False)

    expected = {
        "generator": generator,
        "tensors": [
            {
                "name": k,
                "dtype": str(v.dtype).removeprefix("torch."),
                "shape": list(v.shape),
                "values": v.float().flatten().tolist(),
            }
            for k, v in sd.items()
        ],
    }
    with open(os.path.join(OUT, "tiny_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    for name in ["tiny.safetensors", "tiny_pytorch_model.bin", "tiny_pytorch_legacy.bin", "tiny_expected.json"]:
        print(name, os.path.getsize(os.path.join(OUT, name)), file=sys.stderr)


if __name__ == "__main__":
    main()
