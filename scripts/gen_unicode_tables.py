"""Generates cpp/src/text/unicode_tables.cpp, the Unicode data pyseq's tokenizers read.

    pip install unicodedataplus==16.0.0.post1 && python scripts/gen_unicode_tables.py [--output PATH]

Exact parity with the reference tokenizers means using the Unicode data *they* were built with,
which is not one version:

- Regex classes of the GPT-2 / cl100k / o200k pre-tokenizers (\\p{L}, \\p{N}, \\p{M}, \\p{Lu}, ...):
  Unicode 16.0, as in tiktoken's `regex` crate and Hugging Face's Oniguruma.
- BERT normalizer / pre-tokenizer categories (control = Cc|Cf|Co, punctuation = P*, Mn for accent
  stripping): Unicode 8.0, from the `unicode_categories` crate that Hugging Face tokenizers uses.
  We take the 16.0 category of every character assigned by 8.0, except the few whose category
  changed since (LEGACY_8_0 below).
- NFD: Unicode 12.1, from the `unicode-normalization-alignments` crate (decompositions are stable,
  so: the 16.0 decomposition and combining class of every character assigned by 12.1).
- Lowercase: Unicode 17.0, from Rust's `char::to_lowercase` (Python's str.lower() plus the
  mappings of letters assigned after the Python's own Unicode version, LOWER_ADDED).
- White_Space: the Unicode property (unchanged since 6.3).

The reference BERT tokenizer (google-research/bert, the default profile) reads Python's
`unicodedata`; here it is pinned to Unicode 16.0 throughout: Cc/Cf, Zs, P*, Mn, NFD, lowercase with
the Final_Sigma rule (Cased, Case_Ignorable), and str.split()'s whitespace (bidi WS/B/S or Zs).
Cased uses Python's own Lowercase/Uppercase properties for characters its Unicode version knows and
the general category (Lu/Ll/Lt) for newer ones.

Output: a two-stage table of 16-bit flags per code point, and sorted tables for lowercase, NFD
decomposition and canonical combining class.
"""

import os

import unicodedata

import unicodedataplus as U

assert U.unidata_version == "16.0.0", f"need unicodedataplus 16.0.0, got {U.unidata_version}"

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cpp", "src", "text", "unicode_tables.cpp")

# Flag bits (keep in sync with cpp/include/pyseq/text/unicode.h).
(LETTER, NUMBER, MARK, UPPER_TITLE, LOWER, MOD_OTHER_LETTER, WHITESPACE, BERT_CONTROL, BERT_PUNCT, BERT_MN,
 CONTROL, SPACE_SEPARATOR, PY_SPACE, PUNCT, NONSPACING_MARK, CASED, CASE_IGNORABLE) = (1 << i for i in range(17))

WHITE_SPACE = [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F,
               0x205F, 0x3000]

# Characters assigned by Unicode 8.0 whose general category changed after 8.0: their 8.0 category.
LEGACY_8_0 = {0x111C9: "Po", 0x166D: "Po", 0x1885: "Lo", 0x1886: "Lo", 0xA9BD: "Mc", 0x1171E: "Mn", 0x1734: "Mn"}

# Simple lowercase mappings of letters assigned in Unicode 15.0-17.0 (UnicodeData.txt field 13).
LOWER_ADDED = {0x1C89: 0x1C8A, 0xA7CB: 0x264, 0xA7CC: 0xA7CD, 0xA7CE: 0xA7CF, 0xA7D2: 0xA7D3, 0xA7D4: 0xA7D5,
               0xA7DA: 0xA7DB, 0xA7DC: 0x19B, **{c: c + 0x20 for c in range(0x10D50, 0x10D66)},
               **{c: c + 0x1B for c in range(0x16EA0, 0x16EB9)}}


def age(c):
    a = U.age(c)
    return (99, 0) if a in ("", "Unassigned") else tuple(int(x) for x in a.split("."))


