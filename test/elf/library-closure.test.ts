// The loader's search order on made-up roots (test/elf/make-elf.ts): RPATH of the loader chain,
// RUNPATH of the requester only, $ORIGIN/$LIB, ld.so.conf includes, the default directories,
// libraries of another machine skipped, missing ones an error naming binary and library. Then
// packing: symlinks kept as symlinks with their targets, merged-/usr directory links flattened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LibraryResolver } from '../../src/elf/library-closure.ts';
import { addBinaries, renderBinaryReport } from '../../src/initrd/add-binaries.ts';
import { InitrdPlan } from '../../src/initrd/plan.ts';
import { parseHook } from '../../src/hooks/hook.ts';
import { RootResolver } from '../../src/rootfs/root-path.ts';
import { makeElf, type FakeElf } from './make-elf.ts';

type Tree = Record<string, FakeElf | string | { link: string }>;
const LD = '/lib64/ld-linux-x86-64.so.2';

function makeRoot(tree: Tree): string {
  const root = mkdtempSync(join(tmpdir(), 'ramboot-elf-'));
  for (const [path, what] of Object.entries(tree)) {
    const host = join(root, path);
    mkdirSync(dirname(host), { recursive: true });
    if (typeof what === 'string') writeFileSync(host, what);
    else if ('link' in what) symlinkSync(what.link, host);
    else writeFileSync(host, makeElf(what), { mode: 0o755 });
  }
  return root;
}

const base: Tree = {
  [LD]: { soname: 'ld-linux-x86-64.so.2' },
  '/lib/x86_64-linux-gnu/libc.so.6': { soname: 'libc.so.6', needed: ['ld-linux-x86-64.so.2'] },
  '/etc/ld.so.conf': '# site libraries\ninclude conf.d/*.conf\ninclude /etc/ld.so.conf\n',
  '/etc/conf.d/site.conf': '/opt/site/lib\n',
  '/etc/conf.d/notes.txt': '/opt/not-a-conf\n',
};

const searchTree: Tree = {
  ...base,
  '/usr/bin/app': { interp: LD, needed: ['liba.so.1', 'libb.so.1', 'libc.so.6'], rpath: '$ORIGIN/../lib/app' },
  '/usr/lib/app/liba.so.1': { needed: ['libd.so.1'] },
  '/lib/x86_64-linux-gnu/liba.so.1': {},
  '/usr/lib/app/libd.so.1': {},
  '/usr/lib/app/libb.so.1': { machine: 183 },
  '/opt/not-a-conf/libb.so.1': {},
  '/opt/site/lib/libb.so.1': { runpath: '$ORIGIN/private', needed: ['libe.so.1', 'libd.so.1'] },
  '/opt/site/lib/private/libe.so.1': { needed: ['libf.so.1', 'libg.so.1'], runpath: '/opt/$LIB' },
  '/opt/site/lib/private/libf.so.1': {},
  '/opt/lib/x86_64-linux-gnu/libg.so.1': {},
};

test('search order: RPATH up the loader chain, RUNPATH of the requester only, ld.so.conf includes, defaults', async (t) => {
  const root = makeRoot(searchTree);
  t.after(() => rmSync(root, { recursive: true }));
  const resolver = new LibraryResolver(new RootResolver(root));
  // libf is only in libb's RUNPATH dir: RUNPATH is not inherited by what libb loads.
  await assert.rejects(resolver.resolve('/usr/bin/app'), {
    message: 'binary /usr/bin/app needs library libf.so.1 (needed by /opt/site/lib/private/libe.so.1), which the root does not have',
  });
  writeFileSync(join(root, 'lib/x86_64-linux-gnu/libf.so.1'), makeElf({}));
  const objects = await new LibraryResolver(new RootResolver(root)).resolve('/usr/bin/app');
  assert.deepEqual(
    objects.map((o) => [o.path, o.neededBy]),
    [
      ['/usr/bin/app', undefined],
      [LD, '/usr/bin/app'],
      ['/usr/lib/app/liba.so.1', '/usr/bin/app'], // RPATH $ORIGIN before the default dirs
      ['/opt/site/lib/libb.so.1', '/usr/bin/app'], // aarch64 libb in the RPATH dir skipped; ld.so.conf.d/*.conf only
      ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/app'], // its NEEDED ld-linux is the interpreter
      ['/usr/lib/app/libd.so.1', '/usr/lib/app/liba.so.1'], // the executable's RPATH serves liba's needs
      ['/opt/site/lib/private/libe.so.1', '/opt/site/lib/libb.so.1'], // RUNPATH $ORIGIN
      ['/lib/x86_64-linux-gnu/libf.so.1', '/opt/site/lib/private/libe.so.1'],
      ['/opt/lib/x86_64-linux-gnu/libg.so.1', '/opt/site/lib/private/libe.so.1'], // $LIB
    ],
  );
});

