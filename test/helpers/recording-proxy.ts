import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * An HTTP proxy in front of the emulator's API that keeps what must never be printed: the
 * signatures and session tokens of requests, and the data-channel tokens of responses. Tests then
 * look for each of them in what the client printed.
 */
export class RecordingProxy {
  readonly secrets = new Set<string>();
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<RecordingProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const proxy = new RecordingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (incoming: IncomingMessage, outgoing: ServerResponse) => {
      proxy.recordRequest(incoming.headers);
      const upstream = request(new URL(incoming.url ?? '/', target), { method: incoming.method, headers: incoming.headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks);
          proxy.recordResponse(body.toString('utf8'));
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          outgoing.end(body);
        });
      });
      upstream.on('error', () => outgoing.destroy());
      incoming.pipe(upstream);
    });
    return proxy;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private recordRequest(headers: IncomingHttpHeaders): void {
    const signature = /Signature=([0-9a-f]+)/.exec(headers.authorization ?? '');
    if (signature) this.secrets.add(signature[1]!);
    const sessionToken = headers['x-amz-security-token'];
    if (typeof sessionToken === 'string') this.secrets.add(sessionToken);
  }

  private recordResponse(body: string): void {
    try {
      const parsed = JSON.parse(body) as { TokenValue?: unknown };
      if (typeof parsed.TokenValue === 'string') this.secrets.add(parsed.TokenValue);
    } catch {
      // Not JSON: nothing to record.
    }
  }
}
