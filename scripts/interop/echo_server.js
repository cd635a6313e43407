// A Node `ws` echo server with permessage-deflate, as a real peer for
// lomond's interoperability test: every message is echoed as it came,
// text as text and binary as binary. Prints its URL, then serves until
// killed.
//
// usage: node echo_server.js PORT   (with `ws` installed beside it)
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  // Compress every message (the default skips those under 1 KiB), and
  // accept whatever parameters the client asks for.
  perMessageDeflate: { threshold: 0 },
  // lomond's limits are under test, not ws's: 256 MiB.
  maxPayload: 256 << 20,
});
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.on('listening', () => console.log(`ws://127.0.0.1:${port}/`));
