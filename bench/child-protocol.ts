/* The IPC messages between the benchmark driver and its client child (bench/client-child.ts). */

export interface ClientChildConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  target: string;
  remotePort: number;
}

export type ChildRequest = { type: 'usage'; gc: boolean } | { type: 'close' };

export interface ProcessUsage {
  cpu: NodeJS.CpuUsage;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
  openConnections: number;
}

export type ChildReply = { type: 'ready'; localPort: number } | ({ type: 'usage' } & ProcessUsage) | { type: 'error'; message: string };
