// pax extended header records, read as bytes (POSIX pax, "pax Extended Header":
// https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_03).
// Record format: "<len> <key>=<value>\n", len counting the whole record. Values stay Buffers:
// an xattr value is binary (security.capability) and a path need not be UTF-8.
import { ExtractError } from '../unpack/problems.js';

/** "<len> <key>=<value>\n" records -> key -> raw value bytes; a string is the parse error. */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> | string {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, at);
    const len = space > at ? Number(data.toString('latin1', at, space)) : NaN;
    if (!Number.isInteger(len) || len <= space - at + 2 || at + len > data.length || data[at + len - 1] !== 0x0a) {
      return `malformed pax record at offset ${at} of its header`;
    }
    const eq = data.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= at + len - 1) return `pax record at offset ${at} has no '='`;
    records.set(data.toString('utf8', space + 1, eq), Buffer.from(data.subarray(eq + 1, at + len - 1)));
    at += len;
  }
  return records;
}

/** A numeric record (uid, gid, mtime with its fraction), or undefined when absent. A value that
 * is no decimal number is an error, not a NaN owner or time. */
export function paxNumber(records: Map<string, Buffer>, key: string, where: string): number | undefined {
  const raw = records.get(key);
  if (raw === undefined) return undefined;
  const text = raw.toString('latin1');
  if (!/^-?\d{1,20}(\.\d*)?$/.test(text)) throw new ExtractError('E-CORRUPT', `${where} has a pax ${key} record '${text}' that is not a number`);
  return Number(text);
}

/** SCHILY.xattr.NAME (GNU tar, star, Go's archive/tar) is the raw value; LIBARCHIVE.xattr.NAME
 * (bsdtar) has a %-encoded name and a base64 value. */
export function readXattrs(records: Map<string, Buffer>, where: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const [key, value] of records) {
    let name: string;
    let bytes: Buffer;
    if (key.startsWith('SCHILY.xattr.')) {
      name = key.slice('SCHILY.xattr.'.length);
      bytes = value;
    } else if (key.startsWith('LIBARCHIVE.xattr.')) {
      try {
        name = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
      } catch {
        throw new ExtractError('E-CORRUPT', `${where} has a malformed xattr record '${key}'`);
      }
      bytes = Buffer.from(value.toString('latin1'), 'base64');
    } else continue;
    // setfattr's dump format is "name=0xHEX" per line: a name with '=' or a control byte in it
    // could not be written there unambiguously, and Linux has no such xattr namespaces anyway.
    if (!/^[\x21-\x3c\x3e-\x7e]{1,255}$/.test(name)) throw new ExtractError('E-CORRUPT', `${where} has an xattr with an invalid name '${name}'`);
    out.push([name, bytes]);
  }
  return out;
}
