import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEXT_PARAMS } from '../../app/pack.js';
import { fixText, htmlUnescape, isBad, pyStrip } from '../../main/core/imagebind/ftfy.js';
import { ClipTokenizer, cleanText, textTensor } from '../../main/core/imagebind/text.js';
import { BPE_VOCAB, ORACLE_DIR } from '../support/paths.js';

interface OracleFile {
  context_length: number;
  sot: number;
  eot: number;
  cases: { text: string; ids: number[] }[];
}

const oracle = JSON.parse(
  readFileSync(path.join(ORACLE_DIR, 'clip_tokenizer_cases.json'), 'utf8'),
) as OracleFile;
const SOT = 49406;
const EOT = 49407;

let tok: ClipTokenizer;
beforeAll(async () => {
  tok = await ClipTokenizer.load(BPE_VOCAB);
});

describe('ClipTokenizer against ImageBind', () => {
  it('uses the oracle context length and special tokens', () => {
    expect(oracle.context_length).toBe(DEFAULT_TEXT_PARAMS.contextLength);
    expect([oracle.sot, oracle.eot]).toEqual([SOT, EOT]);
  });

  it.each(oracle.cases.map((c) => [JSON.stringify(c.text), c] as const))(
    'matches the oracle for %s',
    (_, c) => {
      expect(tok.tokenize(c.text)).toEqual(c.ids);
    },
  );

  // Ids produced by ImageBind's SimpleTokenizer (ftfy 6.3.1, regex, html) for inputs the oracle lacks.
  it.each([
    ['İstanbul', [328, 16384, 11231]], // Python and JS both lower 'İ' to 'i' + U+0307
    ['a\u0345b', [320, 321]], // IGNORECASE drops U+0345 from every branch of the pattern
    ["it'\u017f", [585, 6, 129, 379]], // 'ſ' case-folds to 's', so "'ſ" is a contraction
    ['say <|endoftext|> twice', [1451, EOT, 6970]],
    ['<b>&#xfeff;</b>', [283, 321, 29, 171, 119, 123, 34308, 321, 285]], // U+FEFF is not whitespace
    ['ΣΑΣ ΟΔΟΣ', [139, 225, 138, 109, 139, 480, 138, 123, 138, 112, 138, 123, 139, 480]], // final sigma
    ['a\u00a0b\u2003c\u3000d\u0085e', [320, 321, 322, 323, 959, 324]], // U+0085 is a C1 control: '…'
    ['x\x1b[31mred\x1b[0m', [87, 736]],
    ['&EACUTE;t&eacute;', [3459, 39694]], // ftfy decodes upper-cased entity names
    ['<p>&EACUTE;</p>', [283, 335, 29, 261, 68, 19734, 26, 34308, 335, 285]], // '<' turns that off
    ['&#x80;&#0;&#1;x', [34919, 39802, 343]],
    ['I ♥ NY', [328, 3405, 1350]],
  ] as const)('encodes %j as ImageBind does', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });
});

describe('tokenize', () => {
  it('wraps the ids in SOT and EOT and pads with zeros', () => {
    const ids = tok.tokenize('a photo of a dog');
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 7)).toEqual([SOT, 320, 1125, 539, 320, 1929, EOT]);
    expect(ids.slice(7).every((id) => id === 0)).toBe(true);
  });

  it('gives [SOT, EOT, 0, ...] for an empty or blank string', () => {
    const expected = [SOT, EOT, ...new Array<number>(75).fill(0)];
    expect(tok.tokenize('')).toEqual(expected);
    expect(tok.tokenize(' \t\n ')).toEqual(expected);
    expect(tok.encode('')).toEqual([]);
  });

  it('truncates a long text so that EOT is the last token', () => {
    const ids = tok.tokenize('dog '.repeat(500));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(SOT);
    expect(ids[76]).toBe(EOT);
    expect(ids.slice(1, 76).every((id) => id === 1929)).toBe(true);
  });

  it('keeps EOT last when the text fills the context exactly or by one', () => {
    expect(tok.tokenize('dog '.repeat(75)).slice(-2)).toEqual([1929, EOT]);
    expect(tok.tokenize('dog '.repeat(76)).slice(-2)).toEqual([1929, EOT]);
    expect(tok.tokenize('dog '.repeat(74)).slice(-2)).toEqual([EOT, 0]);
  });

  it('follows the pack parameters', () => {
    const params = { contextLength: 5, sot: SOT, eot: EOT };
    return ClipTokenizer.load(BPE_VOCAB, params).then((short) => {
      expect(short.tokenize('a photo of a dog')).toEqual([SOT, 320, 1125, 539, EOT]);
      expect(short.tokenize('dog')).toEqual([SOT, 1929, EOT, 0, 0]);
    });
  });
});

