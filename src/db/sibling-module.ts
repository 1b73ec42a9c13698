/**
 * Source for `--eval` (a child process) or `new Worker(…, { eval: true })` that runs the module `name`
 * beside `from` (an import.meta.url): the compiled .js under plain node, the .ts source through tsx's
 * API when tsx runs the sources (tests, benches), since Node 20 passes no module loader on to a worker
 * or a child.
 */
export function runSiblingSource(from: string, name: string): string {
  // A module tsx loaded through its API has a query on its URL.
  if (!new URL(from).pathname.endsWith('.ts')) return `import(${JSON.stringify(new URL(`./${name}.js`, from).href)})`;
  const entry = JSON.stringify(new URL(`./${name}.ts`, from).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return `import(${tsx}).then(({ tsImport }) => tsImport(${entry}, ${entry}))`;
}
