"""Write testdata/train/golden.json, the PyTorch reference that core/train tests read.

Run once from the repository root:

    .venv/bin/python tools/reference/train_golden.py

Two kinds of case, CPU, float32, seeded (torch.manual_seed), so re-running gives the same file:

  infonce  the SB-MoE loss as the authors compute it: scores = torch.matmul(q, d.T) / tau,
           loss = F.cross_entropy(scores, arange(B)); the loss, the number of queries whose
           positive is the argmax, and the gradients dq and dd from loss.backward().
  adamw    torch.optim.AdamW (foreach=False: the single-tensor path torch takes on CPU) with two
           parameter groups, q (lr 1e-3, weight decay 0.01) and d (lr 1e-4, weight decay 0),
           minimising the InfoNCE loss of learnable q and d for 10 steps: the loss before every
           step and the final q and d.

Values are float32 written as JSON numbers (exact: every float32 is a double).
"""

import json
import os
import platform

import torch
import torch.nn.functional as F

OUT = os.path.join("testdata", "train", "golden.json")
TAU = 0.05


def infonce(q, d, tau):
    scores = torch.matmul(q, d.T) / tau
    labels = torch.arange(q.shape[0])
    return F.cross_entropy(scores, labels), scores


def values(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def infonce_case(name, q, d):
    q = q.clone().requires_grad_(True)
    d = d.clone().requires_grad_(True)
    loss, scores = infonce(q, d, TAU)
    loss.backward()
    correct = int((scores.argmax(dim=1) == torch.arange(q.shape[0])).sum())
    return {
        "name": name,
        "b": q.shape[0],
        "dim": q.shape[1],
        "tau": TAU,
        "q": values(q),
        "d": values(d),
        "loss": float(loss.detach()),
        "correct": correct,
        "dq": values(q.grad),
        "dd": values(d.grad),
    }


def adamw_case(steps=10):
    q = (0.25 * torch.randn(8, 16)).requires_grad_(True)
    d = (0.25 * torch.randn(8, 16)).requires_grad_(True)
    case = {"b": 8, "dim": 16, "tau": TAU, "q0": values(q), "d0": values(d),
            "groups": [{"name": "q", "lr": 1e-3, "weight_decay": 0.01},
                       {"name": "d", "lr": 1e-4, "weight_decay": 0.0}]}
    opt = torch.optim.AdamW(
        [{"params": [q], "lr": 1e-3, "weight_decay": 0.01},
         {"params": [d], "lr": 1e-4, "weight_decay": 0.0}],
        betas=(0.9, 0.999), eps=1e-8, amsgrad=False, foreach=False)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss, _ = infonce(q, d, TAU)
        loss.backward()
        losses.append(float(loss.detach()))
        opt.step()
    case.update({"steps": steps, "losses": losses, "q": values(q), "d": values(d)})
    return case


def main():
    torch.manual_seed(42)
    b, dim = 8, 16
    q = 0.25 * torch.randn(b, dim)
    d = 0.25 * torch.randn(b, dim)
    cases = [infonce_case("random", q, d)]
    # Positives close to their queries: most rows are answered correctly.
    cases.append(infonce_case("aligned", q, q + 0.1 * torch.randn(b, dim)))
    # Scores in the hundreds: exp overflows float32 unless the log-softmax is shifted.
    cases.append(infonce_case("large", 8 * q, 8 * d))
    golden = {
        "generator": "tools/reference/train_golden.py",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "infonce": cases,
        "adamw": adamw_case(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(golden, f)
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"wrote {OUT}: losses {golden['adamw']['losses']}")


if __name__ == "__main__":
    main()
