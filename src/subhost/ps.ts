// `ramboot ps`: the running subhosts as a table (or the state files as JSON with --json).
import type { SubhostState } from './state.js';

export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  return m > 0 ? `${m}m${s % 60}s` : `${s}s`;
}

export function renderStates(states: readonly (SubhostState & { running: boolean })[], now: number): string {
  const rows = [['NAME', 'PID', 'MODE', 'UPTIME', 'LOWER', 'UPPER', 'CABLES']];
  for (const s of states) {
    rows.push([s.name, String(s.initPid), s.mode, s.running ? formatUptime(now - s.started) : 'stale', s.lower, s.upper, s.cables.join(' ') || '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
