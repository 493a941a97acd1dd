// The Debian mirror(s) this machine's apt uses, so the roots the benchmark and the boot tests
// debootstrap come from the same place and nothing else is contacted. Reads deb822 `*.sources`
// files and one-line `sources.list` entries; keeps only enabled `deb` entries for the wanted
// release and its -updates/-security suites (sources.list(5)).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
}

/** deb822 stanzas: blank-line separated `Key: value` blocks, `#` comment lines ignored. */
export function parseDeb822Sources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match?.[1]) fields.set(match[1].toLowerCase(), match[2] ?? '');
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const words = (key: string) => (fields.get(key) ?? '').split(/\s+/).filter(Boolean);
    for (const uri of words('uris')) sources.push({ uri, suites: words('suites'), components: words('components') });
  }
  return sources;
}

/** `deb [options] URI SUITE COMPONENT...` lines. */
export function parseOneLineSources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (match?.[1] && match[2]) sources.push({ uri: match[1], suites: [match[2]], components: (match[3] ?? '').split(/\s+/).filter(Boolean) });
  }
  return sources;
}

export async function readHostAptSources(etcApt = '/etc/apt'): Promise<AptSource[]> {
  const sources: AptSource[] = [];
  const list = await readFile(join(etcApt, 'sources.list'), 'utf8').catch(() => '');
  sources.push(...parseOneLineSources(list));
  const dir = join(etcApt, 'sources.list.d');
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    const text = await readFile(join(dir, name), 'utf8');
    if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(text));
    else if (name.endsWith('.list')) sources.push(...parseOneLineSources(text));
  }
  return sources;
}

/** The host's entries for `release` (e.g. bookworm, bookworm-updates, bookworm-security), `main` only. */
export function selectReleaseSources(sources: readonly AptSource[], release: string): AptSource[] {
  return sources
    .map((s) => ({ ...s, suites: s.suites.filter((suite) => suite === release || suite.startsWith(`${release}-`)) }))
    .filter((s) => s.suites.length > 0 && s.components.includes('main'))
    .map((s) => ({ ...s, components: ['main'] }));
}

/** The mirror debootstrap should use: the URI that serves the release suite itself. */
export function primaryMirror(sources: readonly AptSource[], release: string): string | undefined {
  return sources.find((s) => s.suites.includes(release))?.uri;
}

export function renderSourcesList(sources: readonly AptSource[]): string {
  return sources.flatMap((s) => s.suites.map((suite) => `deb ${s.uri} ${suite} ${s.components.join(' ')}\n`)).join('');
}

/** The archive itself (not -security): the URI serving a plain release suite such as bookworm.
 * It serves every other release too, which is how a bookworm machine debootstraps trixie. */
export function archiveMirror(sources: readonly AptSource[]): string | undefined {
  return sources.find((s) => s.components.includes('main') && s.suites.some((suite) => !suite.includes('-') && !suite.includes('/')))?.uri;
}
