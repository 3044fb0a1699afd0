/*
 * What the CLI bundle gets for `string-width` (see build-cli.js): yargs measures every line of a
 * command's help with it, on every run of the command. The real string-width creates an
 * Intl.Segmenter when it loads, which costs 5-15 ms of CPU; our help is printable ASCII
 * (test/cli/lazy-loading.test.ts), whose width is its length, so the real module is loaded,
 * bundled but not run until then, only for text that is not.
 */
import { stripVTControlCharacters } from 'node:util';

const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;
let fullStringWidth;

export default function stringWidth(text, options = {}) {
  if (typeof text === 'string') {
    const visible = options.countAnsiEscapeCodes ? text : stripVTControlCharacters(text);
    if (PRINTABLE_ASCII.test(visible)) return visible.length;
  }
  // A path, not the package name, which the build aliases to this file. esbuild turns this
  // require() of a bundled ES module into its lazy initialisation.
  // eslint-disable-next-line no-undef, @typescript-eslint/no-require-imports -- resolved by esbuild
  fullStringWidth ??= require('../node_modules/string-width/index.js').default;
  return fullStringWidth(text, options);
}
