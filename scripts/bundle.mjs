#!/usr/bin/env node
// `npm run build`: one executable, dist/ramboot, that runs with no node_modules beside it.
//  1. esbuild bundles the CLI to one CommonJS file (Node SEA runs only CommonJS main scripts),
//     with the boot scripts, hooks and exclude lists embedded as a JSON map (src/assets.ts);
//  2. Node's single executable application support turns it into a blob, which postject
//     injects into a copy of this node binary.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const ASSET_DIRS = ['initrd-scripts', 'hooks', 'rootfs-excludes'];
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) collect(path, out);
    else out[relative('.', path).split(sep).join('/')] = { mode: st.mode & 0o7777, base64: readFileSync(path).toString('base64') };
  }
  return out;
}

const assets = {};
for (const dir of ASSET_DIRS) collect(dir, assets);

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/ramboot.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  define: { __RAMBOOT_ASSETS__: JSON.stringify(assets) },
  // src/assets.ts reads import.meta.url only when no assets are embedded, never in this build.
  logOverride: { 'empty-import-meta': 'silent' },
  legalComments: 'none',
});

writeFileSync(
  'dist/sea-config.json',
  // useCodeCache: V8's compiled code for the bundle goes into the blob, so a start does not parse
  // and compile ~1 MB of JavaScript again (measured in README "Benchmarks", initrd build).
  JSON.stringify({ main: 'dist/ramboot.cjs', output: 'dist/ramboot.blob', disableExperimentalSEAWarning: true, useCodeCache: true }),
);
execFileSync(process.execPath, ['--experimental-sea-config', 'dist/sea-config.json'], { stdio: 'inherit' });
copyFileSync(process.execPath, 'dist/ramboot');
chmodSync('dist/ramboot', 0o755);
execFileSync(
  process.execPath,
  [join('node_modules', 'postject', 'dist', 'cli.js'), 'dist/ramboot', 'NODE_SEA_BLOB', 'dist/ramboot.blob', '--sentinel-fuse', SEA_FUSE],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
rmSync('dist/ramboot.blob');
rmSync('dist/sea-config.json');
console.log(`dist/ramboot: ${(statSync('dist/ramboot').size / 2 ** 20).toFixed(0)} MiB (bundle ${(statSync('dist/ramboot.cjs').size / 1024).toFixed(0)} KiB)`);
