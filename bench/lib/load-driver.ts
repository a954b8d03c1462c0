// The open-loop driver, one process beside the benchmark's (load.ts openLoop forks it once): receives the
// prepared requests of one run at a time, sends them on schedule over loopback, and reports every latency
// back. Its heap holds one run and is collected before each, so its own garbage collection does not show
// up as the server's latency.
import { Agent, request } from 'node:http';
import type { DriverJob, DriverReport } from './load.js';

const msSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

async function drive(job: DriverJob): Promise<DriverReport> {
  const { port, rate, requests } = job;
  const agent = new Agent({ keepAlive: job.keepAlive, maxSockets: 1024 });
  const report: DriverReport = { sent: 0, non2xx: 0, errors: 0, statuses: {}, latencies: [], lags: [] };
  const inflight: Array<Promise<void>> = [];
  const total = requests.length;
  const fire = (i: number, lagMs: number): void => {
    const r = requests[i]!;
    report.lags.push(lagMs);
    report.sent += 1;
    inflight.push(
      new Promise<void>((resolve) => {
        const started = process.hrtime.bigint();
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: r.path,
            method: 'POST',
            agent,
            headers: r.headers,
            timeout: 10_000,
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              report.latencies.push(msSince(started));
              const status = res.statusCode ?? 0;
              report.statuses[String(status)] = (report.statuses[String(status)] ?? 0) + 1;
              if (status < 200 || status >= 300) report.non2xx += 1;
              resolve();
            });
          },
        );
        req.on('error', () => {
          report.errors += 1;
          resolve();
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end(r.body);
      }),
    );
  };
  (globalThis as { gc?: () => void }).gc?.();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - start;
      const due = Math.min(total, Math.floor((elapsed / 1000) * rate) + 1);
      while (report.sent < due) fire(report.sent, elapsed - (report.sent / rate) * 1000);
      if (report.sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inflight);
  agent.destroy();
  return report;
}

process.on('message', (job) => {
  void drive(job as DriverJob).then((report) => process.send!(report));
});
// The benchmark's process is gone (or done with us): so are we.
process.on('disconnect', () => process.exit(0));
