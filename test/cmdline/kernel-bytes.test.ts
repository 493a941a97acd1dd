// Both parsers byte for byte: the sh parser's values are printed in hex inside the sandbox, so a
// stray 0xC2 left by a split U+00A0 is compared as the byte it is, not as a decoded U+FFFD.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BOOT_PARAMS } from '../../src/cmdline/params.ts';
import { KERNEL_BLANKS, splitKernelWords } from '../../src/cmdline/parse.ts';
import { Sandbox } from '../initrd-scripts/harness.ts';

interface Case { name: string; cmdline: string }
const cases: Case[] = JSON.parse(readFileSync(new URL('../fixtures/cmdline-cases.json', import.meta.url), 'utf8'));

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));

/** The kernel's next_arg() over bytes, written out plainly as the reference for both parsers. */
function kernelValueBytes(cmdline: Buffer): Map<string, Buffer> {
  const values = new Map<string, Buffer>();
  let i = 0;
  while (i < cmdline.length) {
    while (i < cmdline.length && KERNEL_BLANKS.has(cmdline[i]!)) i++;
    if (i >= cmdline.length) break;
    const word: number[] = [];
    let quoted = false;
    for (; i < cmdline.length && (quoted || !KERNEL_BLANKS.has(cmdline[i]!)); i++) {
      if (cmdline[i] === 0x22) quoted = !quoted;
      else word.push(cmdline[i]!);
    }
    const text = Buffer.from(word);
    if (text.toString('latin1') === '--') break;
    const eq = text.indexOf(0x3d);
    const name = (eq < 0 ? text : text.subarray(0, eq)).toString('latin1').replaceAll('-', '_');
    const param = BOOT_PARAMS.find((p) => p.name === name || p.aliases?.includes(name));
    if (param && param.type !== 'flag' && param.name !== 'initrddebug') values.set(param.name, eq < 0 ? Buffer.alloc(0) : text.subarray(eq + 1));
  }
  return values;
}

function shValueBytes(cmdline: string): Map<string, Buffer> {
  const sb = new Sandbox({ cmdline });
  sandboxes.push(sb);
  const print = BOOT_PARAMS.map((p) => `printf '%s ' ${p.name}; printf '%s' "$RAM_${p.shVar}" | od -An -tx1 | tr -d ' \\n'; echo`).join('\n');
  const r = sb.run(`ram_load_params\n${print}`);
  assert.equal(r.status, 0, r.output);
  const values = new Map<string, Buffer>();
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [name, hex = ''] = line.split(' ');
    values.set(name!, Buffer.from(hex, 'hex'));
  }
  return values;
}

const byteCases = cases.filter((c) => /[^\x20-\x7e]/.test(c.cmdline));
test('the fixture has cases beyond printable ASCII', () => assert.ok(byteCases.length >= 4, String(byteCases.length)));

for (const c of byteCases) {
  test(`sh, TS and the kernel's next_arg agree byte for byte: ${c.name}`, () => {
    const kernel = kernelValueBytes(Buffer.from(c.cmdline, 'utf8'));
    const sh = shValueBytes(c.cmdline);
    for (const [name, bytes] of kernel) assert.equal(sh.get(name)?.toString('hex'), bytes.toString('hex'), `sh ${name}`);
    // The TS side decodes each word; re-encoding gives back the kernel's bytes except a stray
    // byte, which becomes U+FFFD (EF BF BD): compare after mapping the same way.
    const tsWords = splitKernelWords(c.cmdline);
    for (const [name, bytes] of kernel) {
      const decoded = bytes.toString('utf8');
      assert.ok(tsWords.some((w) => w.endsWith(`=${decoded}`) || (decoded === '' && w === name)), `TS ${name}=${JSON.stringify(decoded)} in ${JSON.stringify(tsWords)}`);
    }
  });
}

test('U+00A0 leaves its 0xC2 on the word before; U+2003 and U+3000 never split', () => {
  assert.deepEqual(splitKernelWords('a\u00a0b c\u2003d e\u3000f'), ['a\ufffd', 'b', 'c\u2003d', 'e\u3000f']);
  assert.deepEqual(shValueBytes('init=/x\u00a0ip=y').get('init')?.toString('hex'), Buffer.from('/x\xc2', 'latin1').toString('hex'));
});
