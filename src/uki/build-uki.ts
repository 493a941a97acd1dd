// `ramboot build --uki`: ramboot.efi, one EFI executable holding the set's kernel, initrd and
// command line (assemble-uki.ts), optionally signed for Secure Boot (sign-uki.ts). The stub is
// the build host's systemd-stub (Debian: systemd-boot-efi) or --uki-stub FILE; it is data here,
// never run. .osrel is the target root's os-release, read inside the root (root-path.ts).
import { existsSync } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Arch } from '../elf/machine.js';
import { inputError, usageError } from '../errors.js';
import { RootResolver } from '../rootfs/root-path.js';
import { sourceDateEpoch } from '../util/source-date-epoch.js';
import { assembleUki } from './assemble-uki.js';
import { parsePe } from './pe-file.js';
import { signUki } from './sign-uki.js';
import { UKI_STUBS, checkStubMachine, resolveUkiStub } from './uki-stub.js';

/** Debian 12's systemd-boot-efi puts the x86-64 stub here (uki-stub.ts: the stub per architecture). */
export const DEFAULT_UKI_STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';

export interface UkiOptions {
  /** systemd-stub to build on; default DEFAULT_UKI_STUB. */
  stub?: string;
  /** Words added to cmdline.txt in .cmdline only (with Secure Boot the stub ignores any other). */
  append?: string;
  signKey?: string;
  signCert?: string;
}

export interface UkiInputs {
  root: string;
  kver: string;
  vmlinuz: string;
  initrd: string;
  cmdline: string;
}

/** The command line the UKI carries: the set's, plus --uki-append. */
export const ukiCmdline = (cmdline: string, opts: UkiOptions) => (opts.append ? `${cmdline} ${opts.append.trim()}` : cmdline);

/** Before any work, what needs no architecture: the command line, the flags that go together,
 * the stub given with --uki-stub (else the amd64 default, when installed) as a PE the layout
 * takes, and when signing, sbsign installed and the key matching the certificate (by signing the
 * bare stub once). checkUkiStub checks the set's own stub once its architecture is known. */
export async function checkUkiOptions(opts: UkiOptions, cmdline: string): Promise<void> {
  // x86 and arm64 keep 2048 bytes of command line, the NUL included (docs/facts.md, "Kernel command line").
  const line = ukiCmdline(cmdline, opts);
  if (/[\0\n]/.test(line) || Buffer.byteLength(line) > 2047) {
    throw usageError(`the UKI's command line (cmdline.txt + --uki-append) is ${Buffer.byteLength(line)} bytes or holds a newline; the kernel keeps one line of up to 2047`, 'shorten --uki-append');
  }
  if ((opts.signKey === undefined) !== (opts.signCert === undefined)) {
    throw usageError('--sign-key and --sign-cert go together', 'give both the private key and its certificate (PEM)');
  }
  const stub = opts.stub ?? DEFAULT_UKI_STUB;
  if (opts.stub === undefined && !existsSync(stub)) return;
  checkStubLayout(await readStub(stub, opts, 'amd64'), stub);
  await checkSigning(opts, stub);
}

/** The set's stub for `arch` (uki-stub.ts): there, of that machine, a PE the layout takes, and
 * signable with the key when checkUkiOptions signed another. Returns its path, for writeUki. */
export async function checkUkiStub(opts: UkiOptions, arch: Arch): Promise<string> {
  const stub = await resolveUkiStub(opts.stub, arch);
  const bytes = await readStub(stub, opts, arch);
  checkStubLayout(bytes, stub);
  checkStubMachine(parsePe(bytes, `UKI stub ${stub}`).machine, arch, stub);
  if (stub !== (opts.stub ?? DEFAULT_UKI_STUB)) await checkSigning(opts, stub);
  return stub;
}

function readStub(stub: string, opts: UkiOptions, arch: Arch): Promise<Buffer> {
  return readFile(stub).catch(() => {
    throw inputError(`UKI stub ${stub} not found`, opts.stub ? `give the path of systemd-stub (${UKI_STUBS[arch].file})` : `apt-get install systemd-boot-efi:${arch}, or give --uki-stub FILE`);
  });
}

function checkStubLayout(bytes: Buffer, stub: string): void {
  assembleUki(bytes, { linux: Buffer.alloc(0), initrd: Buffer.alloc(0), cmdline: '', osrel: '', uname: '' }, { timestamp: 0, stubName: `UKI stub ${stub}` });
}

async function checkSigning(opts: UkiOptions, stub: string): Promise<void> {
  if (opts.signKey === undefined || opts.signCert === undefined) return;
  for (const [flag, path] of [['--sign-key', opts.signKey], ['--sign-cert', opts.signCert]] as const) {
    await access(path).catch(() => Promise.reject(usageError(`${flag} ${path} does not exist`, `give the path of a PEM file`)));
  }
  const tmp = await mkdtemp(join(tmpdir(), 'ramboot-sign-check-'));
  try {
    await signUki(stub, join(tmp, 'stub.efi'), opts.signKey, opts.signCert);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The target root's os-release (/etc/os-release, else /usr/lib/os-release), for .osrel. */
export async function readRootOsRelease(root: string): Promise<string> {
  const resolver = new RootResolver(root);
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    const entry = await resolver.lookup(path);
    if (entry?.stat.isFile()) return readFile(entry.hostPath, 'utf8');
  }
  // The stub only shows and measures .osrel; a root without one still boots.
  return 'NAME="ramboot image"\nID=ramboot\n';
}

/** Write the UKI to `out` (a staging path), signed when a key is given. */
export async function writeUki(inputs: UkiInputs, opts: UkiOptions, out: string): Promise<void> {
  const stub = opts.stub ?? DEFAULT_UKI_STUB;
  const uki = assembleUki(
    await readFile(stub),
    {
      linux: await readFile(inputs.vmlinuz),
      initrd: await readFile(inputs.initrd),
      cmdline: ukiCmdline(inputs.cmdline, opts),
      osrel: await readRootOsRelease(inputs.root),
      uname: inputs.kver,
    },
    { timestamp: sourceDateEpoch(), stubName: `UKI stub ${stub}` },
  );
  if (opts.signKey === undefined || opts.signCert === undefined) {
    await writeFile(out, uki);
    return;
  }
  const unsigned = `${out}.unsigned`;
  await writeFile(unsigned, uki);
  try {
    await signUki(unsigned, out, opts.signKey, opts.signCert);
  } finally {
    await rm(unsigned, { force: true });
  }
}
