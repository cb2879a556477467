// The event stream's promise to the server: a client that stops reading is dropped once it
// holds too much unread, and the others keep getting every event. A real HTTP server, real
// sockets, the stream listening on the test database; the events come from the run feed's
// place in the node (BatonEvents), as fast as the process can emit them.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { after, before, it } from 'node:test';

import { BatonEvents, type RunChange } from '../src/core/events.ts';
import { createLogger } from '../src/core/logger.ts';
import { type Connections, createConnections } from '../src/db/pool.ts';
import { EventStream } from '../src/http/event-stream.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

let db: TestDatabase;
let connections: Connections;
let server: Server;
let stream: EventStream;
const events = new BatonEvents(createLogger({ level: 'silent', pretty: false }));

before(async () => {
  db = await createTestDatabase();
  const logger = createLogger({ level: 'silent', pretty: false });
  connections = createConnections({ connectionString: db.url }, logger);
  stream = new EventStream({
    connections,
    schema: 'baton',
    events,
    logger,
    settings: { maxBufferedBytes: 64 * 1024 },
  });
  await stream.start();
  server = createServer((_request, response) => stream.attach(response, undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await stream.stop();
  server.close();
  await connections.close();
  await db.drop();
});

it('drops a client that stops reading, and keeps serving the one that reads', async () => {
  const { port } = server.address() as { port: number };
  // A client that sends its request and never reads a byte of the answer.
  const stalled = connect(port, '127.0.0.1', () => stalled.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
  stalled.pause();
  // A client that reads everything.
  const reader = await fetch(`http://127.0.0.1:${port}/`);
  let received = 0;
  void (async () => {
    for await (const chunk of reader.body!.pipeThrough(new TextDecoderStream())) {
      received += chunk.split('event: run\n').length - 1;
    }
  })();
  await waitFor('both clients', () => stream.clients === 2);

  const change: RunChange = {
    change: 'status',
    id: '1',
    scheduleId: null,
    schedule: 'x'.repeat(200),
    task: 'sql',
    kind: 'adhoc',
    status: 'running',
    attempt: 1,
    fireAt: Date.now(),
    startedAt: Date.now(),
    finishedAt: null,
  };
  // Emitted in slices, so the reading client's socket drains between them as a live one would,
  // until the stalled one is dropped: the kernel's socket buffers take megabytes first.
  let sent = 0;
  while (stream.clients === 2 && sent < 300_000) {
    for (let j = 0; j < 100; j++) events.emit('run:changed', { ...change, id: String(sent++) });
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(stream.clients, 1, `the stalled client is dropped (after ${sent} events)`);
  await waitFor('every event at the reading client', () => received === sent, { timeoutMs: 10_000 });
  stalled.destroy();
});
