"""How close pyseq's word2vec models come to gensim's, against how close gensim comes to itself.

Trains both libraries with three seeds each on gensim's lee_background corpus, takes the pairwise
cosines of 300 words (ranks 20-319 of gensim's first model), and prints the mean Spearman
correlation of those cosines between two seeds of one library and across the libraries. A cross
figure well below both within figures means the libraries train something different, not only
with other random numbers.

    python bench/word2vec_agreement.py [--seeds 1 2 3] [--epochs 8] [--threads 2]
"""

import argparse
import itertools

import numpy as np

CONFIGS = {"cbow-ns": dict(sg=0, hs=0, negative=5), "sg-hs": dict(sg=1, hs=1, negative=0),
           "cbow-hs": dict(sg=0, hs=1, negative=0)}


def cosines(model, words):
    vectors = model.wv[words]
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors @ vectors.T)[np.triu_indices(len(words), 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="pyseq's threads (training uses one worker for "
                        "determinism)")
    args = parser.parse_args()
    import gensim
    from gensim.test.utils import datapath
    from gensim.utils import simple_preprocess
    from scipy.stats import spearmanr
    import pyseq
    from pyseq.word2vec import Word2Vec

    pyseq.set_num_threads(args.threads)

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        corpus = [simple_preprocess(line) for line in f]
    libraries = {"gensim": gensim.models.Word2Vec, "pyseq": Word2Vec}
    print("| config | gensim vs gensim | pyseq vs pyseq | gensim vs pyseq |\n|---|---:|---:|---:|")
    for name, config in CONFIGS.items():
        params = dict(vector_size=30, min_count=3, epochs=args.epochs, workers=1, **config)
        models = {(lib, seed): make(corpus, seed=seed, **params) for lib, make in libraries.items()
                  for seed in args.seeds}
        words = models["gensim", args.seeds[0]].wv.index_to_key[20:320]
        sims = {key: cosines(model, words) for key, model in models.items()}

        def mean_rho(pairs):
            return np.mean([spearmanr(sims[a], sims[b])[0] for a, b in pairs])

        within = {lib: mean_rho(itertools.combinations([(lib, s) for s in args.seeds], 2)) for lib in libraries}
        cross = mean_rho(itertools.product([("gensim", s) for s in args.seeds], [("pyseq", s) for s in args.seeds]))
        print(f"| {name} | {within['gensim']:.3f} | {within['pyseq']:.3f} | {cross:.3f} |")


if __name__ == "__main__":
    main()
