import { fileURLToPath } from 'node:url';

/*
 * Where the fault matrix finds the repository, from this folder in the source tree (under vitest)
 * and from its build under dist/bench (`npm run soak`) alike.
 */

const BUILT = import.meta.url.includes('/dist/bench/');
export const REPO_ROOT = new URL(BUILT ? '../../../../../' : '../../../', import.meta.url);

/** The built client child (client-child.ts): forked as JavaScript, so `npm run build:bench` first. */
export const CLIENT_CHILD_PATH = fileURLToPath(new URL('dist/bench/test/helpers/faults/client-child.js', REPO_ROOT));
