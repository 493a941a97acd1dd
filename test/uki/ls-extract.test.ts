// `ramboot ls` and `ramboot extract` of a UKI (src/uki/read-uki.ts, render-uki.ts,
// extract-uki.ts): on a ramboot.efi that `ramboot build --uki` wrote, ls shows the PE sections
// (with the text of .cmdline, .osrel, .uname) and then exactly what `ls initrd.img` shows for
// the set's initrd; extract writes the sections as the set's files and the initrd's tree under
// DIR/initrd, the same tree `extract initrd.img` gives. A PE that is not a UKI and a cut copy are
// one error line each, before anything is written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_UKI_STUB } from '../../src/uki/build-uki.ts';
import { parsePe } from '../../src/uki/pe-file.ts';
import { makeRoot, ramboot, smallRootfsExcludes, tempWork } from '../image-set/helpers.ts';
import { skipWithout } from '../support/require-tool.ts';

const skip = skipWithout('test', ['-f', DEFAULT_UKI_STUB], 'apt-get install systemd-boot-efi');

let work: string;
let root: string;
let out: string;
let efi: string;

before(async () => {
  if (skip) return;
  work = tempWork('ramboot-uki-ls-');
  root = await makeRoot(work, 'ukils');
  // Several lines, so ls shows how the lines after the first are laid out.
  writeFileSync(join(root, 'etc/os-release'), 'PRETTY_NAME="Test OS 1 (ls)"\nID=testos\nVERSION_ID=1\n');
  out = join(work, 'out');
  const r = ramboot('build', '--root', root, '--out', out, '--uki', '--uki-append', 'console=ttyS0', '--rooturl', 'rootfs.squashfs', '--exclude-file', smallRootfsExcludes(work));
  assert.equal(r.status, 0, r.stderr);
  efi = join(out, 'ramboot.efi');
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The root's os-release, as build --uki reads it for .osrel. */
function osRelease(): string {
  const path = ['etc/os-release', 'usr/lib/os-release'].map((p) => join(root, p)).find((p) => existsSync(p));
  assert.ok(path, 'the demo root has an os-release');
  return readFileSync(path, 'utf8');
}

/** Every path under dir (relative) with its type and content hash or link target. */
function tree(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(dir, rel));
    if (st.isDirectory()) {
      out.set(rel, `dir ${(st.mode & 0o7777).toString(8)}`);
      for (const [k, v] of tree(dir, rel)) out.set(k, v);
    } else if (st.isSymbolicLink()) out.set(rel, `-> ${readlinkSync(join(dir, rel))}`);
    else out.set(rel, `${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(join(dir, rel))).digest('hex')}`);
  }
  return out;
}

test('ls: the sections with their text, then the initrd exactly as ls initrd.img lists it', { skip }, () => {
  const r = ramboot('ls', efi);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const size = readFileSync(efi).length;
  assert.equal(lines[0], `${efi}: unified kernel image, x86-64, ${size} bytes, unsigned`);
  const cmdline = `${readFileSync(join(out, 'cmdline.txt'), 'utf8').trim()} console=ttyS0`;
  const section = (name: string) => lines.find((l) => l.startsWith(`  ${name} `)) ?? assert.fail(`no ${name} line:\n${r.stdout.slice(0, 2000)}`);
  assert.match(section('.cmdline'), new RegExp(` ${cmdline.length} at 0x[0-9a-f]{8}  ${cmdline.replaceAll('.', '\\.')}$`));
  assert.match(section('.uname'), /  6\.\d+\.\d+-\d+-cloud-amd64$/);
  assert.match(section('.linux'), new RegExp(`^ {2}\\.linux +${readFileSync(join(out, 'vmlinuz')).length} at 0x[0-9a-f]{8}$`));
  assert.match(section('.initrd'), new RegExp(`^ {2}\\.initrd +${readFileSync(join(out, 'initrd.img')).length} at `));
  assert.match(section('.text'), /^ {2}\.text +\d+ at 0x/, 'the stub\'s own sections are listed too');
  // os-release: its first line on the section's line, the next ones aligned under it.
  const osrel = osRelease().trim().split('\n');
  const at = lines.indexOf(section('.osrel'));
  assert.ok(lines[at]!.endsWith(`  ${osrel[0]}`));
  if (osrel.length > 1) assert.equal(lines[at + 1]!.trim(), osrel[1]);

  // After the ".initrd:" line: byte for byte what ls of the set's initrd.img prints after its head.
  const initrd = ramboot('ls', join(out, 'initrd.img'));
  assert.equal(initrd.status, 0, initrd.stderr);
  const start = lines.findIndex((l) => l.startsWith('.initrd: '));
  assert.match(lines[start]!, /^\.initrd: \d+ bytes at byte \d+$/);
  assert.equal(lines.slice(start + 1).join('\n'), initrd.stdout.split('\n').slice(1).join('\n'));
  assert.match(r.stdout, /^ {2}-rwxr-xr-x 0\/0 +\d+ [\d-]+ [\d:]+ init$/m);
});