describe('text cleaning', () => {
  it('unescapes HTML twice after ftfy (and ftfy unescapes until stable)', () => {
    expect(tok.encode('&amp;amp;')).toEqual(tok.encode('&'));
    expect(tok.encode('&amp;amp;amp;')).toEqual(tok.encode('&'));
    expect(cleanText('fish &amp;amp; chips')).toBe('fish & chips');
    // With a '<' on the line ftfy leaves entities alone, so only the two html.unescape passes run.
    expect(cleanText('<b>&amp;amp;amp;lt;</b>')).toBe('<b>&amp;lt;</b>');
  });

  it('collapses whitespace runs, tabs and newlines included', () => {
    expect(cleanText('  Multiple   spaces\tand\nnewlines\r\n ')).toBe('multiple spaces and newlines');
    expect(tok.encode('a\t\tb\n\nc\u2028d\u3000e')).toEqual(tok.encode('a b c d e'));
  });

  it('uncurls quotes, so contractions split the same way', () => {
    expect(tok.encode('don’t')).toEqual(tok.encode("don't"));
    expect(tok.encode('“quoted”')).toEqual(tok.encode('"quoted"'));
    expect(tok.encode("don't")).toEqual([847, 713]);
  });

  it('expands Latin ligatures', () => {
    expect(tok.encode('ﬁsh ﬂour ﬀ')).toEqual(tok.encode('fish flour ff'));
  });

  it('folds full-width ASCII and half-width katakana', () => {
    expect(tok.encode('ＬＯＵＤ　ＮＯＩＳＥＳ')).toEqual(tok.encode('loud noises'));
    expect(cleanText('ｶﾀｶﾅ')).toBe('カタカナ');
  });

  it('repairs UTF-8 mojibake', () => {
    expect(tok.encode('cafÃ©')).toEqual(tok.encode('café'));
    expect(tok.encode('cafÃ©')).toEqual([15304]);
    expect(cleanText('â€œquotedâ€\x9d')).toBe('"quoted"');
    expect(cleanText('Ð\x9fÑ\x80Ð¸Ð²ÐµÑ\x82')).toBe('привет');
    expect(cleanText('voilÃ  le travail')).toBe('voilà le travail');
  });

  it('lower-cases after cleaning', () => {
    expect(cleanText('UPPER lower MiXeD')).toBe('upper lower mixed');
  });
});

