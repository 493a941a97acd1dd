// `ramboot config nginx --cache`: the caching proxy's config says what a boot storm needs
// (slice pieces, one origin fetch per piece, validity by name), nginx accepts it (nginx -t), and
// bad input is one usage error. It is run under load in test/boot/fleet.test.ts and the bench.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxCacheConfig } from '../../src/netboot/nginx-cache-config.ts';
import { skipWithout } from '../support/require-tool.ts';

const skipNginx = skipWithout('nginx', ['-v'], 'apt-get install nginx-light');
const work = mkdtempSync(join(tmpdir(), 'ramboot-cache-conf-'));
after(() => rmSync(work, { recursive: true, force: true }));

const conf = (more: Partial<Parameters<typeof renderNginxCacheConfig>[0]> = {}) =>
  renderNginxCacheConfig({ origin: 'http://192.0.2.10:8080/sets/a/', baseUrl: 'http://10.0.0.2/sets/a/', cacheDir: join(work, 'cache'), accessLog: join(work, 'access.log'), ...more });

test('cache: slices, a lock per piece, keys by piece, a year for sha256 names and a minute for the others', () => {
  const text = conf();
  assert.match(text, new RegExp(`^proxy_cache_path ${join(work, 'cache')} levels=1:2 keys_zone=ramboot_cache:10m max_size=20g inactive=30d use_temp_path=off;$`, 'm'));
  assert.match(text, /^ {4}server 192\.0\.2\.10:8080;$/m);
  assert.match(text, /^ {4}listen 80;$/m);
  assert.match(text, /^ {4}location \/sets\/a\/ \{$/m);
  // Both the sha256 location and the fixed names proxy the same way, each at its own indent.
  for (const indent of [8, 12]) {
    const pad = ' '.repeat(indent);
    for (const line of ['slice 4m;', 'proxy_set_header Range $slice_range;', 'proxy_cache_key $uri$slice_range;', 'proxy_cache_lock on;', 'proxy_cache_lock_age 60s;', 'proxy_read_timeout 60s;', 'proxy_ignore_headers Cache-Control Expires Set-Cookie;', 'proxy_pass http://ramboot_origin;']) {
      assert.ok(text.includes(`\n${pad}${line}\n`), `${indent} spaces: ${line}`);
    }
  }
  assert.match(text, /location ~ "\[0-9a-f\]\{64\}\[\^\/\]\*\$" \{\n {12}proxy_cache_valid 200 206 365d;/);
  assert.match(text, /^ {8}proxy_cache_valid 200 206 1m;$/m);
  assert.match(text, /location ~ \/\\\. \{\n {12}return 404;/);
  // Same path at origin and proxy: no rewrite; another path: a rewrite, never a proxy_pass URI
  // (nginx refuses one inside a regex location).
  assert.doesNotMatch(conf({ origin: 'http://192.0.2.10/sets/a/' }), /rewrite/);
  assert.match(conf({ origin: 'http://192.0.2.10/' }), /^ {8}rewrite \^\/sets\/a\/\(\.\*\)\$ \/\$1 break;$/m);
  const tuned = conf({ slice: '1m', maxSize: '500m', originTimeout: 5 });
  for (const part of ['max_size=500m ', '\n        slice 1m;\n', '\n        proxy_read_timeout 5s;\n', '\n        proxy_cache_lock_age 5s;\n']) assert.ok(tuned.includes(part), part);
});

test('cache: a bad origin, size, path or timeout is one usage error naming it', () => {
  assert.throws(() => conf({ origin: 'https://o/' }), /--origin 'https:\/\/o\/' is not an http:\/\/ URL/);
  assert.throws(() => conf({ slice: '4 m' }), /--slice '4 m' is not a size nginx takes/);
  assert.throws(() => conf({ maxSize: '0' }), /--cache-size '0' is not a size/);
  assert.throws(() => conf({ cacheDir: 'rel/cache' }), /cache directory 'rel\/cache' is not a plain absolute path/);
  assert.throws(() => conf({ accessLog: '/var/log/x;y' }), /access log '\/var\/log\/x;y' is not a plain absolute path/);
  assert.throws(() => conf({ originTimeout: 0 }), /origin timeout 0 is not 1\.\.3600 seconds/);
});

test('cache: nginx -t accepts both path mappings (slice module present)', { skip: skipNginx }, () => {
  for (const [name, origin] of [['same', 'http://192.0.2.10/sets/a/'], ['rewrite', 'http://192.0.2.10:8080/']] as const) {
    const dir = join(work, name);
    mkdirSync(join(dir, 'temp'), { recursive: true });
    writeFileSync(join(dir, 'cache.conf'), conf({ origin, cacheDir: join(dir, 'cache'), accessLog: join(dir, 'access.log') }));
    writeFileSync(
      join(dir, 'main.conf'),
      `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n    proxy_temp_path ${dir}/temp;\n    client_body_temp_path ${dir}/temp;\n    include ${dir}/cache.conf;\n}\n`,
    );
    const r = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'main.conf'), '-e', join(dir, 'error.log')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /test is successful/);
  }
});

test('cli: --cache without --origin, or for another kind, is one usage error', () => {
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'config', ...args, '--set', work, '--base-url', 'http://10.0.0.2/'], { encoding: 'utf8' });
  const noOrigin = run(['nginx', '--cache']);
  assert.equal(noOrigin.status, 2, noOrigin.stderr);
  assert.match(noOrigin.stderr, /--cache needs --origin URL/);
  const ok = run(['nginx', '--cache', '--origin', 'http://192.0.2.10/', '--slice', '2m']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^ {8}slice 2m;$/m);
});
