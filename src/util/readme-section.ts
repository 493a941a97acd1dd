// The README's generated sections (`npm run readme`): the text between a start and an end
// marker is replaced whole. A README without the markers is an error, so a staleness test
// comparing the README with its update can never pass on a section that is gone.

export function replaceReadmeSection(readme: string, [start, end]: readonly [string, string], body: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md lacks the ${start} ... ${end} markers`);
  return `${readme.slice(0, from + start.length)}\n${body}\n${readme.slice(to)}`;
}
