// A file server in a process of its own, for the sh tests that run the real curl: the sandbox
// runs synchronously (spawnSync), which would freeze a server in the test's own event loop.
// argv: DIR and the faults as JSON; prints the port, and on SIGTERM every request as JSON.
import { startHttpServer } from '../../src/lab/http-server.ts';

const [dir, faults] = process.argv.slice(2);
const server = await startHttpServer(dir!, JSON.parse(faults ?? '{}'));
process.stdout.write(`${server.port}\n`);
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify(server.requests)}\n`);
  void server.close().then(() => process.exit(0));
});
