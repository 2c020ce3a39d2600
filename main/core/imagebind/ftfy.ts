// Size: a port of ftfy's fix_text, whose steps share its character tables.
/**
 * Text fixing as ImageBind's tokenizer gets it from Python: `ftfy.fix_text(text)` with ftfy 6.x
 * defaults, plus the bits of Python string semantics the tokenizer relies on (`str.strip`,
 * `html.unescape`, the `regex` module's `\s`).
 *
 * This is a re-implementation of ftfy's behaviour (ftfy is Apache-2.0), written against its
 * documented steps and checked string-for-string against ftfy 6.3.1:
 *   unescape HTML (only if the line holds no `<`) → fix mojibake → C1 controls → Latin ligatures →
 *   character width → curly quotes → line breaks → surrogates → terminal escapes → control
 *   characters → NFC, repeated until the text stops changing, line by line.
 * The mojibake fixer is ftfy's: it only acts on text its "badness" heuristic flags, then tries to
 * re-encode the text in one of ten single-byte codecs and decode the bytes as UTF-8, so ordinary text
 * (any script, emoji, accented Latin) passes through untouched.
 */
import { decodeHTML, decodeHTMLStrict } from 'entities';

// ---------------------------------------------------------------------------------------------
// Python string semantics
// ---------------------------------------------------------------------------------------------

/** Body of a regex class for Python's `str.isspace()` (what `str.strip()` and `re`'s `\s` use). */
export const PY_ISSPACE =
  '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/**
 * Body of a regex class for the `regex` module's `\s` (Unicode White_Space). It differs from JS `\s`
 * (which adds U+FEFF and lacks U+0085) and from Python's `str.isspace` (which adds U+001C–U+001F).
 */
export const WHITE_SPACE = '\\t-\\r\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const STRIP_RE = new RegExp(`^[${PY_ISSPACE}]+|[${PY_ISSPACE}]+$`, 'gu');

/** Python's `str.strip()`: JS `trim()` would also drop U+FEFF and keep U+0085 and U+001C–U+001F. */
export function pyStrip(text: string): string {
  return text.replace(STRIP_RE, '');
}

const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/**
 * Python's `html.unescape`: HTML5 named references (with and without `;`, longest prefix wins, as
 * `entities`' legacy decoder does) and numeric references with Python's own rules, which differ
 * from the HTML5 tokenizer that `entities` follows: Python drops the code points HTML5 calls
 * invalid (`&#1;`, `&#x7f;`, noncharacters) instead of emitting them.
 */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF_RE, (_match, ref: string) =>
    ref.startsWith('#') ? numericCharref(ref) : decodeHTML(`&${ref}`),
  );
}

function numericCharref(ref: string): string {
  const hex = ref[1] === 'x' || ref[1] === 'X';
  // parseInt of a very long digit string gives a huge number or Infinity: both are out of range below.
  const num = parseInt(ref.slice(hex ? 2 : 1).replace(/;$/, ''), hex ? 16 : 10);
  if (num === 0) return '\ufffd';
  if (num === 0x0d) return '\r';
  if (num >= 0x80 && num <= 0x9f) return WINDOWS_1252.decode[num]; // Python's cp1252 remap table
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(num)) return '';
  return String.fromCodePoint(num);
}

