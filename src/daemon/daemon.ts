/*
 * The daemon: every configured tunnel running independently, the status endpoint, reload of the
 * config (SIGHUP: unchanged tunnels untouched) and shutdown (SIGTERM: grace, then TerminateSession).
 * Signals are wired by the `up` command; this class only offers reload() and shutdown().
 */
import type { Logger } from '../logging.js';
import { formatConfigError, loadConfig, tunnelDefinitionsEqual, type ConfigError, type DaemonConfig, type StatusEndpoint } from './config.js';
import { ManagedTunnel } from './managed-tunnel.js';
import { StatusServer } from './status-server.js';
import { formatHostPort } from '../util/net.js';
import type { DaemonStatus } from './tunnel-status.js';

export interface DaemonOptions {
  /** Where the config was read from; reload() reads it again. */
  configFile: string;
  logger: Logger;
}

/** What a reload did, by tunnel name. */
export interface ReloadSummary {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

/**
 * A reload applies a valid config, rejects an invalid one and leaves everything running, or (a bug
 * or an unexpected system error) failed part-way: logged, and later reloads still run.
 */
export type ReloadResult = { applied: ReloadSummary } | { rejected: ConfigError[] } | { skipped: 'shutting down' } | { failed: Error };

export class Daemon {
  private readonly configFile: string;
  private readonly log: Logger;
  private readonly startedAt = new Date();
  private readonly tunnels = new Map<string, ManagedTunnel>();
  private config: DaemonConfig;
  private statusServer: StatusServer | undefined;
  /** Settles when the reload running now (if any) is over; never rejects, so one failure cannot block the next reload or shutdown. */
  private reloadsDone: Promise<void> = Promise.resolve();
  /** A reload asked for but not begun: further requests join it instead of queueing more. */
  private queuedReload: Promise<ReloadResult> | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(config: DaemonConfig, options: DaemonOptions) {
    this.config = config;
    this.configFile = options.configFile;
    this.log = options.logger;
  }

  /** Starts every tunnel (a tunnel that cannot listen yet keeps retrying) and the status endpoint. */
  static async start(config: DaemonConfig, options: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(config, options);
    await Promise.all(config.tunnels.map((definition) => daemon.startTunnel(definition)));
    await daemon.startStatusServer(config.status);
    daemon.log.info({ config: daemon.configFile, tunnels: config.tunnels.map((t) => t.name) }, 'daemon started');
    return daemon;
  }

  /** The status endpoint's address, when it is listening. */
  get statusAddress(): { host: string; port: number } | undefined {
    const address = this.statusServer?.address;
    return address && { host: address.address, port: address.port };
  }

  status(): DaemonStatus {
    return {
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      configFile: this.configFile,
      tunnels: [...this.tunnels.values()].map((tunnel) => tunnel.status()),
    };
  }

  /** Reads the config file again and applies it; reloads run one at a time. */
  reload(): Promise<ReloadResult> {
    if (this.stopping) return Promise.resolve({ skipped: 'shutting down' });
    if (this.queuedReload) return this.queuedReload;
    const reload = this.reloadsDone.then(() => {
      this.queuedReload = undefined;
      return this.reloadNow();
    });
    this.queuedReload = reload;
    this.reloadsDone = reload.then(
      () => undefined,
      () => undefined,
    );
    return reload;
  }

  /**
   * Stops listening everywhere, gives open connections the configured grace, ends every session
   * with TerminateSession and closes the status endpoint. Idempotent.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const graceMs = this.config.shutdownGraceMs;
    this.log.info({ graceMs, tunnels: this.tunnels.size }, 'shutting down');
    await this.reloadsDone;
    await Promise.all([...this.tunnels.values()].map((tunnel) => tunnel.stop(graceMs)));
    this.tunnels.clear();
    await this.statusServer?.close();
    this.statusServer = undefined;
    this.log.info('daemon stopped');
  }

  private async reloadNow(): Promise<ReloadResult> {
    if (this.stopping) return { skipped: 'shutting down' };
    try {
      return await this.readAndApply();
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'reload failed part-way; the next reload starts from what is running now');
      return { failed: error as Error };
    }
  }

  private async readAndApply(): Promise<ReloadResult> {
    const loaded = await loadConfig(this.configFile);
    if ('errors' in loaded) {
      for (const error of loaded.errors) this.log.error({ line: error.line, column: error.column, field: error.path }, formatConfigError(error));
      this.log.error({ config: this.configFile, errors: loaded.errors.length }, 'reload rejected: the config is invalid; the running tunnels are unchanged');
      return { rejected: loaded.errors };
    }
    const summary = await this.apply(loaded.config);
    this.log.info(
      { ...summary },
      `reloaded: ${summary.added.length} added, ${summary.removed.length} removed, ${summary.changed.length} changed, ${summary.unchanged.length} unchanged`,
    );
    return { applied: summary };
  }

  private async apply(config: DaemonConfig): Promise<ReloadSummary> {
    const summary: ReloadSummary = { added: [], removed: [], changed: [], unchanged: [] };
    const wanted = new Map(config.tunnels.map((definition) => [definition.name, definition]));
    const stopping: Promise<void>[] = [];
    for (const [name, running] of this.tunnels) {
      const definition = wanted.get(name);
      if (definition !== undefined && tunnelDefinitionsEqual(running.definition, definition)) {
        summary.unchanged.push(name);
        continue;
      }
      (definition === undefined ? summary.removed : summary.changed).push(name);
      this.tunnels.delete(name);
      // Listeners close at once, so a changed tunnel's successor can take the same address below.
      stopping.push(running.stop(config.shutdownGraceMs));
    }
    const starting = config.tunnels.flatMap((definition) => {
      if (this.tunnels.has(definition.name)) return [];
      if (!summary.changed.includes(definition.name)) summary.added.push(definition.name);
      return [this.startTunnel(definition)];
    });
    const previous = this.config;
    this.config = config;
    await Promise.all(starting);
    if (!statusEndpointsEqual(previous.status, config.status) || (config.status && !this.statusServer)) {
      await this.statusServer?.close();
      this.statusServer = undefined;
      await this.startStatusServer(config.status);
    }
    if (previous.log.level !== config.log.level || previous.log.format !== config.log.format) {
      this.log.warn({ log: config.log }, 'log settings take effect when the daemon restarts');
    }
    await Promise.all(stopping);
    return summary;
  }

  private async startTunnel(definition: DaemonConfig['tunnels'][number]): Promise<void> {
    const tunnel = new ManagedTunnel(definition, this.log);
    this.tunnels.set(definition.name, tunnel);
    await tunnel.start();
  }

  /** A status endpoint that cannot listen is logged, not fatal: the tunnels matter more. */
  private async startStatusServer(endpoint: StatusEndpoint | undefined): Promise<void> {
    if (endpoint === undefined) return;
    if (endpoint.exposed) {
      this.log.warn({ listen: formatHostPort(endpoint.host, endpoint.port) }, 'the status endpoint listens on a non-loopback address: anyone who can reach it can read the status');
    }
    try {
      this.statusServer = await StatusServer.start(endpoint, () => this.status(), this.log);
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'no status endpoint; a reload retries it');
    }
  }
}

function statusEndpointsEqual(a: StatusEndpoint | undefined, b: StatusEndpoint | undefined): boolean {
  return a?.host === b?.host && a?.port === b?.port;
}
