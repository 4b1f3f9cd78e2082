// One hop of the bench:mesh bare Node pair for HTTP/1.1, with no weft code: ROLE=front is a
// node:http server forwarding over an undici Pool with mutual TLS (client certificate) to
// UPSTREAM; ROLE=back is a node:https server requiring a client certificate from the CA,
// forwarding over an undici Pool to UPSTREAM in plaintext. Keep-alive both ways, TLS 1.3 only.
// Prints its port on stdout once listening.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Pool } from 'undici';

const { ROLE, UPSTREAM, CERT, KEY, CA, PEER_ID } = process.env;
const tls = { cert: readFileSync(CERT), key: readFileSync(KEY), ca: readFileSync(CA), minVersion: 'TLSv1.3' };
// SPIFFE certificates carry a URI name, not a host name: check the peer's identity instead.
const checkServerIdentity = (_host, cert) => (cert.subjectaltname?.split(', ').includes(`URI:${PEER_ID}`) ? undefined : new Error(`peer is not ${PEER_ID}`));
const pool = new Pool(UPSTREAM, { connections: 64, ...(ROLE === 'front' ? { connect: { ...tls, checkServerIdentity } } : {}) });

function forward(req, res) {
  pool.request({ method: req.method, path: req.url, headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, (error, upstream) => {
    if (error) {
      res.writeHead(502).end();
      return;
    }
    res.writeHead(upstream.statusCode, upstream.headers);
    upstream.body.pipe(res);
  });
}

const server = ROLE === 'front' ? http.createServer(forward) : https.createServer({ ...tls, requestCert: true, rejectUnauthorized: true }, forward);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
// Exits on SIGTERM, so that a --cpu-prof given through BARE_NODE_OPTIONS is written.
process.on('SIGTERM', () => process.exit(0));
