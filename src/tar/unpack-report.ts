// What unpacking a tarball tells the user: a one-line progress meter on stderr while it runs (a
// Debian root is tens of thousands of entries and can take a minute), and afterwards its
// warnings, a few per code: a docker export can hold thousands of device nodes, and one line
// per node would bury everything else.

export interface UnpackCounts {
  entries: number;
  /** Decompressed tar bytes seen. */
  tarBytes: number;
  fileBytes: number;
  lastEntry: string;
  /** Bytes of the tarball file read (compressed). */
  fileRead?: number | undefined;
}

const SHOWN_PER_CODE = 3;

/** Redraws `\rramboot: unpacking NAME: N entries, M MiB (P%)` every 250 ms until stop(). */
export function startMeter(name: string, counts: UnpackCounts, fileSize: number): { stop(): void } {
  const draw = () => {
    const pct = fileSize > 0 ? ` (${Math.floor(((counts.fileRead ?? 0) * 100) / fileSize)}%)` : '';
    process.stderr.write(`\rramboot: unpacking ${name}: ${counts.entries} entries, ${(counts.tarBytes / 1048576).toFixed(0)} MiB${pct}\x1b[K`);
  };
  const timer = setInterval(draw, 250);
  return {
    stop() {
      clearInterval(timer);
      draw();
      process.stderr.write('\n');
    },
  };
}

/** `CODE: message` lines, at most SHOWN_PER_CODE per code and then `CODE: ... and N more`. */
export function summarizeWarnings(list: ReadonlyArray<{ code: string; message: string }>): string[] {
  const byCode = new Map<string, string[]>();
  for (const w of list) {
    const messages = byCode.get(w.code) ?? [];
    messages.push(w.message);
    byCode.set(w.code, messages);
  }
  const out: string[] = [];
  for (const [code, messages] of byCode) {
    for (const m of messages.slice(0, SHOWN_PER_CODE)) out.push(`${code}: ${m}`);
    if (messages.length > SHOWN_PER_CODE) out.push(`${code}: ... and ${messages.length - SHOWN_PER_CODE} more`);
  }
  return out;
}
