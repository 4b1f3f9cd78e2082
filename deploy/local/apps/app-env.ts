// What `weft up` gives every app process: its port, and its outbound sidecar.
export interface AppEnv {
  readonly port: number;
  /** http://127.0.0.1:PORT of the app's outbound sidecar listener. */
  readonly outbound: URL | undefined;
}

export function appEnv(env = process.env): AppEnv {
  const port = Number(env.PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write('set PORT to the port this app listens on (weft up does)\n');
    process.exit(2);
  }
  return { port, outbound: env.WEFT_OUTBOUND === undefined ? undefined : new URL(env.WEFT_OUTBOUND) };
}

/** Ends the process once `close` resolves, on SIGTERM or SIGINT. */
export function stopOnSignals(name: string, close: () => Promise<void>): void {
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`${name}: ${signal}, stopping\n`);
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
