/*
 * The one way a URL that may carry credentials (a proxy URL such as `http://user:pass@proxy:3128`)
 * is shown in a log line, an error or a status table. Imports nothing.
 */

/** `http://user:***@proxy:3128`: the password (or a lone user name) replaced, everything else kept. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Unparseable: hide whatever sits between `//` and the last `@`, where credentials would be.
    return url.replace(/\/\/[^/]*@/, '//***@');
  }
  if (parsed.password !== '') parsed.password = '***';
  else if (parsed.username !== '') parsed.username = '***';
  const shown = parsed.href;
  // URL adds a trailing slash to a bare origin; the user did not write it.
  return shown.endsWith('/') && !url.endsWith('/') ? shown.slice(0, -1) : shown;
}
