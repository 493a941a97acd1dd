// mksquashfs draws its progress bar on stdout, redrawn after `\r`, and follows it with a
// multi-line summary on the same stream; -quiet would hide the bar too. So on a terminal we read
// its stdout and pass on only the bar lines (to stderr, keeping ramboot's stdout for results).
const BAR = /^\[[^\]]*\]\s+\d+\/\d+\s+\d+%\s*$/;

export function createBarForwarder(write: (text: string) => void): { push(chunk: Uint8Array | string): void; end(): void } {
  let pending = '';
  let drawn = false;
  const take = (segment: string) => {
    if (!BAR.test(segment)) return;
    write(`\r${segment}`);
    drawn = true;
  };
  return {
    push(chunk) {
      pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
      const segments = pending.split(/[\r\n]/);
      pending = segments.pop() ?? '';
      segments.forEach(take);
    },
    end() {
      take(pending);
      pending = '';
      if (drawn) write('\n');
    },
  };
}