/** Python's `html._invalid_codepoints`: C0/C1 controls (but tab, LF, FF, CR), DEL, noncharacters. */
function isInvalidCodepoint(cp: number): boolean {
  return (
    (cp >= 0x01 && cp <= 0x08) ||
    cp === 0x0b ||
    (cp >= 0x0e && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

// ---------------------------------------------------------------------------------------------
// Single-byte codecs (byte strings are JS strings of code units 0x00–0xFF)
// ---------------------------------------------------------------------------------------------

interface Codec {
  readonly name: string;
  /** 256 entries: what each byte decodes to. */
  readonly decode: readonly string[];
  readonly encode: ReadonlyMap<string, number>;
}

/**
 * Builds a codec from the characters of bytes 0x80–0xFF. ftfy's "sloppy" codecs decode bytes the
 * real codec leaves undefined as the Latin-1 character (already folded into the tables below) and
 * use byte 0x1A for U+FFFD, so that text with replacement characters can still be re-encoded.
 */
function codec(name: string, high: string, sloppy: boolean): Codec {
  const decode = Array.from({ length: 128 }, (_, b) => String.fromCharCode(b));
  if (sloppy) decode[0x1a] = '\ufffd';
  decode.push(...Array.from(high));
  if (decode.length !== 256) throw new Error(`codec table ${name} has ${decode.length} entries`);
  return { name, decode, encode: new Map(decode.map((ch, b) => [ch, b])) };
}

const LATIN_1_HIGH = Array.from({ length: 128 }, (_, i) => String.fromCharCode(0x80 + i)).join('');
const LATIN_1 = codec('latin-1', LATIN_1_HIGH, false);
const WINDOWS_1252 = codec(
  'sloppy-windows-1252',
  '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ' + LATIN_1_HIGH.slice(32),
  true,
);

/** ftfy's CHARMAP_ENCODINGS, in the order it tries them (the tables are Python's codecs). */
const CHARMAP_CODECS: readonly Codec[] = [
  LATIN_1,
  WINDOWS_1252,
  codec(
    'sloppy-windows-1251',
    'ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—\x98™љ›њќћџ\xa0ЎўЈ¤Ґ¦§Ё©Є«¬\xad®Ї°±Ііґµ¶·ё№є»јЅѕї' +
      'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклмнопрстуфхцчшщъыьэюя',
    true,
  ),
  codec(
    'sloppy-windows-1250',
    '€\x81‚\x83„…†‡\x88‰Š‹ŚŤŽŹ\x90‘’“”•–—\x98™š›śťžź\xa0ˇ˘Ł¤Ą¦§¨©Ş«¬\xad®Ż°±˛ł´µ¶·¸ąş»Ľ˝ľż' +
      'ŔÁÂĂÄĹĆÇČÉĘËĚÍÎĎĐŃŇÓÔŐÖ×ŘŮÚŰÜÝŢßŕáâăäĺćçčéęëěíîďđńňóôőö÷řůúűüýţ˙',
    true,
  ),
  codec(
    'sloppy-windows-1253',
    '€\x81‚ƒ„…†‡\x88‰\x8a‹\x8c\x8d\x8e\x8f\x90‘’“”•–—\x98™\x9a›\x9c\x9d\x9e\x9f\xa0΅Ά£¤¥¦§¨©ª«¬\xad®―°±²³΄µ¶·ΈΉΊ»Ό½ΎΏ' +
      'ΐΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡÒΣΤΥΦΧΨΩΪΫάέήίΰαβγδεζηθικλμνξοπρςστυφχψωϊϋόύώÿ',
    true,
  ),
  codec(
    'sloppy-windows-1254',
    '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8d\x8e\x8f\x90‘’“”•–—˜™š›œ\x9d\x9eŸ' +
      LATIN_1_HIGH.slice(32, 80) +
      'ĞÑÒÓÔÕÖ×ØÙÚÛÜİŞßàáâãäåæçèéêëìíîïğñòóôõö÷øùúûüışÿ',
    true,
  ),
  codec(
    'sloppy-windows-1257',
    '€\x81‚\x83„…†‡\x88‰\x8a‹\x8c¨ˇ¸\x90‘’“”•–—\x98™\x9a›\x9c¯˛\x9f\xa0¡¢£¤¥¦§Ø©Ŗ«¬\xad®Æ°±²³´µ¶·ø¹ŗ»¼½¾æ' +
      'ĄĮĀĆÄÅĘĒČÉŹĖĢĶĪĻŠŃŅÓŌÕÖ×ŲŁŚŪÜŻŽßąįāćäåęēčéźėģķīļšńņóōõö÷ųłśūüżž˙',
    true,
  ),
  codec(
    'iso-8859-2',
    LATIN_1_HIGH.slice(0, 32) +
      '\xa0Ą˘Ł¤ĽŚ§¨ŠŞŤŹ\xadŽŻ°ą˛ł´ľśˇ¸šşťź˝žż' +
      'ŔÁÂĂÄĹĆÇČÉĘËĚÍÎĎĐŃŇÓÔŐÖ×ŘŮÚŰÜÝŢßŕáâăäĺćçčéęëěíîďđńňóôőö÷řůúűüýţ˙',
    false,
  ),
  codec(
    'macroman',
    'ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø' +
      '¿¡¬√ƒ≈∆«»…\xa0ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\uf8ffÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ',
    false,
  ),
  codec(
    'cp437',
    'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
      '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\xa0',
    false,
  ),
];

/** ftfy's `possible_encoding`: ASCII (but 0x1A) or a character of the codec's upper half / 0x1A slot. */
function canEncode(text: string, c: Codec): boolean {
  for (const ch of text) {
    const cp = ch.charCodeAt(0);
    if (cp < 0x80 && cp !== 0x1a) continue;
    if (!c.encode.has(ch)) return false;
  }
  return true;
}

function encodeWith(text: string, c: Codec): string {
  let bytes = '';
  for (const ch of text) bytes += String.fromCharCode(c.encode.get(ch)!);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// UTF-8 decoding, strict, with ftfy's "utf-8-variants" (CESU-8 surrogate pairs, Java's C0 80)
// ---------------------------------------------------------------------------------------------

// ignoreBOM keeps a leading U+FEFF, as Python's "utf-8" codec does.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_VARIANT_RE = /\xc0\x80|\xed[\xa0-\xaf][\x80-\xbf]\xed[\xb0-\xbf][\x80-\xbf]/g;

/** Decodes a byte string as UTF-8 (plus the two variants), or returns undefined if it is invalid. */
function decodeUtf8Variants(bytes: string): string | undefined {
  let out = '';
  let pos = 0;
  try {
    for (const m of bytes.matchAll(UTF8_VARIANT_RE)) {
      out += UTF8.decode(Buffer.from(bytes.slice(pos, m.index), 'latin1')) + variantChar(m[0]);
      pos = m.index + m[0].length;
    }
    return out + UTF8.decode(Buffer.from(bytes.slice(pos), 'latin1'));
  } catch {
    return undefined;
  }
}

function variantChar(seq: string): string {
  if (seq.length === 2) return '\0';
  const b = Array.from(seq, (ch) => ch.charCodeAt(0));
  const cp = ((b[1] & 0x0f) << 16) + ((b[2] & 0x3f) << 10) + ((b[4] & 0x0f) << 6) + (b[5] & 0x3f) + 0x10000;
  return String.fromCodePoint(cp);
}

// ---------------------------------------------------------------------------------------------
// Badness: ftfy's heuristic for "this looks like mojibake" (character categories and sequences)
// ---------------------------------------------------------------------------------------------

/** Groups of characters that mojibake is made of. `-` inside a group is a range. */
const CAT = {
  common: '\xa0\xad·´–—―…’',
  c1: '\x80-\x9f',
  bad: '¦¤¨¬¯¸ƒˆˇ˘˛˜†‡‰⌐◊\ufffdªº',
  law: '¶§',
  currency: '¢£¥₧€',
  start: '¡«¿©΄΅‘‚“„•‹\uf8ff',
  end: '®»˝”›™',
  numeric: '²³¹±¼½¾×µ÷⁄∂∆∏∑√∞∩∫≈≠≡≤≥№',
  kaomoji: 'Ò-ÖÙ-Üò-öø-üŐŌŪŲ°',
  upperAcc: 'À-ÑØÜÝĂĀĄĆČĎĐĘĚĒĖĞĢİĪĶĹĽŁĻŃŇŅŒŘŚŞŠŢŤŮŰŸŹŻŽҐ',
  lowerAcc: 'ßà-ñăąāćčďđęěēėğģįīķĺľłļœŕśşšťüźżžґﬁﬂ',
  upperCommon: 'ÞΑ-ΩΆΈΉΊΌΎΏΪΫЁ-Я',
  lowerCommon: 'α-ωάέήίΰа-џ',
  box: '│┌┐┘├┤┬┼═-╬▀▄█▌▐░▒▓',
} as const;

/** A regex class made of the named character groups plus optional literal characters. */
function cls(names: readonly (keyof typeof CAT)[], extra = ''): string {
  return `[${names.map((n) => CAT[n]).join('')}${extra}]`;
}

/** ftfy's BADNESS_RE, one alternative per line. `\s` and `\w` are spelled out with Python's meaning. */
function badnessPattern(): string {
  const sp = `[${PY_ISSPACE}]`;
  const arabic = cls(['common', 'currency', 'bad', 'numeric', 'start'], 'ŸŠ®°µ»');
  return [
    cls(['c1']),
    cls(['bad', 'lowerAcc', 'upperAcc', 'box', 'start', 'end', 'currency', 'numeric', 'law']) + cls(['bad']),
    '[a-zA-Z]' + cls(['lowerCommon', 'upperCommon']) + cls(['bad']),
    cls(['bad']) + cls(['lowerAcc', 'upperAcc', 'box', 'start', 'end', 'currency', 'numeric', 'law']),
    cls(['lowerAcc', 'lowerCommon', 'box', 'end', 'currency', 'numeric']) + cls(['upperAcc']),
    cls(['box', 'end', 'currency', 'numeric']) + cls(['lowerAcc']),
    cls(['lowerAcc', 'box', 'end']) + cls(['currency']),
    sp + cls(['upperAcc']) + cls(['currency']),
    cls(['upperAcc', 'box']) + cls(['numeric', 'law']),
    cls(['lowerAcc', 'upperAcc', 'box', 'currency', 'end']) + cls(['start']) + cls(['numeric']),
    cls(['lowerAcc', 'upperAcc', 'currency', 'numeric', 'box', 'law']) + cls(['end']) + cls(['start']),
    cls(['currency', 'numeric', 'box']) + cls(['start']),
    '[a-z]' + cls(['upperAcc']) + cls(['start', 'currency']),
    cls(['box']) + cls(['kaomoji']),
    cls(['lowerAcc', 'upperAcc', 'currency', 'numeric', 'start', 'end', 'law']) + cls(['box']),
    cls(['box']) + cls(['end']),
    cls(['lowerAcc', 'upperAcc']) + cls(['start', 'end']) + '[\\p{L}\\p{N}_]',
    '[Œœ][^A-Za-z]',
    cls(['upperAcc']) + '°',
    '[ÂÃÎÐ]' + cls(['start', 'end'], '€œŠš¢£Ÿž\xa0\xad®©°·»–—´'),
    '×[²³]',
    `[ØÙ]${arabic}[ØÙ]${arabic}`,
    'à[²µ¹¼½¾]',
    '√[±∂†≠®™´≤≥¥µø]',
    '≈[°¢]',
    '‚Ä[ìîïòôúùû†°¢π]',
    '‚[âó][àä°ê]',
    'вЂ',
    '[ВГРС]' + cls(['c1', 'bad', 'start', 'end', 'currency'], '°µ') + '[ВГРС]',
    'ГўВЂВ[^\\n][A-Za-z ]',
    'Ã[\xa0¡]',
    `[a-z]${sp}?[ÃÂ] `,
    '^[ÃÂ] ',
    cls(['end'], 'a-z.,?!') + 'Â' + cls(['start', 'end'], ' '),
    'β€[™\xa0Ά\xad®°]',
    '[ΒΓΞΟ]' + cls(['c1', 'bad', 'start', 'end', 'currency'], '°') + '[ΒΓΞΟ]',
    'ā€',
  ].join('|');
}

const BADNESS_RE = new RegExp(badnessPattern(), 'u');

/** ftfy's `is_bad`: does the text contain a sequence that is very likely mojibake? */
export function isBad(text: string): boolean {
  return BADNESS_RE.test(text);
}

// ---------------------------------------------------------------------------------------------
// Mojibake repair (ftfy's fix_encoding)
// ---------------------------------------------------------------------------------------------

/** Characters that UTF-8 lead and continuation bytes turn into under the codecs above. */
const UTF8_CLUES = {
  first2:
    'ĂÂÄĀÅÃÆĆČÇĎĐÉĚÊËĖÈĒĘÐĞĢÍÎÏİÌĪĶĹĻŁŃŇŅÑÓÔÖŐÒŌØÕŘŚŠŞŢÞÚÛÜŰÙŪŲŮÝŹŽŻß×' +
    'ΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΪΫάέήίВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ',
  first3: 'áăâäàāąåãæćčçďéěêëėèēęģíîïìīįķĺļŕźΰαβγδεζηθικλμνξοабвгдежзийклмноп',
  first4: 'đðğóšπσру',
  contStrict: '\x80-¿ĄÆĽŁØŖŚŠŞŤŸŹŽŻŒąæƒľłøŗśšşťźžżœˆˇ˘˛˜˝΄΅ΆΈΉΊΌΎΏЁЂЃЄЅІЇЈЉЊЋЌЎЏёђѓєѕіїјљњћќўџҐґ†‡‰‹›€№™',
  // A space may stand for a lost U+00A0; the dashes, quotes, bullet and ellipsis are common in
  // real text, so only the strict set may precede a match.
  contExtra: ' –—―‘’‚“”„•…',
};

const UTF8_DETECTOR_RE = (() => {
  const { first2, first3, first4, contStrict, contExtra } = UTF8_CLUES;
  const cont = `[${contStrict}${contExtra}]`;
  return new RegExp(
    `(?<![${contStrict}])(?:[${first2}]${cont}|[${first3}]${cont}{2}|[${first4}]${cont}{3})+`,
    'gu',
  );
})();

/** UTF-8 bytes whose 0xA0 continuation became a space (ftfy's ALTERED_UTF8_RE), and "à ". */
const ALTERED_UTF8_RE =
  /[\xc2\xc3\xc5\xce\xd0\xd9] |[\xe2\xe3] [\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf] |\xf0 [\x80-\xbf][\x80-\xbf]|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf][\x80-\xbf] /g;
const ALTERED_UTF8_PRESENT = new RegExp(ALTERED_UTF8_RE.source);
const A_GRAVE_WORD_RE = /\xc3 (?! |quele|quela|quilo|s )/g;

/** UTF-8 sequences partly replaced by U+FFFD (0x1A in the sloppy codecs) or "?". */
const LOSSY_UTF8_RE = new RegExp(
  [
    '[\\xc2-\\xdf][\\x1a]',
    '[\\xc2-\\xc3][?]',
    '\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]',
    '\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]',
    '[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]',
    '[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]',
    '[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]',
    '[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]',
    '[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]',
    '\\x1a',
  ].join('|'),
  'g',
);

function restoreByteA0(bytes: string): string {
  return bytes.replace(A_GRAVE_WORD_RE, '\xc3\xa0 ').replace(ALTERED_UTF8_RE, (m) => m.replace(/ /g, '\xa0'));
}

/** Re-encodes text with one codec and decodes the bytes as UTF-8, or undefined if that fails. */
function tryReencode(text: string, c: Codec): string | undefined {
  let bytes = encodeWith(text, c);
  if (c.name !== 'macroman' && ALTERED_UTF8_PRESENT.test(bytes)) bytes = restoreByteA0(bytes);
  if (c.name.startsWith('sloppy')) bytes = bytes.replace(LOSSY_UTF8_RE, '\xef\xbf\xbd');
  return decodeUtf8Variants(bytes);
}

/** ftfy's `fix_encoding`: repeat single repair steps until the text stops changing. */
export function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingStep(text);
    if (fixed === text) return text;
    text = fixed;
  }
}

const NON_ASCII_RE = /[^\0-\x7f]/;

function fixEncodingStep(text: string): string {
  if (!NON_ASCII_RE.test(text) || !isBad(text)) return text;
  for (const c of CHARMAP_CODECS) {
    if (!canEncode(text, c)) continue;
    const fixed = tryReencode(text, c);
    if (fixed !== undefined) return fixed;
  }
  const partly = decodeInconsistentUtf8(text);
  if (partly !== text) return partly;
  // Latin-1 text that is not Windows-1252 holds C1 controls: read them as Windows-1252. (ftfy's
  // separate Latin-1 branch gives the same result as this general C1 fix.)
  return fixC1Controls(text);
}

/** Fixes mojibake-looking runs one at a time when the whole text has no consistent encoding. */
function decodeInconsistentUtf8(text: string): string {
  return text.replace(UTF8_DETECTOR_RE, (run) =>
    run.length < text.length && isBad(run) ? fixEncoding(run) : run,
  );
}

/** C1 control characters are almost always Windows-1252 bytes read as Latin-1. */
function fixC1Controls(text: string): string {
  return text.replace(/[\x80-\x9f]/g, (ch) => WINDOWS_1252.decode[ch.charCodeAt(0)]);
}

// ---------------------------------------------------------------------------------------------
// The simple fixers
// ---------------------------------------------------------------------------------------------

const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's own entity pass: only complete `&...;` references, plus ALL-CAPS names like `&EACUTE;`. */
function unescapeHtml(text: string): string {
  return text.replace(FTFY_ENTITY_RE, (ref) => {
    if (ref.startsWith('&#')) {
      const value = htmlUnescape(ref);
      return value.includes(';') ? ref : value;
    }
    return exactEntity(ref) ?? upperCaseEntity(ref) ?? ref;
  });
}

/** The character(s) of a named reference that exists exactly as written (with its `;`). */
function exactEntity(ref: string): string | undefined {
  const value = decodeHTMLStrict(ref);
  return value === ref ? undefined : value;
}

/** ftfy also decodes an upper-cased lower-case entity, if Python would not read it otherwise. */
function upperCaseEntity(ref: string): string | undefined {
  const lower = ref.toLowerCase();
  if (lower === ref || lower.toUpperCase() !== ref || htmlUnescape(ref) !== ref) return undefined;
  return exactEntity(lower)?.toUpperCase();
}

// eslint-disable-next-line no-control-regex -- ANSI escapes start with ESC
const TERMINAL_ESCAPE_RE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;

const LIGATURES: Readonly<Record<string, string>> = {
  Ĳ: 'IJ',
  ĳ: 'ij',
  ŉ: 'ʼn',
  Ǳ: 'DZ',
  ǲ: 'Dz',
  ǳ: 'dz',
  Ǆ: 'DŽ',
  ǅ: 'Dž',
  ǆ: 'dž',
  Ǉ: 'LJ',
  ǈ: 'Lj',
  ǉ: 'lj',
  Ǌ: 'NJ',
  ǋ: 'Nj',
  ǌ: 'nj',
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');

/** Full-width forms and half-width katakana/hangul → their NFKC forms; the ideographic space → ' '. */
const WIDTH_MAP: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>([['\u3000', ' ']]);
  for (let cp = 0xff01; cp < 0xfff0; cp++) {
    const ch = String.fromCharCode(cp);
    const alt = ch.normalize('NFKC');
    if (alt !== ch) map.set(ch, alt);
  }
  return map;
})();
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;

