// `npm run readme`: regenerate the README's boot parameter table from src/cmdline/params.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { updateReadmeTable } from '../src/cmdline/render-param-table.ts';
import { updateReadmeSettings } from '../src/settings/render-settings.ts';

writeFileSync('README.md', updateReadmeSettings(updateReadmeTable(readFileSync('README.md', 'utf8'))));
