"""Write the SB-MoE head golden files (testdata/moe/) with PyTorch.

The module follows the authors' code (FaySokli/SB-MoE, src/model/models.py, commit c02b0bc):
a Specializer per expert (query_embedding_changer_1 → ReLU → query_embedding_changer_4), the
gate cls_1 → ReLU → cls_3, noise_linear (never in the optimizer), noisy top-1 gating in
training, TOP-1 / ALL at evaluation, F.normalize(Σ g·E, eps=1e-6) + h. The noise is injected
instead of drawn with randn_like so that Go can replay it. The "learned" router (sbmoe's own)
is written here the way moe/ implements it: a straight-through scale
(1 + p_k − p_k.detach()) · normalize(E_k(h)) + h and a Switch-style balance loss.

Run from the repository root:

    .venv/bin/python tools/reference/moe_golden.py

Weights are drawn in float32 (torch.manual_seed(7)), then everything is computed in float64,
so the golden values are the exact function of the float32 inputs; Go, in float32, matches
to about 1e-6.
"""

import json
import os
import sys

import safetensors
import safetensors.torch
import torch
from torch import nn
from torch.nn import functional as F

HIDDEN, EXPERTS, ROWS = 16, 4, 5
BALANCE_COEF = 0.1
OUT_DIR = "testdata/moe"


class Specializer(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.query_embedding_changer_1 = nn.Linear(hidden_size, hidden_size // 2)
        self.query_embedding_changer_4 = nn.Linear(hidden_size // 2, hidden_size)

    def forward(self, x):
        return self.query_embedding_changer_4(F.relu(self.query_embedding_changer_1(x)))


class SBMoE(nn.Module):
    """The head of the authors' MoEBiEncoder, without the encoder."""

    def __init__(self, hidden_size, num_classes):
        super().__init__()
        self.num_classes = num_classes
        # Same construction order as MoEBiEncoder: init_cls() then the specializers.
        self.cls_1 = nn.Linear(hidden_size, hidden_size // 2)
        self.cls_3 = nn.Linear(hidden_size // 2, num_classes)
        self.noise_linear = nn.Linear(hidden_size, num_classes)
        self.specializer = nn.ModuleList([Specializer(hidden_size) for _ in range(num_classes)])

    def cls(self, h, noise, top1):
        out = self.cls_3(F.relu(self.cls_1(h)))
        if self.training:
            noisy_logits = out + noise * F.softplus(self.noise_linear(h))
            probs = torch.softmax(noisy_logits, dim=-1)
        else:
            probs = torch.softmax(out, dim=-1)
        if not top1:
            return probs, probs
        _, topk_indices = torch.topk(probs, 1, dim=1)
        mask = torch.zeros_like(probs).scatter_(1, topk_indices, 1)
        return probs * mask, probs

    def forward(self, h, noise, router, top1):
        g, probs = self.cls(h, noise, top1)
        embs = torch.stack([self.specializer[i](h) for i in range(self.num_classes)], dim=1)
        k = probs.argmax(dim=1)
        aux = torch.zeros((), dtype=h.dtype)
        if router == "learned" and top1:
            pk = probs.gather(1, k[:, None])
            scale = 1 + pk - pk.detach()
            ek = embs[torch.arange(h.shape[0]), k]
            out = scale * F.normalize(ek, dim=-1, eps=1e-6) + h
            if self.training:
                frac = torch.bincount(k, minlength=self.num_classes).to(h.dtype) / h.shape[0]
                aux = BALANCE_COEF * self.num_classes * (frac * probs.mean(dim=0)).sum()
        else:
            out = F.normalize(torch.einsum("bmd,bm->bd", embs, g), dim=-1, eps=1e-6) + h
        return out, probs, k, aux


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def margin(probs):
    top2 = torch.topk(probs.detach(), 2, dim=1).values
    return float((top2[:, 0] - top2[:, 1]).min())


def main():
    torch.manual_seed(7)
    model = SBMoE(HIDDEN, EXPERTS)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    h32 = torch.randn(ROWS, HIDDEN)
    r32 = torch.randn(ROWS, HIDDEN)
    noise32 = torch.randn(ROWS, EXPERTS)
    model = model.double()
    h0, r, noise = h32.double(), r32.double(), noise32.double()

    cases = []
    for name, router, train, top1 in [
        ("paper/train", "paper", True, True),
        ("learned/train", "learned", True, True),
        ("paper/eval/top1", "paper", False, True),
        ("paper/eval/all", "paper", False, False),
        ("learned/eval/top1", "learned", False, True),
    ]:
        model.train(train)
        model.zero_grad()
        h = h0.clone().requires_grad_(True)
        out, probs, k, aux = model(h, noise, router, top1)
        if margin(probs) < 1e-3:
            sys.exit(f"{name}: top-1 margin {margin(probs):.2e} too small; change the seed")
        loss = (out * r).sum() + aux
        loss.backward()
        grads = {"h": flat(h.grad)}
        for pname, p in model.named_parameters():
            if not pname.startswith("noise_linear."):  # never trained: Go keeps no gradient
                grads[pname] = flat(p.grad)
        cases.append({
            "name": name, "router": router, "mode": "train" if train else "eval",
            "pool": "top1" if top1 else "all",
            "out": flat(out), "expert": [int(v) for v in k.tolist()], "probs": flat(probs),
            "aux": float(aux.detach()), "loss": float(loss.detach()), "grads": grads,
        })

    generator = (f"tools/reference/moe_golden.py; torch {torch.__version__}; "
                 f"safetensors {safetensors.__version__}; float64 from float32 inputs")
    os.makedirs(OUT_DIR, exist_ok=True)
    safetensors.torch.save_file(state, os.path.join(OUT_DIR, "moe.safetensors"),
                                metadata={"generator": generator})
    with open(os.path.join(OUT_DIR, "moe_config.json"), "w") as f:
        json.dump({"hidden_size": HIDDEN, "num_experts": EXPERTS, "router": "paper",
                   "pool": "top1", "balance_coef": 0}, f, indent=2)
        f.write("\n")
    golden = {
        "generator": generator, "hidden_size": HIDDEN, "num_experts": EXPERTS, "rows": ROWS,
        "balance_coef": BALANCE_COEF, "loss": "sum(out * r) + aux",
        "h": flat(h32), "r": flat(r32), "noise": flat(noise32), "cases": cases,
    }
    with open(os.path.join(OUT_DIR, "golden.json"), "w") as f:
        json.dump(golden, f)
        f.write("\n")
    print(f"wrote {OUT_DIR}/golden.json, moe.safetensors, moe_config.json ({generator})")


if __name__ == "__main__":
    main()
