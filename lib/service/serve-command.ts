/**
 * `tirex-guardian serve [--config FILE]`: the service in the foreground, with the lifecycle an
 * orchestrator expects. SIGTERM or SIGINT drains (readiness false, new requests refused, requests
 * in flight finish, audit flushed and closed) and exits 0, or 1 when the drain outlives
 * `drainTimeoutMs`; a second signal exits at once (1; the audit log still writes what it has
 * queued, on process exit). An error that escapes a request is already a 500 (server.ts); one
 * that escapes everything else is logged, the service drains, and the process exits 1.
 */
import { createServer, type Service } from './server';

export async function serveCommand(file: string | undefined): Promise<number> {
  const service = await createServer(file === undefined ? {} : { file });
  const log = service.app.log;
  let signals = 0;
  let exit!: (status: number) => void;
  const done = new Promise<number>((resolve) => (exit = resolve));
  const stop = (why: string, status: number) => {
    const timer = setTimeout(() => {
      log.error({ drainTimeoutMs: service.config.drainTimeoutMs }, 'drain deadline passed: exiting');
      exit(1);
    }, service.config.drainTimeoutMs).unref();
    service.drain(why).then(
      () => {
        clearTimeout(timer);
        log.info('drained');
        exit(status);
      },
      (err) => {
        log.error({ err }, 'drain failed');
        exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stop(signal, 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => log.info({ keys: service.context.keys.reload() }, 'SIGHUP: key file reloaded'));
  const fatal = (err: unknown) => {
    log.fatal({ err }, 'uncaught error outside a request: draining');
    if (signals++ === 0) stop('fatal', 1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  try {
    const address = await service.listen();
    log.info({ address, models: service.context.models.map((m) => m.name), profile: service.config.profile }, 'serving');
  } catch (err) {
    await service.drain('failed to start').catch(() => undefined);
    throw err;
  }
  const status = await done;
  // Exit now: ONNX Runtime's and the addon's threads must not keep a drained process alive.
  process.exit(status);
}

export type { Service };