def flags(cp):
    c = chr(cp)
    cat = U.category(c)
    f = 0
    if cat[0] == "L":
        f |= LETTER
    if cat in ("Lu", "Lt"):
        f |= UPPER_TITLE
    if cat == "Ll":
        f |= LOWER
    if cat in ("Lm", "Lo"):
        f |= MOD_OTHER_LETTER
    if cat[0] == "N":
        f |= NUMBER
    if cat[0] == "M":
        f |= MARK
    if cp in WHITE_SPACE:
        f |= WHITESPACE
    old = LEGACY_8_0.get(cp, cat if age(c) <= (8, 0) else "Cn")
    if old in ("Cc", "Cf", "Co"):
        f |= BERT_CONTROL
    if old[0] == "P":
        f |= BERT_PUNCT
    if old == "Mn":
        f |= BERT_MN
    # Unicode 16.0 (the google-research/bert profile)
    if cat in ("Cc", "Cf"):
        f |= CONTROL
    if cat == "Zs":
        f |= SPACE_SEPARATOR
    if cat == "Zs" or U.bidirectional(c) in ("WS", "B", "S"):
        f |= PY_SPACE
    if cat[0] == "P":
        f |= PUNCT
    if cat == "Mn":
        f |= NONSPACING_MARK
    known = unicodedata.category(c) != "Cn"  # assigned in this Python's Unicode version
    if (c.islower() or c.isupper() or cat == "Lt") if known else cat in ("Lu", "Ll", "Lt"):
        f |= CASED
    if cat in ("Mn", "Me", "Cf", "Lm", "Sk") or U.word_break(c) in ("MidLetter", "MidNumLet", "Single_Quote"):
        f |= CASE_IGNORABLE
    return f


def main(output=OUT):
    cps = range(0x110000)
    blocks, stage1 = {}, []
    for hi in range(0x1100):
        block = tuple(flags(cp) for cp in range(hi << 8, (hi + 1) << 8))
        stage1.append(blocks.setdefault(block, len(blocks)))
    assert len(blocks) < 256

    lower = {}
    for cp in cps:
        if 0xD800 <= cp < 0xE000:
            continue
        low = chr(cp).lower()
        if len(low) == 1 and low != chr(cp):
            lower[cp] = ord(low)
    lower.update(LOWER_ADDED)  # U+0130 (the one multi-char lowercase) is handled in code
    # Bit 31 marks mappings of letters that Unicode 16.0 does not have yet (Rust's 17.0 only).
    lower = {cp: v | (1 << 31 if age(chr(cp)) > (16, 0) else 0) for cp, v in lower.items()}

    decomp_data, decomp = [], []
    ccc = []
    for cp in cps:
        c = chr(cp)
        if 0xD800 <= cp < 0xE000 or age(c) > (16, 0):
            continue
        newer = 1 if age(c) > (12, 1) else 0  # not in Hugging Face's NFD (Unicode 12.1)
        if U.combining(c):
            ccc.append((cp, U.combining(c) | newer << 8))
        d = U.normalize("NFD", c)
        if d != c:
            decomp.append((cp, len(decomp_data), len(d) | newer << 8))
            decomp_data.extend(ord(x) for x in d)

    out = [f"// Generated by scripts/gen_unicode_tables.py from Unicode {U.unidata_version} (unicodedataplus). "
           "Do not edit.", "#include \"unicode_tables.h\"", "", "namespace pyseq::text::tables {", ""]
    out.append(f"const uint8_t kStage1[{len(stage1)}] = {{")
    for i in range(0, len(stage1), 32):
        out.append("  " + ",".join(str(x) for x in stage1[i:i + 32]) + ",")
    out.append("};")
    out.append(f"const uint32_t kStage2[{len(blocks)}][256] = {{")
    for block in blocks:
        out.append("  {" + ",".join(str(x) for x in block) + "},")
    out.append("};")

    def pairs(name, ctype, items, per_line=8):
        out.append(f"const {ctype} {name}[{len(items)}] = {{")
        for i in range(0, len(items), per_line):
            out.append("  " + " ".join("{" + ",".join(hex(v) if j < 1 else str(v) for j, v in enumerate(it)) + "},"
                                       for it in items[i:i + per_line]))
        out.append("};")
        out.append(f"const size_t {name}Count = {len(items)};")

    pairs("kLower", "CodeMap", [(cp, lower[cp]) for cp in sorted(lower)])
    pairs("kCombiningClass", "CodeMap", ccc)
    pairs("kDecomposition", "Decomposition", decomp)
    out.append(f"const uint32_t kDecompositionData[{len(decomp_data)}] = {{")
    for i in range(0, len(decomp_data), 16):
        out.append("  " + ",".join(hex(x) for x in decomp_data[i:i + 16]) + ",")
    out.append("};")
    out += ["", "}  // namespace pyseq::text::tables", ""]
    with open(output, "w") as f:
        f.write("\n".join(out))
    print(f"wrote {output}: {len(blocks)} flag blocks, {len(lower)} lowercase, {len(decomp)} decompositions, "
          f"{len(ccc)} combining classes")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=OUT, help="where to write (default: the file in cpp/src/text)")
    main(parser.parse_args().output)
