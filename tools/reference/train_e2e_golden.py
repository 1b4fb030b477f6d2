#!/usr/bin/env python3
"""Write the end-to-end training golden files that moe/e2e_test.go replays.

Outputs (paths relative to the repository root):

  testdata/train_e2e/moe.safetensors, moe_config.json
      The SB-MoE block both sides start from (H=32, 4 experts, paper router), built by
      tools/reference/moe_golden.py's SBMoE (the authors' module structure and parameter
      names) under torch.manual_seed(BLOCK_SEED), in float32. Go reads it with moe.Load.

  testdata/train_e2e/tiny.json.gz
      Ten training steps of the recipe on the tiny random BertModel of
      testdata/embeddings/tiny, overriding its CLS pooling with the recipe's masked mean
      pooling (no normalisation), on one fixed batch of 4 (query, document) pairs:
        case "moe":  encoder -> SB-MoE block (one block for queries and documents) ->
                     InfoNCE (q·dᵀ/τ, τ=0.05, in-batch negatives, query→document) ->
                     AdamW, two groups: encoder lr 1e-3, head lr 1e-2, both weight decay
                     0.01 (noise_linear is never in the optimizer, as in the authors' code).
                     The gate's gradient, zero in exact arithmetic, is zeroed before each
                     AdamW step (see tiny_case). The gate noise is fixed: one N(0,1) (4,E)
                     matrix per step for the queries and one for the documents, stored so
                     Go can replay them.
        case "none": the same without the block (encoder lr 1e-3 only).
      Each case holds the token ids, the pooled vectors and the block's outputs at step 1,
      every parameter gradient at step 1 (encoder, without the unused pooler; block,
      without noise_linear), the experts chosen at every step, and the loss of every step
      (before its update).

  testdata/train_e2e/minilm.json.gz
      One training step of all-MiniLM-L6-v2 (models/all-MiniLM-L6-v2), encoder only,
      mean pooling WITHOUT the checkpoint's Normalize module (the recipe has none), on 4
      hand-written pairs truncated to 32 tokens: the loss, slices of the gradients of a
      selection of parameters (rows of the big matrices, whole LayerNorm vectors, the
      word-embedding rows the batch touches), and the loss after one AdamW step (lr 1e-4,
      weight decay 0.01). Skipped with a message when the model folder is absent.

Everything is computed in float64 from the float32 weights (BertModel in eval mode, so no
dropout, attn_implementation="eager", padded batches with an attention mask), so the golden
values are the exact function of the stored inputs and the differences Go shows are its own
float32 rounding. Tensors are base64 of little-endian float32, row-major.

Run from the repository root (about 10 s):

    .venv/bin/python tools/reference/train_e2e_golden.py
"""

import argparse
import base64
import gzip
import json
import os
import sys

import safetensors
import safetensors.torch
import tokenizers
import torch
import transformers
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe_golden import SBMoE  # noqa: E402  the authors' block, shared with the head's golden file
from refio import atomic_write  # noqa: E402  shared helpers, this folder

GENERATOR = "tools/reference/train_e2e_golden.py"
TAU = 0.05
STEPS = 10
EXPERTS = 4
BLOCK_SEED = 11
NOISE_SEED = 5
ENCODER_LR, HEAD_LR, WEIGHT_DECAY = 1e-3, 1e-2, 0.01
MINILM_LR, MINILM_MAX_LEN = 1e-4, 32
# The gate's top-1 choice must not be a near tie, or float32 rounding in Go could pick
# another expert than float64 here.
MIN_MARGIN = 1e-3

# Lower-cased, as the recipe lower-cases queries and documents.
TINY_PAIRS = [
    ("what is dense retrieval", "dense retrieval encodes queries and documents as vectors"),
    ("mixture of experts", "a gate routes each embedding to one expert"),
    ("how fast is go", "the encoder runs in pure go on two cores"),
    ("why contrastive loss", "in-batch negatives make every other document a negative"),
]

