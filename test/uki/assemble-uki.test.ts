// The UKI layout (src/uki/assemble-uki.ts) on Debian's real systemd-stub: the five sections are
// added after the stub's own, page-aligned, non-overlapping, with SizeOfImage covering them, the
// stub's own sections byte for byte where they were in memory, the file bytes reproducible, and
// objdump (binutils' PE reader) agreeing with ours section by section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assembleUki, type UkiParts } from '../../src/uki/assemble-uki.ts';
import { DEFAULT_UKI_STUB } from '../../src/uki/build-uki.ts';
import { OPT, alignUp, parsePe, peChecksum, sectionData } from '../../src/uki/pe-file.ts';
import { RambootError } from '../../src/errors.ts';
import { skipWithout } from '../support/require-tool.ts';

const skip = skipWithout('test', ['-f', DEFAULT_UKI_STUB], 'apt-get install systemd-boot-efi') || skipWithout('objdump', ['--version'], 'apt-get install binutils');

const parts = (): UkiParts => ({
  // Odd sizes, so padding to FileAlignment and page-aligned RVAs are both exercised.
  linux: randomBytes(3 * 1024 * 1024 + 77),
  initrd: randomBytes(700_001),
  cmdline: 'boot=ram ip=dhcp panic=10 console=ttyS0',
  osrel: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
  uname: '6.1.0-57-cloud-amd64',
});

test('the five sections follow the stub\'s, aligned, non-overlapping, inside SizeOfImage', { skip }, () => {
  const stub = readFileSync(DEFAULT_UKI_STUB);
  const p = parts();
  const uki = assembleUki(stub, p, { timestamp: 1_700_000_000 });
  const pe = parsePe(uki);
  const before = parsePe(stub);
  assert.deepEqual(pe.sections.map((s) => s.name), [...before.sections.map((s) => s.name), '.osrel', '.cmdline', '.uname', '.initrd', '.linux']);
  const added = pe.sections.slice(before.sections.length);
  for (const s of added) {
    assert.equal(s.virtualAddress % 4096, 0, `${s.name} RVA page aligned`);
    assert.equal(s.virtualAddress % pe.sectionAlignment, 0, `${s.name} RVA a multiple of SectionAlignment`);
    assert.equal(s.pointerToRawData % pe.fileAlignment, 0, `${s.name} file offset a multiple of FileAlignment`);
    assert.equal(s.sizeOfRawData % pe.fileAlignment, 0, `${s.name} raw size a multiple of FileAlignment`);
    assert.ok(s.sizeOfRawData >= s.virtualSize, `${s.name} raw data holds the whole section`);
    assert.equal(s.characteristics, 0x40000040, `${s.name} initialized read-only data`);
  }
  const text = (name: string) => sectionData(uki, pe.sections.find((s) => s.name === name)!);
  assert.ok(text('.linux').equals(p.linux));
  assert.ok(text('.initrd').equals(p.initrd));
  assert.equal(text('.cmdline').toString(), p.cmdline);
  assert.equal(text('.osrel').toString(), p.osrel);
  assert.equal(text('.uname').toString(), p.uname);

  // In memory: sorted by RVA, none overlaps the next, the headers end before the first.
  const byRva = [...pe.sections].sort((a, b) => a.virtualAddress - b.virtualAddress);
  assert.ok(pe.sizeOfHeaders <= byRva[0]!.virtualAddress);
  for (let i = 1; i < byRva.length; i++) {
    const prev = byRva[i - 1]!;
    // A loader maps VirtualSize bytes (raw data past it is file padding: the stub's own .sbat has
    // 0x200 raw bytes but 0xe2 in memory, and .sdmagic starts at +0x100).
    assert.ok(prev.virtualAddress + (prev.virtualSize || prev.sizeOfRawData) <= byRva[i]!.virtualAddress, `${prev.name} ends before ${byRva[i]!.name}`);
  }
  // In the file: no two sections share bytes, and the file ends with the last one.
  const byOffset = [...pe.sections].sort((a, b) => a.pointerToRawData - b.pointerToRawData);
  for (let i = 1; i < byOffset.length; i++) assert.ok(byOffset[i - 1]!.pointerToRawData + byOffset[i - 1]!.sizeOfRawData <= byOffset[i]!.pointerToRawData);
  assert.equal(uki.length, byOffset.at(-1)!.pointerToRawData + byOffset.at(-1)!.sizeOfRawData);
  const last = byRva.at(-1)!;
  assert.equal(pe.sizeOfImage, alignUp(last.virtualAddress + last.virtualSize, pe.sectionAlignment));

  // The stub's own sections: same RVAs, sizes and bytes.
  for (const [i, s] of before.sections.entries()) {
    const now = pe.sections[i]!;
    assert.deepEqual([now.virtualAddress, now.virtualSize, now.sizeOfRawData], [s.virtualAddress, s.virtualSize, s.sizeOfRawData], s.name);
    assert.ok(sectionData(uki, now).equals(sectionData(stub, s)), `${s.name} bytes kept`);
  }
  assert.equal(pe.timeDateStamp, 1_700_000_000);
  assert.equal(pe.checkSum, peChecksum(uki, pe.optionalOffset + OPT.checkSum));
  assert.equal(pe.dataDirectories[4]!.size, 0, 'no certificate table until sbsign adds one');
});

