"""GPT-2: pyseq.models.GPT against transformers' GPT2LMHeadModel (torch), same weights, data and threads.

    python bench/gpt.py [--threads N] [--repeat R] [--vocab V] [--only pyseq|torch] [--case TEXT]

Model: 4 layers, d 256, 4 heads, context 256, vocabulary --vocab (default 4096, the size
examples/train_gpt.py trains on the corpus; 50257 is GPT-2's), dropout 0, float32.
Cases:
  train B16 / B1   one training step on blocks of 128 tokens: forward with the LM loss, backward,
                   AdamW step (decay on the projection matrices only, both sides), zero_grad.
  generate         128 new tokens after a 16-token prompt, greedy, batch 1, with the KV cache
                   (transformers' generate with min_new_tokens, so both make all 128); tokens/s.
Both libraries run in one process, timed in turns (common.time_interleaved), medians and the ratio of
times (for generation the ratio of tokens/s, pyseq over transformers). --only times one library alone
(one process per library, to confirm a ratio without the other's worker threads around).
"""

import argparse

import common  # standard library only: safe to import before numpy

common.leave_bench_folder_off_path()  # transformers imports `tokenizers`, which bench/tokenizers.py shadows

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
parser.add_argument("--repeat", type=int, default=9, help="timed calls per case (default 9)")
parser.add_argument("--vocab", type=int, default=4096)
parser.add_argument("--only", choices=["pyseq", "torch"], help="time one library alone")
parser.add_argument("--case", default="", help="run only the cases whose name contains this text")
args = parser.parse_args()
common.pin_blas_threads(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

import pyseq  # noqa: E402
from pyseq.models import GPT, GPTConfig  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)
transformers.logging.set_verbosity_error()

CONFIG = dict(vocab_size=args.vocab, n_positions=256, n_embd=256, n_layer=4, n_head=4, resid_pdrop=0.0,
              embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)


def models():
    """The same random weights in both libraries."""
    torch.manual_seed(0)
    theirs = transformers.GPT2LMHeadModel(transformers.GPT2Config(**CONFIG))
    ours = GPT(GPTConfig(**CONFIG))
    ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()
                          if k != "lm_head.weight"})
    return theirs, ours


def torch_adamw(model):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "wte" not in n and "wpe" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "wte" not in n and "wpe" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                             lr=1e-4, betas=(0.9, 0.95), foreach=True)


def train_steps(theirs, ours, ids):
    t_ids = torch.from_numpy(ids)
    t_opt = torch_adamw(theirs.train())
    p_opt = ours.train().configure_optimizers(weight_decay=0.1, learning_rate=1e-4)
    p_ids = pyseq.tensor(ids)

    def torch_step():
        loss = theirs(t_ids, labels=t_ids).loss
        loss.backward()
        t_opt.step()
        t_opt.zero_grad(set_to_none=True)

    def pyseq_step():
        loss = ours(p_ids, labels=p_ids).loss
        loss.backward()
        p_opt.step()
        p_opt.zero_grad()
    return {"torch": torch_step, "pyseq": pyseq_step}


def generation(theirs, ours, prompt, new_tokens):
    t_prompt = torch.from_numpy(prompt)
    theirs.eval()

    def torch_generate():
        with torch.no_grad():
            out = theirs.generate(t_prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                  pad_token_id=0, eos_token_id=None)
        assert out.shape[1] == prompt.shape[1] + new_tokens

    def pyseq_generate():
        out = ours.generate(prompt, max_new_tokens=new_tokens, eos_token_id=None)
        assert out.shape[1] == prompt.shape[1] + new_tokens
    return {"torch": torch_generate, "pyseq": pyseq_generate}


def main():
    theirs, ours = models()
    rng = np.random.default_rng(0)
    rows = []
    cases = [(f"train step B{B} T128", "train", B) for B in (16, 1)] + [("generate 128 tokens, prompt 16", "gen", 1)]
    for name, kind, B in cases:
        if args.case not in name:
            continue
        if kind == "train":
            fns = train_steps(theirs, ours, rng.integers(0, args.vocab, (B, 128)))
        else:
            fns = generation(theirs, ours, rng.integers(0, args.vocab, (1, 16)), 128)
        if args.only:
            fns = {args.only: fns[args.only]}
        repeat = args.repeat * (5 if B == 1 and kind == "train" else 1)
        times = common.time_interleaved(fns, repeat)
        if kind == "gen":
            cells = {lib: f"{128 / t:,.0f} tok/s" for lib, t in times.items()}
            ratio = f"{times['torch'] / times['pyseq']:.2f}x tok/s" if len(times) == 2 else "-"
        else:
            cells = {lib: f"{t * 1e3:.1f} ms" for lib, t in times.items()}
            ratio = common.ratio_text(times["pyseq"], times["torch"]) if len(times) == 2 else "-"
        rows.append([name, cells.get("torch", "-"), cells.get("pyseq", "-"), ratio])
    print(f"- CPU: {common.cpu_name()}; pyseq level {pyseq.cpu_level()}; threads {args.threads}; float32; "
          f"vocab {args.vocab}; medians, interleaved; torch {torch.__version__}, transformers {transformers.__version__}")
    print(common.markdown_table(["case", "torch", "pyseq", "pyseq/torch"], rows))


if __name__ == "__main__":
    main()
