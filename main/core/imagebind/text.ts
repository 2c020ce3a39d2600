/**
 * CLIP's byte-level BPE tokenizer exactly as ImageBind runs it (`SimpleTokenizer` in
 * imagebind/models/multimodal_preprocessors.py, from OpenAI CLIP's simple_tokenizer.py):
 *
 *   ftfy.fix_text → html.unescape twice → strip → collapse White_Space runs to ' ' → strip → lower
 *   → split with CLIP's word pattern → UTF-8 bytes mapped to printable characters → BPE merges
 *   → [SOT, ...ids][:contextLength-1] + [EOT], zero padded.
 *
 * Known Python/JS differences, found by comparing every code point and ~50k generated strings
 * (mojibake, HTML references, mixed scripts) with the Python tokenizer; none touch real queries:
 * - `toLowerCase` and `str.lower` agree (both apply SpecialCasing, e.g. 'İ' → 'i̇', and final sigma)
 *   except on letters newer than the Python build's Unicode (3.11 has Unicode 14): Node's ICU
 *   lower-cases e.g. U+1C89, U+A7CB and Garay capitals, Python leaves them. NFC differs likewise for
 *   a few Unicode 16 scripts (Tulu-Tigalari, Gurung Khema, Kirat Rai).
 * - `\p{L}` / `\p{N}` follow each engine's Unicode tables; they agree on all assigned code points.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { TextParams } from '../../../app/pack.js';
import { DEFAULT_TEXT_PARAMS } from '../../../app/pack.js';
import { fixText, htmlUnescape, pyStrip, WHITE_SPACE } from './ftfy.js';
import type { IntTensor } from './tensor.js';

const gunzipAsync = promisify(gunzip);

/** CLIP keeps the first 49152 − 256 − 2 lines of the merges file, after its version header. */
const MERGE_COUNT = 49152 - 256 - 2;
const SOT_TEXT = '<|startoftext|>';
const EOT_TEXT = '<|endoftext|>';
const END_OF_WORD = '</w>';

/**
 * CLIP's word pattern. Python compiles it with IGNORECASE, but it runs on lower-cased text, where
 * that flag changes only two things, spelled out here instead of using JS's `i` (whose case folding
 * differs): 'ſ' matches 's', and U+0345 (which folds to 'ι') falls out of the symbol class, so
 * Python drops it. `\s` is the `regex` module's White_Space set (JS `\s` would also exclude U+FEFF).
 */
const WORD_RE = new RegExp(
  [
    '<\\|[sſ]tartoftext\\|>',
    '<\\|endoftext\\|>',
    "'[sſ]|'t|'re|'ve|'m|'ll|'d",
    '\\p{L}+',
    '\\p{N}',
    `[^${WHITE_SPACE}\\p{L}\\p{N}\\u0345]+`,
  ].join('|'),
  'gu',
);
const WHITE_SPACE_RUN_RE = new RegExp(`[${WHITE_SPACE}]+`, 'gu');

/** Words whose ids are remembered; clearing past this bounds memory in a long-running process. */
const CACHE_LIMIT = 100_000;

/**
 * GPT-2/CLIP's byte → character table: printable Latin-1 bytes stand for themselves, the others
 * (controls, space, DEL, NBSP, soft hyphen) are moved to U+0100 onwards so no token holds whitespace.
 * `byteChars[b]` is byte b's character; `vocabOrder` lists the characters in Python's dict order
 * (printable bytes first), which is the order of the first 256 vocabulary ids.
 */
function bytesToUnicode(): { byteChars: string[]; vocabOrder: string[] } {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const byteChars: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) byteChars[b] = String.fromCharCode(printable(b) ? b : next++);
  const bytes = [...Array(256).keys()];
  const order = [...bytes.filter(printable), ...bytes.filter((b) => !printable(b))];
  return { byteChars, vocabOrder: order.map((b) => byteChars[b]) };
}

const { byteChars: BYTE_CHARS, vocabOrder: BYTE_VOCAB } = bytesToUnicode();
const utf8 = new TextEncoder();

/** `basic_clean` then `whitespace_clean` then `.lower()`, as `SimpleTokenizer.encode` does. */
export function cleanText(text: string): string {
  const basic = pyStrip(htmlUnescape(htmlUnescape(fixText(text))));
  return pyStrip(basic.replace(WHITE_SPACE_RUN_RE, ' ')).toLowerCase();
}

