/*
 * curl as a real proxy client (SOCKS5 and HTTP CONNECT): an outside tool, so tests that need it are
 * skipped with a printed reason when it is missing, and fail under CI=true (tools.ts).
 */
import { execFile } from 'node:child_process';
import { optionalTool } from './tools.js';

const tool = optionalTool('curl', 'apt-get install curl');

/** Where curl is; `curl` (failing at run time) when it is missing, for tests skipped anyway. */
export const CURL = tool.path ?? 'curl';

/** Why curl tests are skipped here; undefined when curl is present. */
export const curlSkipReason = tool.skipReason;

/** curl's exit status when the SOCKS5 proxy answers the CONNECT with a failure. */
export const CURL_SOCKS_REFUSED = 97;

export interface CurlResult {
  /** curl's exit status (0: success; 97: the SOCKS5 proxy refused, 56: the CONNECT was refused, …). */
  code: number;
  /** The body, byte for byte (latin1 keeps every byte as one character). */
  stdout: string;
  stderr: string;
}

/** Runs curl quietly (errors on stderr, at most 30 s). */
export function curl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile(CURL, ['--silent', '--show-error', '--max-time', '30', ...args], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}
