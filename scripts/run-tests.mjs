#!/usr/bin/env node
// `npm test`: every test/**/*.test.ts under node:test with tsx. Node 20's --test takes no globs,
// so the files are listed here. Extra arguments narrow the run: `npm test -- cpio kmod`. Files run one
// at a time: several boot QEMU, and on 2 cores parallel boots only trade places (same total time).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (name === '.cache' || name === 'fixtures') return [];
    return statSync(path).isDirectory() ? find(path) : name.endsWith('.test.ts') ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
