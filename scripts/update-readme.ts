// `npm run readme`: regenerate the README's boot parameter table from src/cmdline/params.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { updateReadmeTable } from '../src/cmdline/render-param-table.ts';
import { updateReadmeSettings } from '../src/settings/render-settings.ts';
import { updateReadmeHookSchema } from '../src/hooks/hook-schema.ts';
import { updateReadmeHookTable } from '../src/hooks/hook-table.ts';

writeFileSync('README.md', updateReadmeHookTable(updateReadmeHookSchema(updateReadmeSettings(updateReadmeTable(readFileSync('README.md', 'utf8'))))));