test('a binary that is missing or no ELF file is an error naming it', async (t) => {
  const root = makeRoot({ ...base, '/usr/bin/script': '#!/bin/sh\n' });
  t.after(() => rmSync(root, { recursive: true }));
  const resolver = new LibraryResolver(new RootResolver(root));
  await assert.rejects(resolver.resolve('/usr/bin/nothere'), /binary \/usr\/bin\/nothere is not in the root/);
  await assert.rejects(resolver.resolve('/usr/bin/script'), /binary \/usr\/bin\/script is not an ELF executable/);
});

test('packing keeps symlinks (link and target), flattens merged-/usr directory links, names who pulled each file', async (t) => {
  const root = makeRoot({
    '/lib': { link: 'usr/lib' },
    '/lib64': { link: 'usr/lib64' },
    '/usr/lib64/ld-linux-x86-64.so.2': { link: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
    '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2': { soname: 'ld-linux-x86-64.so.2' },
    '/usr/lib/x86_64-linux-gnu/libc.so.6': { soname: 'libc.so.6' },
    '/usr/lib/x86_64-linux-gnu/libz.so.1': { link: 'libz.so.1.2.13' },
    '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13': { soname: 'libz.so.1' },
    '/usr/bin/tool': { link: '../../opt/app/run' },
    '/opt/app': { link: '/srv/v1' },
    '/srv/v1/run': { link: '../real/run' },
    '/srv/real/run': { interp: LD, needed: ['libz.so.1', 'libc.so.6'] },
  });
  t.after(() => rmSync(root, { recursive: true }));
  const plan = new InitrdPlan();
  plan.addDir('lib/modules', 'skeleton');
  const hook = parseHook('tools', JSON.stringify({ description: 'd', binaries: ['/usr/bin/tool'] }), undefined, 'test');
  const files = await addBinaries(plan, root, [hook]);
  const kind = (p: string) => {
    const c = plan.get(p)?.content;
    return c?.kind === 'symlink' ? `-> ${c.target}` : c?.kind;
  };
  assert.equal(kind('usr/bin/tool'), '-> ../../opt/app/run');
  // /opt/app/run -> ../real/run climbs out of /srv/v1 in the root but out of /opt/app in the
  // initrd: the link is pointed at the file's real path instead.
  assert.equal(kind('opt/app/run'), '-> /srv/real/run');
  assert.equal(kind('srv/real/run'), 'disk-file');
  assert.equal(kind('lib64/ld-linux-x86-64.so.2'), '-> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
  assert.equal(kind('lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'), 'disk-file');
  assert.equal(kind('lib/x86_64-linux-gnu/libz.so.1'), '-> libz.so.1.2.13');
  assert.equal(kind('lib/x86_64-linux-gnu/libz.so.1.2.13'), 'disk-file');
  assert.equal(plan.list().find((i) => i.path === 'lib')?.content.kind, 'dir', 'the initrd keeps a real /lib');
  const libz = files.find((f) => f.path === '/lib/x86_64-linux-gnu/libz.so.1.2.13');
  assert.deepEqual(libz?.pulledBy, ['hook tools: libz.so.1 for /usr/bin/tool']);
  assert.match(renderBinaryReport(files), /^\/usr\/bin\/tool -> \.\.\/\.\.\/opt\/app\/run\n {4}hook tools: binary \/usr\/bin\/tool$/m);
});

test('a hook binary whose library is missing fails the build naming hook, binary and library', async (t) => {
  const root = makeRoot({ ...base, '/usr/bin/x': { interp: LD, needed: ['libnope.so.3'] } });
  t.after(() => rmSync(root, { recursive: true }));
  const hook = parseHook('site', JSON.stringify({ description: 'd', binaries: ['/usr/bin/x'] }));
  await assert.rejects(addBinaries(new InitrdPlan(), root, [hook]), { message: 'hook site: binary /usr/bin/x needs library libnope.so.3, which the root does not have' });
});
