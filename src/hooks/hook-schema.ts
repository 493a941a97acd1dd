// The hook.json schema, written once: `parseHook` checks a hook against it, `ramboot hooks check`
// prints every problem it finds with its JSON path, and the README's hook.json reference is
// rendered from it (`npm run readme`; test/hooks/hook-schema.test.ts fails when it is stale).
import { BOOT_POINTS } from '../cmdline/params.js';
import { replaceReadmeSection } from '../util/readme-section.js';

/** Every `before-<point>`, and `after-<point>` but for switch, which never returns (points:
 * the stages and verify, src/cmdline/params.ts BOOT_POINTS). */
export const STAGE_HOOK_POINTS: readonly string[] = BOOT_POINTS.flatMap((s) => (s === 'switch' ? [`before-${s}`] : [`before-${s}`, `after-${s}`]));

type FieldType = 'string' | 'boolean' | 'names' | 'paths' | 'files' | 'stage-scripts';

export interface HookField {
  key: string;
  type: FieldType;
  required?: boolean;
  doc: string;
}

export const HOOK_FIELDS: readonly HookField[] = [
  { key: 'description', type: 'string', required: true, doc: 'What the hook is for and why each thing is in: `ramboot hooks ls` and `hooks explain` show it.' },
  { key: 'after', type: 'names', doc: 'Hooks applied before this one (ordering is by name, never by file name prefix); an optional hook that is off is ignored here.' },
  { key: 'replaces', type: 'string', doc: 'The shipped hook this one takes the place of. Without it a hook named like a shipped one is an error naming both.' },
  { key: 'optional', type: 'boolean', doc: 'Off unless turned on with `--hook NAME` (default false: always applied).' },
  { key: 'modules', type: 'names', doc: 'Kernel modules (names, aliases or directory prefixes ending in `/`) that must be packed or built in: the build fails if the kernel lacks one.' },
  { key: 'optionalModules', type: 'names', doc: 'Modules packed when the kernel has them as modules.' },
  { key: 'forceLoad', type: 'names', doc: 'Modules loaded at boot whatever the hardware (things no device stands for); required, like `modules`.' },
  { key: 'applets', type: 'names', doc: 'busybox applets the hook\'s stage scripts call, checked against the packed busybox at build time.' },
  { key: 'binaries', type: 'paths', doc: 'Executables of the target root (absolute paths), packed with their interpreter and every shared library, symlinks kept; a missing library fails the build naming binary and library.' },
  { key: 'files', type: 'files', doc: 'Files of the target root copied to the same path: `"/etc/x"` or `{ "path": "/etc/x", "optional": true }` (optional: skipped when the root lacks it).' },
  { key: 'stageScripts', type: 'stage-scripts', doc: `sh scripts next to hook.json run at a stage point: \`{ "before-mount": ["check.sh"] }\`. Points: ${STAGE_HOOK_POINTS.map((p) => `\`${p}\``).join(', ')}.` },
];

const TYPE_TEXT: Record<FieldType, string> = {
  string: 'string',
  boolean: 'boolean',
  names: 'list of strings',
  paths: 'list of absolute paths',
  files: 'list of paths or `{ path, optional }`',
  'stage-scripts': 'object: point -> list of file names',
};

/** One problem of a hook.json: `path` is a JSON path such as `$.stageScripts.after-fetch[0]`. */
export interface HookProblem {
  path: string;
  message: string;
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0);

function checkField(field: HookField, value: unknown, hasFile: (file: string) => boolean): HookProblem[] {
  const at = `$.${field.key}`;
  const problems: HookProblem[] = [];
  const bad = (message: string, path = at) => problems.push({ path, message });
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') bad(`"${field.key}" must be a string`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') bad(`"${field.key}" must be true or false`);
      break;
    case 'names':
    case 'paths':
      if (!isStringList(value)) bad(`"${field.key}" must be a list of non-empty strings`);
      else if (field.type === 'paths') value.forEach((p, i) => !p.startsWith('/') && bad(`"${p}" is not an absolute path of the root`, `${at}[${i}]`));
      break;
    case 'files':
      if (!Array.isArray(value)) bad(`"${field.key}" must be a list`);
      else
        value.forEach((f: unknown, i) => {
          const path = typeof f === 'string' ? f : (f as { path?: unknown } | null)?.path;
          if (typeof path !== 'string') bad('each of "files" is a path or { "path", "optional" }', `${at}[${i}]`);
        });
      break;
    case 'stage-scripts':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        bad(`"${field.key}" must be an object of stage point -> list of files`);
        break;
      }
      for (const [point, files] of Object.entries(value)) {
        const pointPath = `${at}.${point}`;
        if (!STAGE_HOOK_POINTS.includes(point)) bad(`"stageScripts" names unknown stage point "${point}" (known: ${STAGE_HOOK_POINTS.join(', ')})`, pointPath);
        else if (!isStringList(files)) bad(`"stageScripts"."${point}" must be a list of non-empty strings`, pointPath);
        else
          files.forEach((file, i) => {
            if (file.includes('/') || file.startsWith('.')) bad(`stage script "${file}" must be a plain file name in the hook's directory`, `${pointPath}[${i}]`);
            else if (!hasFile(file)) bad(`file ${file} not found`, `${pointPath}[${i}]`);
          });
      }
      break;
  }
  return problems;
}

/** Every problem of a parsed hook.json; `hasFile` says whether a file is next to it. */
export function checkHookJson(raw: unknown, hasFile: (file: string) => boolean): HookProblem[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [{ path: '$', message: 'hook.json must hold a JSON object' }];
  const obj = raw as Record<string, unknown>;
  const problems: HookProblem[] = [];
  for (const key of Object.keys(obj)) {
    if (!HOOK_FIELDS.some((f) => f.key === key)) problems.push({ path: `$.${key}`, message: `unknown key "${key}" (known keys: ${HOOK_FIELDS.map((f) => f.key).join(', ')})` });
  }
  for (const field of HOOK_FIELDS) {
    if (obj[field.key] === undefined) {
      if (field.required) problems.push({ path: `$.${field.key}`, message: `"${field.key}" is required` });
    } else problems.push(...checkField(field, obj[field.key], hasFile));
  }
  const forced = isStringList(obj.forceLoad) ? obj.forceLoad : [];
  const optional = isStringList(obj.optionalModules) ? obj.optionalModules : [];
  forced.forEach((spec, i) => {
    if (optional.includes(spec)) problems.push({ path: `$.forceLoad[${i}]`, message: `${spec} is both optional and force-loaded (a force-load is required: list it in "forceLoad" only)` });
  });
  return problems;
}

export const SCHEMA_MARKERS = ['<!-- hook-schema:start (generated by npm run readme) -->', '<!-- hook-schema:end -->'] as const;

/** The README's hook.json reference: one row per key. */
export function renderHookSchema(): string {
  const rows = HOOK_FIELDS.map((f) => `| \`${f.key}\` | ${TYPE_TEXT[f.type]}${f.required ? ' (required)' : ''} | ${f.doc.replace(/\|/g, '\\|')} |`);
  return ['| key | type | what |', '| --- | --- | --- |', ...rows].join('\n');
}

/** `readme` with the text between the schema markers replaced. */
export function updateReadmeHookSchema(readme: string): string {
  return replaceReadmeSection(readme, SCHEMA_MARKERS, renderHookSchema());
}