# At τ=0.05 over raw MiniLM vectors (norm ~7) a batch of ordinary pairs scores its
# positives hundreds of logits above the negatives: the loss underflows to 0 and so does
# every gradient. So pairs 2 and 3 are deliberately crossed (each query's "positive" is the
# other's document: large loss, saturated softmax) and documents 1 and 4 differ by one word
# (query 1 splits its softmax about 0.7/0.3 between them).
_TRIAL = ("vitamin d and bone density: a randomized trial of supplementation in older {} found no "
          "effect on fracture rates over five years of follow-up in either arm.")
MINILM_PAIRS = [
    ("does vitamin d protect bones?", _TRIAL.format("adults")),
    ("what causes antibiotic resistance",
     "sleep and the hippocampus: during slow-wave sleep the hippocampus replays recent "
     "experience, strengthening cortical memories."),
    ("sleep and memory consolidation",
     "antibiotic resistance arises when bacteria acquire mutations or plasmids that let "
     "them survive drugs; overuse in hospitals and farming selects for them."),
    ("vitamin d for older women", _TRIAL.format("women")),
]


def versions():
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "safetensors": safetensors.__version__,
    }


def floats(t):
    """Base64 of the tensor's values as little-endian float32, row-major."""
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()).decode()


def write_json_gz(path, obj):
    atomic_write(path, gzip.compress(json.dumps(obj).encode(), mtime=0))
    print(f"wrote {path}: {os.path.getsize(path)} bytes", file=sys.stderr)


def load_bert(model_dir):
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    bert = transformers.BertModel.from_pretrained(model_dir, attn_implementation="eager")
    return tok, bert.eval().double()