test('ls --json: kind uki, sections with text, the initrd\'s entries and segments', { skip }, () => {
  const r = ramboot('ls', '--json', efi);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const plain = JSON.parse(ramboot('ls', '--json', join(out, 'initrd.img')).stdout);
  assert.equal(j.kind, 'uki');
  assert.equal(j.machine, 'x86-64');
  assert.equal(j.signatureSize, 0);
  const byName = new Map<string, any>(j.sections.map((s: any) => [s.name, s]));
  assert.match(byName.get('.uname').text, /^6\.\d+\.\d+-\d+-cloud-amd64$/);
  assert.equal(byName.get('.cmdline').text, `${readFileSync(join(out, 'cmdline.txt'), 'utf8').trim()} console=ttyS0`);
  assert.equal(byName.get('.osrel').text, osRelease());
  assert.equal(byName.get('.initrd').size, readFileSync(join(out, 'initrd.img')).length);
  assert.deepEqual(j.initrd, { offset: byName.get('.initrd').offset, length: byName.get('.initrd').size });
  assert.deepEqual(j.entries, plain.entries);
  assert.deepEqual(j.segments, plain.segments);
});

test('extract: the sections as the set\'s files, the initrd\'s tree under DIR/initrd as extract initrd.img gives it', { skip }, () => {
  const dir = join(work, 'x-uki');
  const r = ramboot('extract', efi, dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /entries from the UKI's initrd \(1 segment\) into .*\/initrd, and .*vmlinuz/);
  assert.ok(readFileSync(join(dir, 'vmlinuz')).equals(readFileSync(join(out, 'vmlinuz'))), 'vmlinuz is .linux');
  assert.ok(readFileSync(join(dir, 'initrd.img')).equals(readFileSync(join(out, 'initrd.img'))), 'initrd.img is .initrd');
  assert.equal(readFileSync(join(dir, 'cmdline.txt'), 'utf8'), `${readFileSync(join(out, 'cmdline.txt'), 'utf8').trim()} console=ttyS0`);
  assert.equal(readFileSync(join(dir, 'os-release'), 'utf8'), osRelease());
  assert.match(readFileSync(join(dir, 'uname.txt'), 'utf8'), /^6\.\d+\.\d+-\d+-cloud-amd64$/);
  assert.deepEqual(readdirSync(dir).sort(), ['cmdline.txt', 'initrd', 'initrd.img', 'os-release', 'sbat.csv', 'uname.txt', 'vmlinuz'], 'the stub\'s code sections are not written');
  const plain = join(work, 'x-initrd');
  assert.equal(ramboot('extract', join(out, 'initrd.img'), plain).status, 0);
  const a = tree(join(dir, 'initrd'));
  assert.ok(a.has('init') && a.has('etc/ram.conf'), `the ram script and its contract: ${[...a.keys()].slice(0, 20).join(' ')}`);
  assert.deepEqual(a, tree(plain));
});

test('bad input: a PE that is no UKI and a cut or damaged UKI are one error line, and nothing is written', { skip }, () => {
  const bytes = readFileSync(efi);
  const pe = parsePe(bytes);
  const cases: [string, Buffer, RegExp][] = [
    ['stub.efi', readFileSync(DEFAULT_UKI_STUB), /stub\.efi is a PE image without \.linux and \.initrd sections: not a unified kernel image \(hint: .*ramboot build --uki/],
    ['cut.efi', bytes.subarray(0, Math.floor(bytes.length / 2)), /cut\.efi: section \.linux runs to byte \d+, past the end of the file \(\d+ bytes\): truncated \(hint: copy or download the file again\)/],
  ];
  // .initrd renamed in the section table: a PE with a kernel but no initrd.
  const renamed = Buffer.from(bytes);
  renamed.write('.initrX', pe.sections.find((s) => s.name === '.initrd')!.headerOffset, 'latin1');
  cases.push(['noinitrd.efi', renamed, /noinitrd\.efi is a PE image without \.initrd section: not a unified kernel image/]);
  // .initrd's bytes overwritten: a UKI whose initrd is not one.
  const garbage = Buffer.from(bytes);
  const initrd = pe.sections.find((s) => s.name === '.initrd')!;
  garbage.fill(0x41, initrd.pointerToRawData, initrd.pointerToRawData + 64);
  cases.push(['garbage.efi', garbage, /garbage\.efi: not an initrd or squashfs image \(first bytes 4141414141414141 at byte 0\)/]);
  for (const [name, data, message] of cases) {
    const path = join(work, name);
    writeFileSync(path, data);
    for (const args of [['ls', path], ['extract', path, join(work, `x-${name}`)]]) {
      const r = ramboot(...args);
      assert.notEqual(r.status, 0, `${args.join(' ')} fails`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'nothing listed');
    }
    // The PE checks run before the target is made; only an initrd that fails to unpack leaves
    // the (empty-initrd) directory as any failed extraction does.
    if (name !== 'garbage.efi') assert.equal(existsSync(join(work, `x-${name}`)), false, `${name}: no target directory made`);
  }
});