/** The UTF-8 bytes of a word, each as its printable stand-in character. */
function byteEncode(word: string): string {
  let out = '';
  for (const b of utf8.encode(word)) out += BYTE_CHARS[b];
  return out;
}

/** Merges every non-overlapping occurrence of `first second`, left to right. */
function mergePair(word: readonly string[], first: string, second: string): string[] {
  const merged: string[] = [];
  for (let i = 0; i < word.length; i++) {
    if (word[i] === first && word[i + 1] === second) {
      merged.push(first + second);
      i++;
    } else {
      merged.push(word[i]);
    }
  }
  return merged;
}

export class ClipTokenizer {
  private readonly cache = new Map<string, readonly number[]>();

  private constructor(
    /** Symbol (byte characters, optionally ending in `</w>`) → id. */
    private readonly encoder: ReadonlyMap<string, number>,
    /** `"first second"` → merge priority (lower merges first). */
    private readonly ranks: ReadonlyMap<string, number>,
    readonly params: TextParams,
  ) {
    for (const special of [SOT_TEXT, EOT_TEXT]) this.cache.set(special, [encoder.get(special)!]);
  }

  /** Reads CLIP's gzipped merges file (`bpe_simple_vocab_16e6.txt.gz`). */
  static async load(mergesGzPath: string, params: TextParams = DEFAULT_TEXT_PARAMS): Promise<ClipTokenizer> {
    const text = (await gunzipAsync(await readFile(mergesGzPath))).toString('utf8');
    const merges = text
      .split('\n')
      .slice(1, MERGE_COUNT + 1)
      .map((line) => line.split(' '));
    return ClipTokenizer.fromMerges(merges, params);
  }

  /** Vocabulary order: 256 byte characters, the same with `</w>`, one per merge, then SOT and EOT. */
  private static fromMerges(merges: readonly string[][], params: TextParams): ClipTokenizer {
    const vocab = [...BYTE_VOCAB, ...BYTE_VOCAB.map((c) => c + END_OF_WORD)];
    for (const merge of merges) vocab.push(merge.join(''));
    vocab.push(SOT_TEXT, EOT_TEXT);
    // A later duplicate wins, as in Python's dict(zip(vocab, range(...))).
    const encoder = new Map(vocab.map((symbol, id) => [symbol, id]));
    const ranks = new Map(merges.map((merge, rank) => [merge.join(' '), rank]));
    return new ClipTokenizer(encoder, ranks, params);
  }

  /** Cleaned text → BPE ids, without SOT/EOT. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [word] of cleanText(text).matchAll(WORD_RE)) ids.push(...this.wordIds(byteEncode(word)));
    return ids;
  }

  /** `contextLength` ids: SOT, the text's ids, EOT, zeros; a long text is cut so EOT stays last. */
  tokenize(text: string): number[] {
    const { contextLength, sot, eot } = this.params;
    const ids = [sot, ...this.encode(text)].slice(0, contextLength - 1);
    ids.push(eot);
    while (ids.length < contextLength) ids.push(0);
    return ids;
  }

  private wordIds(token: string): readonly number[] {
    const hit = this.cache.get(token);
    if (hit) return hit;
    const ids = this.bpe(token).map((symbol) => this.encoder.get(symbol)!);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(token, ids);
    return ids;
  }

  /** CLIP's BPE: repeatedly merge the adjacent pair with the lowest rank until none is known. */
  private bpe(token: string): string[] {
    let word = [...token.slice(0, -1), token.slice(-1) + END_OF_WORD];
    while (word.length > 1) {
      const pair = this.bestPair(word);
      if (!pair) break;
      word = mergePair(word, pair[0], pair[1]);
    }
    return word;
  }

  private bestPair(word: readonly string[]): [string, string] | undefined {
    let best: [string, string] | undefined;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = [word[i], word[i + 1]];
      }
    }
    return best;
  }
}

/** A batch of texts as the text encoder's int64 input, dims [N, contextLength]. */
export function textTensor(tokenizer: ClipTokenizer, texts: readonly string[]): IntTensor {
  const { contextLength } = tokenizer.params;
  const data = new BigInt64Array(texts.length * contextLength);
  texts.forEach((text, row) => {
    tokenizer.tokenize(text).forEach((id, col) => (data[row * contextLength + col] = BigInt(id)));
  });
  return { dtype: 'int64', dims: [texts.length, contextLength], data };
}