// eslint-disable-next-line no-control-regex -- ftfy's list of invisible control characters
const CONTROL_CHARS_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** One pass of ftfy's fixers after the encoding repair, in ftfy's order. */
function fixCharacters(text: string): string {
  text = fixC1Controls(text);
  text = text.replace(LIGATURE_RE, (ch) => LIGATURES[ch]);
  text = text.replace(WIDTH_RE, (ch) => WIDTH_MAP.get(ch) ?? ch);
  text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
  text = text.replace(/\r\n|[\r\u2028\u2029\x85]/g, '\n');
  // A JS string already pairs valid surrogates; the lone ones become U+FFFD as in ftfy.
  text = text.replace(LONE_SURROGATE_RE, '\ufffd');
  text = text.replace(TERMINAL_ESCAPE_RE, '');
  return text.replace(CONTROL_CHARS_RE, '');
}

// ---------------------------------------------------------------------------------------------
// fix_text
// ---------------------------------------------------------------------------------------------

/** Text that no step of ftfy can change: printable ASCII, tab and newline, no '&'. */
const UNCHANGEABLE_RE = /^[\t\n\x20-\x25\x27-\x7e]*$/;
const MAX_SEGMENT = 1_000_000;

/**
 * `ftfy.fix_text(text)` with default settings. Like ftfy, it fixes each line on its own (so one
 * line's mojibake verdict does not spill onto the next), and stops unescaping HTML entities from
 * the first line containing `<` onwards, since that text is probably real HTML.
 */
export function fixText(text: string): string {
  if (UNCHANGEABLE_RE.test(text)) return text;
  let unescape = true;
  let out = '';
  for (const segment of segments(text)) {
    if (segment.includes('<')) unescape = false;
    out += fixSegment(segment, unescape);
  }
  return out;
}

/** Lines including their '\n', cut at a million code points as ftfy does. */
function* segments(text: string): Generator<string> {
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    if (line.length <= MAX_SEGMENT) {
      yield line;
      continue;
    }
    const cps = Array.from(line);
    for (let i = 0; i < cps.length; i += MAX_SEGMENT) yield cps.slice(i, i + MAX_SEGMENT).join('');
  }
}

function fixSegment(text: string, unescape: boolean): string {
  for (;;) {
    const original = text;
    if (unescape) text = unescapeHtml(text);
    text = fixCharacters(fixEncoding(text)).normalize('NFC');
    if (text === original) return text;
  }
}
