// Names from an archive are bytes chosen by whoever made it. Printed raw, a name can hide
// itself, fake other lines (a newline), or drive the terminal (ESC [ ... sequences). Shown to a
// human, names are escaped the way GNU `ls -b` escapes them: C escapes for \a \b \t \n \v \f \r,
// backslash doubled, and octal \ooo for every other control or formatting character (ESC is
// \033, the C1 controls and bidi overrides too) and for each byte that is not valid UTF-8.
// Machine output (--json) keeps names lossless instead, see jsonName().

const C_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 92: '\\\\' };
/** Control (Cc), format (Cf: bidi overrides, zero-width), line and paragraph separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const decoder = new TextDecoder('utf-8', { fatal: true });

export function escapeName(bytes: Buffer): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += C_ESCAPES[b] ?? (b < 0x20 || b === 0x7f ? octal(b) : String.fromCharCode(b));
      i++;
      continue;
    }
    const n = utf8Length(bytes, i);
    if (n === 0) {
      out += octal(b);
      i++;
      continue;
    }
    const ch = bytes.toString('utf8', i, i + n);
    out += UNSAFE.test(ch) ? [...bytes.subarray(i, i + n)].map(octal).join('') : ch;
    i += n;
  }
  return out;
}

/** Bytes of the well-formed UTF-8 sequence starting at i, or 0 when it is not one. */
function utf8Length(bytes: Buffer, i: number): number {
  const b = bytes[i]!;
  const n = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > bytes.length) return 0;
  try {
    decoder.decode(bytes.subarray(i, i + n));
    return n;
  } catch {
    return 0;
  }
}

function octal(b: number): string {
  return `\\${b.toString(8).padStart(3, '0')}`;
}

export function isUtf8Name(bytes: Buffer): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * A name in JSON output: `{ [key]: "text" }` when the bytes are valid UTF-8 (JSON escapes any
 * control characters itself), else `{ [key]: escaped, [key + 'Base64']: base64 of the bytes }`,
 * so a consumer always has the exact bytes and a printable form.
 */
export function jsonName(key: string, bytes: Buffer): Record<string, string> {
  if (isUtf8Name(bytes)) return { [key]: bytes.toString('utf8') };
  return { [key]: escapeName(bytes), [`${key}Base64`]: bytes.toString('base64') };
}
