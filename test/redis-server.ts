/**
 * A real redis-server for a test: started on a free port with no persistence, stopped after.
 * `.ci/run` installs Debian's redis-server when it is missing; a test that needs it fails (it is
 * never skipped) when it is not there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      out += d.toString();
      if (out.includes('\r\n')) {
        s.end();
        resolve(out.startsWith('+PONG'));
      }
    });
    s.on('error', () => resolve(false));
  });
}

export class RedisServer {
  #child: ChildProcess | null = null;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server (on `port`, else a free one) and waits until it answers PING. */
  static async start(port?: number): Promise<RedisServer> {
    const r = new RedisServer(port ?? (await freePort()));
    await r.restart();
    return r;
  }

  async restart(): Promise<void> {
    if (this.#child !== null) throw new Error('redis-server already running');
    // Without the sanitizer runtime `npm run test:sanitize` preloads: Redis is not what it checks,
    // and an instrumented-malloc Redis only slows the services under test.
    const { LD_PRELOAD: _, ...env } = process.env;
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    this.#child = child;
    let failed: Error | null = null;
    child.once('error', (err) => (failed = err));
    for (let i = 0; i < 200; i++) {
      if (failed !== null) throw new Error(`redis-server could not start: ${(failed as Error).message} (apt-get install redis-server)`);
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not answer on port ${this.port}`);
  }

  /** Kills it (SIGKILL: as abrupt as a crash) and waits for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  stop(): Promise<void> {
    return this.kill();
  }
}
