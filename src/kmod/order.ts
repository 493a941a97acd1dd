// Load order of a set of modules: Kahn's algorithm taking the smallest ready name each time, so
// the same set always gives the same order. Hard edges (depends) are never broken; soft edges
// (softdep pre/post) are dropped only to get past a cycle, which softdeps can form.
import { inputError } from '../errors.js';

class MinHeap {
  private readonly items: string[] = [];
  get size(): number {
    return this.items.length;
  }
  push(item: string): void {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): string | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** An edge `[before, after]`: `before` must be loaded first. */
export type Edge = readonly [string, string];

export function orderModules(names: Iterable<string>, hard: readonly Edge[], soft: readonly Edge[]): string[] {
  const nodes = new Set(names);
  const hardIn = new Map<string, number>();
  const softIn = new Map<string, number>();
  const next = new Map<string, Array<{ to: string; hard: boolean }>>();
  for (const n of nodes) {
    hardIn.set(n, 0);
    softIn.set(n, 0);
    next.set(n, []);
  }
  const seen = new Set<string>();
  for (const [edges, isHard] of [
    [hard, true],
    [soft, false],
  ] as const) {
    for (const [from, to] of edges) {
      const key = `${from}\0${to}`;
      if (from === to || !nodes.has(from) || !nodes.has(to) || seen.has(key)) continue;
      seen.add(key);
      next.get(from)!.push({ to, hard: isHard });
      const counts = isHard ? hardIn : softIn;
      counts.set(to, counts.get(to)! + 1);
    }
  }

  const ready = new MinHeap();
  for (const n of nodes) if (hardIn.get(n) === 0 && softIn.get(n) === 0) ready.push(n);
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < nodes.size) {
    let n = ready.pop();
    if (n === undefined || done.has(n)) {
      if (n !== undefined) continue;
      // Stuck: only a cycle is left. Break a soft edge: take the smallest module whose hard
      // dependencies are all loaded.
      n = [...nodes].filter((m) => !done.has(m) && hardIn.get(m) === 0).sort()[0];
      if (n === undefined) {
        const left = [...nodes].filter((m) => !done.has(m)).sort();
        throw inputError(`modules depend on each other in a cycle: ${left.join(', ')}`, 'the modules tree is corrupt; reinstall the kernel modules package');
      }
    }
    done.add(n);
    order.push(n);
    for (const { to, hard: isHard } of next.get(n)!) {
      const counts = isHard ? hardIn : softIn;
      counts.set(to, counts.get(to)! - 1);
      if (!done.has(to) && hardIn.get(to) === 0 && softIn.get(to) === 0) ready.push(to);
    }
  }
  return order;
}