describe('fixText (ftfy.fix_text)', () => {
  it.each([
    'plain ascii text',
    'naïve café',
    'Straße München Zürich',
    '日本語のテキスト',
    'emoji 🐶🚗🐦',
    'I ♥ NY',
    '¯\\_(ツ)_/¯',
    '½ cup, 10°C, ±5%',
    'Привет мир',
    '',
  ])('passes %j through unchanged', (text) => {
    expect(fixText(text)).toBe(text);
  });

  it.each([
    ['cafÃ©', 'café'],
    ['schÃ¶n', 'schön'],
    ['âœ” No problems', '✔ No problems'],
    ['Ã  la carte', 'à la carte'],
    ['Broken text&hellip; it&#x2019;s ﬂubberiﬁc!', "Broken text… it's flubberific!"],
    ['&macr;\\_(ã\x83\x84)_/&macr;', '¯\\_(ツ)_/¯'],
    ['ＬＯＵＤ　ＮＯＩＳＥＳ', 'LOUD NOISES'],
    ['line\r\nbreak\u2028sep\rx', 'line\nbreak\nsep\nx'],
    ['e\u0301', 'é'], // NFC
    ['a\x00b\x07c\ufeffd', 'abcd'],
    ['\x1b[1mbold\x1b[0m', 'bold'],
    ['lone \ud800 surrogate', 'lone \ufffd surrogate'],
  ])('fixes %j', (text, fixed) => {
    expect(fixText(text)).toBe(fixed);
  });

  it('fixes each line on its own and stops unescaping from the first line with "<"', () => {
    expect(fixText('&amp;\n<b>&amp;</b>\n&amp;')).toBe('&\n<b>&amp;</b>\n&amp;');
  });

  it('flags mojibake with the badness heuristic only', () => {
    expect(isBad('cafÃ©')).toBe(true);
    expect(isBad('café')).toBe(false);
  });
});

describe('Python string helpers', () => {
  it('html.unescape: numeric references follow Python, not the HTML5 tokenizer', () => {
    expect(htmlUnescape('&#0;')).toBe('\ufffd');
    expect(htmlUnescape('&#x80;')).toBe('€');
    expect(htmlUnescape('&#x81;')).toBe('\x81');
    expect(htmlUnescape('&#1;&#x7f;&#xfffe;')).toBe('');
    expect(htmlUnescape('&#13;')).toBe('\r');
    expect(htmlUnescape('&#xd800;&#x110000;&#99999999999999999999;')).toBe('\ufffd\ufffd\ufffd');
    expect(htmlUnescape('&#65&#x42;&#X43')).toBe('ABC');
  });

  it('html.unescape: named references, with or without ";", longest prefix', () => {
    expect(htmlUnescape('&amp;amp;')).toBe('&amp;');
    expect(htmlUnescape('&lt&gt')).toBe('<>');
    expect(htmlUnescape('&notit;')).toBe('¬it;');
    expect(htmlUnescape('&ampx')).toBe('&x');
    expect(htmlUnescape('&EACUTE; &bogus; & ;')).toBe('&EACUTE; &bogus; & ;');
  });

  it('str.strip uses Python whitespace', () => {
    expect(pyStrip('\x1c\x85 a b\u3000\t')).toBe('a b');
    expect(pyStrip('\ufeffa\ufeff')).toBe('\ufeffa\ufeff');
  });
});

describe('textTensor', () => {
  it('stacks the tokenized texts as int64 [N, contextLength]', () => {
    const texts = ['a dog', '', 'a bird singing in a fruit tree'];
    const t = textTensor(tok, texts);
    expect(t.dtype).toBe('int64');
    expect(t.dims).toEqual([3, 77]);
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect(t.data).toHaveLength(3 * 77);
    texts.forEach((text, i) => {
      expect(Array.from(t.data.subarray(i * 77, (i + 1) * 77), Number)).toEqual(tok.tokenize(text));
    });
  });

  it('gives an empty [0, contextLength] tensor for no texts', () => {
    expect(textTensor(tok, []).dims).toEqual([0, 77]);
  });

  it('tokenizes 10k short strings quickly (BPE is cached per word)', () => {
    const texts = Array.from({ length: 10_000 }, (_, i) => `a photo of item ${i} near the sea ${i % 97}`);
    const start = performance.now();
    textTensor(tok, texts);
    // Well under a second on a developer machine; the bound leaves room for a loaded CI runner.
    expect(performance.now() - start).toBeLessThan(3000);
  });
});
