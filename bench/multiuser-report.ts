// The multiuser section of the report (bench/multiuser-bench.ts): boot to multi-user.target of
// the stock Debian 12 root for ramboot, dracut and live-boot, and where each boot's time went.
import type { Stats } from './measure.js';
import type { MultiUserBench, MultiUserResult } from './multiuser-bench.js';

const s = (x: number | undefined, digits = 2) => (x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '—');
const range = (st: Stats | undefined) => (!st || st.n === 0 ? '—' : `${s(st.median)} (${s(st.min)}–${s(st.max)})`);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** One README table cell: the median (min–max) seconds, or why there is none. */
export function multiUserCell(x: MultiUserResult | undefined): string {
  if (!x) return '—';
  if (x.error && x.guestUptimeS.n === 0) return 'did not boot';
  return `${range(x.guestUptimeS)} s${x.states.some((st) => st !== 'running') ? ` (${[...new Set(x.states)].join('/')})` : ''}`;
}

/** What sshd offered when the boot settled, over all boots: "listening, keys ed25519, ecdsa". */
export function sshdCell(x: MultiUserResult): string {
  if (!x.sshd || x.sshd.length === 0) return '—';
  const listening = x.sshd.filter((b) => b.listening > 0).length;
  const keys = [...new Set(x.sshd.flatMap((b) => b.hostKeys))].map((k) => k.replace(/^ssh_host_|_key$/g, ''));
  const state = listening === x.sshd.length ? 'listening' : listening === 0 ? 'not listening' : `listening in ${listening} of ${x.sshd.length} boots`;
  return `${state}; host keys: ${keys.join(', ') || 'none'}`;
}

/** The slowest units of a boot, "unit 1.23" each. */
function topBlame(x: MultiUserResult, n: number): string {
  return (x.analyze?.blame ?? []).slice(0, n).map((b) => `${b.unit} ${s(b.seconds)}`).join(', ') || '—';
}

/** The critical chain as "unit @at +took" from multi-user.target down, units that took time only. */
function chain(x: MultiUserResult): string {
  const links = x.analyze?.chain ?? [];
  return links.map((l) => `${l.unit}${l.atS !== undefined ? ` @${s(l.atS)}` : ''}${l.plusS !== undefined ? ` +${s(l.plusS)}` : ''}`).join(' ← ') || '—';
}

export function renderMultiUser(m: MultiUserBench | undefined): string[] {
  if (!m) return ['(not measured)'];
  const out: string[] = [];
  out.push(
    `The stock ${m.root.suite} root (src/lab/stock-root.ts: debootstrap minbase + systemd-sysv udev openssh-server ifupdown isc-dhcp-client + the cloud kernel ${m.root.kver}, the root the distribution boot tests use) plus the reporter unit, made into one image by \`ramboot build\` (${mb(m.squashfsSize)} squashfs) and served by one HTTP server to all three; every one boots the root's own kernel (its modules are in the image), the peers with initrds built for it. The number is the guest's /proc/uptime when \`systemctl is-system-running --wait\` returns inside the booted root.`,
    '',
    '| initrd | initrd size | kernel runs /init at, s | multi-user.target reached (guest uptime), s | is-system-running | failed units | sshd when it settled | systemd-analyze time | slowest units (blame, s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const x of m.results) {
    const t = x.analyze?.time;
    const parts = t ? Object.entries(t.parts).map(([k, v]) => `${k} ${s(v)}`).join(' + ') : '—';
    out.push(`| ${x.name} | ${mb(x.initrdSize)} | ${range(x.rdinitS)} | ${range(x.guestUptimeS)} | ${[...new Set(x.states)].join(', ') || '—'} | ${x.failed.join(', ') || 'none'} | ${sshdCell(x)} | ${parts} | ${topBlame(x, 5)} |`);
  }
  out.push('');
  for (const x of m.results) out.push(`- ${x.name}: \`${x.cmdline}\`${x.error ? ` — failed: ${x.error.replaceAll('|', '/').slice(0, 200)}` : ''}`);
  out.push('', 'Critical chain of the last boot (systemd-analyze critical-chain, seconds after systemd started):', '');
  for (const x of m.results) out.push(`- ${x.name}: ${chain(x)}`);
  const ram = m.results.find((x) => x.name === 'ramboot');
  if (ram?.stages) out.push('', `ramboot's initrd stages (medians, /run/ramboot/report.json): ${Object.entries(ram.stages).map(([k, v]) => `${k} ${s(v)} s`).join(', ')}`);
  return out;
}
