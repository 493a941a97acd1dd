// At most `limit` calls of `fn` in flight: reading ~4,000 modules at once would exhaust file
// descriptors, one at a time would leave the disk and libuv's thread pool idle.
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