def encode(tok, texts, max_len):
    return tok(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")


def ids_of(enc):
    mask = enc["attention_mask"]
    return [ids[: int(m.sum())] for ids, m in zip(enc["input_ids"].tolist(), mask)]


def mean_pool(bert, enc):
    """The recipe's base embedding: masked mean of the last hidden states, no normalisation."""
    hidden = bert(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1)


def infonce(q, d):
    return F.cross_entropy(q @ d.T / TAU, torch.arange(q.shape[0]))


def margin(probs):
    top2 = torch.topk(probs.detach(), 2, dim=1).values
    return float((top2[:, 0] - top2[:, 1]).min())


def encoder_params(bert):
    return [(n, p) for n, p in bert.named_parameters() if not n.startswith("pooler.")]


def tiny_case(model_dir, block_state, with_block, noise_q, noise_d):
    tok, bert = load_bert(model_dir)
    queries, docs = [q for q, _ in TINY_PAIRS], [d for _, d in TINY_PAIRS]
    q_enc, d_enc = encode(tok, queries, 64), encode(tok, docs, 64)
    groups = [{"params": [p for _, p in encoder_params(bert)], "lr": ENCODER_LR, "weight_decay": WEIGHT_DECAY}]
    block = None
    if with_block:
        block = SBMoE(bert.config.hidden_size, EXPERTS)
        block.load_state_dict(block_state)
        block = block.double().train()
        head = [p for n, p in block.named_parameters() if not n.startswith("noise_linear.")]
        groups.append({"params": head, "lr": HEAD_LR, "weight_decay": WEIGHT_DECAY})
    opt = torch.optim.AdamW(groups, foreach=False)

    losses, experts, margins, case = [], [], [], {}
    for step in range(STEPS):
        opt.zero_grad()
        hq, hd = mean_pool(bert, q_enc), mean_pool(bert, d_enc)
        if block is not None:
            oq, pq, kq, _ = block(hq, noise_q[step].double(), "paper", True)
            od, pd, kd, _ = block(hd, noise_d[step].double(), "paper", True)
            experts.append([int(k) for k in torch.cat([kq, kd]).tolist()])
            margins.append(min(margin(pq), margin(pd)))
            if margins[-1] < MIN_MARGIN:
                sys.exit(f"step {step + 1}: top-1 margin {margins[-1]:.2e} too small; change NOISE_SEED or BLOCK_SEED")
        else:
            oq, od = hq, hd
        loss = infonce(oq, od)
        loss.backward()
        losses.append(float(loss.detach()))
        if step == 0:
            grads = [{"name": n, "shape": list(p.shape), "grad": floats(p.grad)} for n, p in encoder_params(bert)]
            if block is not None:
                grads += [{"name": n, "shape": list(p.shape), "grad": floats(p.grad)}
                          for n, p in block.named_parameters() if not n.startswith("noise_linear.")]
            case = {
                "pooled": floats(torch.cat([hq, hd])),
                "out": floats(torch.cat([oq, od])),
                "grads": grads,
            }
        if block is not None:
            # In exact arithmetic the paper gate's gradient is zero (normalize(p_k·E_k(h)) does
            # not depend on p_k); what float32 computes is rounding noise (~1e-7, in PyTorch
            # and in Go alike), which AdamW, dividing by √v, inflates into lr-sized random
            # steps that differ between any two implementations. Zeroing it runs the recipe
            # as exact arithmetic does, on both sides (here in float64 it is ~1e-16 anyway).
            for n, p in block.named_parameters():
                if n.startswith("cls_"):
                    p.grad.zero_()
        opt.step()
    case.update({
        "name": "moe" if with_block else "none",
        "losses": losses,
        "experts": experts,
        "min_margin": min(margins) if margins else None,
        "token_ids": ids_of(q_enc) + ids_of(d_enc),
    })
    print(f"tiny/{case['name']}: losses {losses[0]:.6g} ... {losses[-1]:.6g}", file=sys.stderr)
    return case


def write_tiny(root, out_dir):
    model_dir = os.path.join(root, "testdata", "embeddings", "tiny")
    hidden = transformers.BertConfig.from_pretrained(model_dir).hidden_size
    torch.manual_seed(BLOCK_SEED)
    block_state = {k: v.detach().clone().contiguous() for k, v in SBMoE(hidden, EXPERTS).state_dict().items()}
    gen = torch.Generator().manual_seed(NOISE_SEED)
    b = len(TINY_PAIRS)
    noise_q = torch.randn(STEPS, b, EXPERTS, generator=gen)
    noise_d = torch.randn(STEPS, b, EXPERTS, generator=gen)
    cases = [tiny_case(model_dir, block_state, True, noise_q, noise_d),
             tiny_case(model_dir, block_state, False, noise_q, noise_d)]

    generator = f"{GENERATOR}; torch {torch.__version__}; safetensors {safetensors.__version__}"
    tmp = os.path.join(out_dir, "moe.safetensors.tmp")
    safetensors.torch.save_file(block_state, tmp, metadata={"generator": generator})
    os.chmod(tmp, 0o644)  # safetensors creates it private
    os.replace(tmp, os.path.join(out_dir, "moe.safetensors"))
    config = {"hidden_size": hidden, "num_experts": EXPERTS, "router": "paper", "pool": "top1", "balance_coef": 0}
    atomic_write(os.path.join(out_dir, "moe_config.json"), (json.dumps(config, indent=2) + "\n").encode())
    write_json_gz(os.path.join(out_dir, "tiny.json.gz"), {
        "header": {
            "generator": GENERATOR,
            "versions": versions(),
            "model": "testdata/embeddings/tiny (transformers BertModel, eval mode, eager attention), "
                     "pooling overridden to masked mean, no normalisation",
            "block": f"moe.safetensors beside this file: moe_golden.SBMoE(H, {EXPERTS}), torch.manual_seed({BLOCK_SEED})",
            "loss": f"F.cross_entropy(q @ d.T / {TAU}, arange(B)), q and d the block's outputs (case moe) or the pooled vectors (case none)",
            "optimizer": f"torch.optim.AdamW(foreach=False): encoder lr {ENCODER_LR}, head lr {HEAD_LR} "
                         f"(without noise_linear), weight decay {WEIGHT_DECAY} both",
            "noise": f"torch.randn(steps, B, E, generator=manual_seed({NOISE_SEED})) for queries, then the same for documents",
            "dtype": "float64 from the float32 weights; tensors stored as float32",
            "encoding": "base64 of little-endian float32, row-major",
        },
        "texts": [list(p) for p in TINY_PAIRS],
        "tau": TAU, "steps": STEPS, "encoder_lr": ENCODER_LR, "head_lr": HEAD_LR, "weight_decay": WEIGHT_DECAY,
        "noise_queries": floats(noise_q), "noise_documents": floats(noise_d),
        "cases": cases,
    })


# Gradient slices stored for MiniLM: whole 1-D tensors, chosen rows of the matrices.
MINILM_ROWS = {
    "embeddings.position_embeddings.weight": [0, 1, 17, 31],
    "embeddings.LayerNorm.weight": None,
    "embeddings.LayerNorm.bias": None,
    "encoder.layer.0.attention.self.query.weight": list(range(8)),
    "encoder.layer.0.attention.self.query.bias": None,
    "encoder.layer.0.attention.self.key.weight": [0, 100, 383],
    "encoder.layer.0.attention.self.value.weight": [0, 100, 383],
    "encoder.layer.0.attention.output.LayerNorm.weight": None,
    "encoder.layer.2.intermediate.dense.weight": [0, 1, 1535],
    "encoder.layer.2.intermediate.dense.bias": None,
    "encoder.layer.5.output.dense.weight": list(range(8)),
    "encoder.layer.5.output.dense.bias": None,
    "encoder.layer.5.output.LayerNorm.weight": None,
    "encoder.layer.5.output.LayerNorm.bias": None,
}


def write_minilm(model_dir, out_dir):
    if not os.path.isdir(model_dir):
        print(f"skip minilm.json.gz: {model_dir} is absent (make model fetches it)", file=sys.stderr)
        return
    tok, bert = load_bert(model_dir)
    queries, docs = [q for q, _ in MINILM_PAIRS], [d for _, d in MINILM_PAIRS]
    q_enc, d_enc = encode(tok, queries, MINILM_MAX_LEN), encode(tok, docs, MINILM_MAX_LEN)
    params = dict(encoder_params(bert))
    opt = torch.optim.AdamW([{"params": list(params.values()), "lr": MINILM_LR, "weight_decay": WEIGHT_DECAY}],
                            foreach=False)
    hq, hd = mean_pool(bert, q_enc), mean_pool(bert, d_enc)
    loss = infonce(hq, hd)
    loss.backward()
    token_ids = ids_of(q_enc) + ids_of(d_enc)
    rows = dict(MINILM_ROWS)
    rows["embeddings.word_embeddings.weight"] = sorted({i for ids in token_ids for i in ids})
    grads = []
    for name, sel in rows.items():
        g = params[name].grad
        if sel is not None:
            g = g[sel]
        grads.append({"name": name, "shape": list(params[name].shape), "rows": sel, "grad": floats(g)})
    opt.step()
    with torch.no_grad():
        after = float(infonce(mean_pool(bert, q_enc), mean_pool(bert, d_enc)))
    print(f"minilm: loss {float(loss.detach()):.6g}, after one step {after:.6g}", file=sys.stderr)
    write_json_gz(os.path.join(out_dir, "minilm.json.gz"), {
        "header": {
            "generator": GENERATOR,
            "versions": versions(),
            "model": "models/all-MiniLM-L6-v2 (transformers BertModel, eval mode, eager attention), "
                     "masked mean pooling, no normalisation (the checkpoint's Normalize module is left out)",
            "loss": f"F.cross_entropy(q @ d.T / {TAU}, arange(B)) over the pooled vectors",
            "optimizer": f"torch.optim.AdamW(foreach=False), one group: lr {MINILM_LR}, weight decay {WEIGHT_DECAY}",
            "dtype": "float64 from the float32 weights; tensors stored as float32",
            "encoding": "base64 of little-endian float32, row-major; rows: the rows of the "
                        "tensor (viewed as (shape[0], -1)) stored, null for all of it",
        },
        "texts": [list(p) for p in MINILM_PAIRS],
        "max_length": MINILM_MAX_LEN, "tau": TAU, "lr": MINILM_LR, "weight_decay": WEIGHT_DECAY,
        "token_ids": token_ids,
        "pooled": floats(torch.cat([hq, hd])),
        "loss": float(loss.detach()),
        "loss_after_step": after,
        "grads": grads,
    })


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(root, "testdata", "train_e2e"))
    p.add_argument("--minilm", default=os.path.join(root, "models", "all-MiniLM-L6-v2"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    write_tiny(root, args.out)
    write_minilm(args.minilm, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
