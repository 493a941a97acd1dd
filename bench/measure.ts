// One timed run of an external command: wall time measured here (monotonic clock around the
// whole process), peak RSS from GNU time (`%M`, KiB). time(1) reports the largest resident set
// of any single process it waited for (getrusage RUSAGE_CHILDREN keeps the maximum, not a sum),
// so for a tool that forks (dracut, mkinitramfs, ramboot -> zstd) it is the biggest process.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface Measured {
  wallS: number;
  maxRssKiB: number;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  cwd?: string;
  env?: Record<string, string>;
}

export async function measure(command: readonly string[], opts: MeasureOptions = {}): Promise<Measured> {
  const [tool, ...args] = command;
  if (!tool) throw new Error('measure: empty command');
  const dir = await mkdtemp(join(tmpdir(), 'ramboot-bench-time-'));
  const timeFile = join(dir, 'time');
  try {
    const started = performance.now();
    const result = await execa('/usr/bin/time', ['-f', '%M', '-o', timeFile, tool, ...args], {
      cwd: opts.cwd,
      env: opts.env,
      reject: false,
      stdin: 'ignore',
    });
    const wallS = (performance.now() - started) / 1000;
    const stdout = String(result.stdout ?? '');
    const stderr = String(result.stderr ?? '');
    if (result.failed) {
      const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-12).join('\n');
      throw new Error(`${command.join(' ')} failed (exit ${result.exitCode ?? result.signal}):\n${tail}`);
    }
    const timeText = await readFile(timeFile, 'utf8');
    const rss = Number(timeText.trim().split('\n').pop());
    return { wallS, maxRssKiB: Number.isFinite(rss) ? rss : NaN, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function stats(values: readonly number[]): Stats {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0, median: NaN, min: NaN, max: NaN, values: [...values] };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n, median, min: sorted[0]!, max: sorted[n - 1]!, values: [...values] };
}

export interface Contestant {
  name: string;
  command: string[];
  /** Untimed, before every run (remove the previous output, switch a config). */
  prepare?: () => Promise<void>;
}

export interface RunRecord {
  runs: Measured[];
  error?: string;
}

/** Runs A B C A B C ...: drift on the machine (page cache, thermal, other load) is spread over
 * every contestant instead of landing on whichever ran last. A contestant that fails once is
 * dropped from later rounds with the error recorded. */
export async function runAlternating(
  contestants: readonly Contestant[],
  rounds: number,
  step: (text: string) => void,
): Promise<Record<string, RunRecord>> {
  const records: Record<string, RunRecord> = Object.fromEntries(contestants.map((c) => [c.name, { runs: [] }]));
  for (let round = 1; round <= rounds; round++) {
    for (const c of contestants) {
      const record = records[c.name]!;
      if (record.error) continue;
      try {
        await c.prepare?.();
        const m = await measure(c.command);
        record.runs.push(m);
        step(`  round ${round}/${rounds} ${c.name}: ${m.wallS.toFixed(2)} s, ${(m.maxRssKiB / 1024).toFixed(0)} MiB peak RSS`);
      } catch (error) {
        record.error = (error as Error).message;
        step(`  round ${round}/${rounds} ${c.name}: FAILED ${record.error.split('\n')[0]}`);
      }
    }
  }
  return records;
}
