// Starting an HTTP server the same way everywhere: explicit host (HOST; 127.0.0.1 unless a deployment
// says 0.0.0.0), bounded header size and request times, and one clear error when the port is taken.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`port ${port} on ${host} is already in use: stop what listens there or choose another port`);
    this.name = 'PortInUseError';
  }
}

export interface Listening {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function listenHttp(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  host: string,
  port: number,
): Promise<Listening> {
  const server = createServer(
    {
      // Node's default, stated: bigger header blocks are refused with 431 before any handler runs.
      maxHeaderSize: 16 * 1024,
      // A client gets this long to send its headers, and to finish the whole request.
      headersTimeout: 10_000,
      requestTimeout: 30_000,
    },
    listener,
  );
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(host, port) : err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
