// `npm run readme`: regenerate the README's boot parameter table from src/cmdline/params.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { updateReadmeTable } from '../src/cmdline/render-param-table.ts';

writeFileSync('README.md', updateReadmeTable(readFileSync('README.md', 'utf8')));