test('objdump reads the same sections, VMAs and sizes as our reader', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'ramboot-uki-'));
  try {
    const uki = assembleUki(readFileSync(DEFAULT_UKI_STUB), parts(), { timestamp: 0 });
    writeFileSync(join(work, 'u.efi'), uki);
    const dump = execFileSync('objdump', ['-h', join(work, 'u.efi')], { encoding: 'utf8' });
    // "  8 .osrel  0000002d  000000000001a000  000000000001a000  00011400  2**2"
    const rows = [...dump.matchAll(/^\s*\d+\s+(\S+)\s+([0-9a-f]{8})\s+([0-9a-f]{16})\s+[0-9a-f]{16}\s+([0-9a-f]{8})/gm)].map((m) => [m[1], parseInt(m[2]!, 16), parseInt(m[3]!, 16), parseInt(m[4]!, 16)]);
    const pe = parsePe(uki);
    assert.deepEqual(rows, pe.sections.map((s) => [s.name, s.virtualSize, s.virtualAddress, s.pointerToRawData]));
    const header = execFileSync('objdump', ['-p', join(work, 'u.efi')], { encoding: 'utf8' });
    assert.match(header, new RegExp(`SizeOfImage\\s+0*${pe.sizeOfImage.toString(16)}\\n`));
    assert.match(header, /Subsystem\s+0000000a\s+\(EFI application\)/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('reproducible: the same inputs give the same bytes; SOURCE_DATE_EPOCH only moves the timestamp and checksum', { skip }, () => {
  const stub = readFileSync(DEFAULT_UKI_STUB);
  const p = parts();
  const a = assembleUki(stub, p, { timestamp: 0 });
  assert.ok(a.equals(assembleUki(stub, p, { timestamp: 0 })));
  const b = assembleUki(stub, p, { timestamp: 1_234_567_890 });
  const pe = parsePe(a);
  const differing = [...a.keys()].filter((i) => a[i] !== b[i]);
  const timestampAt = pe.coffOffset + 4;
  const checksumAt = pe.optionalOffset + OPT.checkSum;
  assert.ok(differing.length > 0);
  assert.ok(differing.every((i) => (i >= timestampAt && i < timestampAt + 4) || (i >= checksumAt && i < checksumAt + 4)), `bytes ${differing.join(',')}`);
});

test('a stub that is not a PE, or already a UKI, is a one-line error', { skip }, () => {
  const stub = readFileSync(DEFAULT_UKI_STUB);
  const p = parts();
  assert.throws(() => assembleUki(Buffer.from('#!/bin/sh\necho not efi\n'.padEnd(200)), p, { timestamp: 0, stubName: 'stub.sh' }), (e: unknown) =>
    e instanceof RambootError && /^stub\.sh is not a PE image: no MZ header \(hint: .+\)$/.test(e.toLine()));
  const uki = assembleUki(stub, p, { timestamp: 0 });
  assert.throws(() => assembleUki(uki, p, { timestamp: 0, stubName: 'ramboot.efi' }), (e: unknown) =>
    e instanceof RambootError && /^ramboot\.efi already has a \.osrel section \(is it a UKI already\?\) \(hint: .+\)$/.test(e.toLine()));
});
