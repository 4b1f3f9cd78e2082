// One hop of the bench:mesh bare Node pair for gRPC, with no weft code: ROLE=front is a node:http2
// h2c server forwarding each stream over one HTTP/2 session with mutual TLS (client certificate)
// to UPSTREAM; ROLE=back is a node:http2 TLS server requiring a client certificate from the CA,
// forwarding each stream over one h2c session to UPSTREAM. Headers, body and trailers pass as
// they are; TLS 1.3 only. Prints its port on stdout once listening.
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';

const { ROLE, UPSTREAM, CERT, KEY, CA, PEER_ID } = process.env;
const tls = { cert: readFileSync(CERT), key: readFileSync(KEY), ca: readFileSync(CA), minVersion: 'TLSv1.3' };
// SPIFFE certificates carry a URI name, not a host name: check the peer's identity instead.
const checkServerIdentity = (_host, cert) => (cert.subjectaltname?.split(', ').includes(`URI:${PEER_ID}`) ? undefined : new Error(`peer is not ${PEER_ID}`));
const session = http2.connect(UPSTREAM, ROLE === 'front' ? { ...tls, checkServerIdentity } : {});

function forward(stream, headers) {
  const upstream = session.request({ ...headers, ':scheme': ROLE === 'front' ? 'https' : 'http' });
  let trailers = {};
  upstream.on('trailers', (received) => (trailers = received));
  upstream.on('response', (response) => {
    stream.respond(response, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    upstream.pipe(stream);
  });
  upstream.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  stream.on('error', () => upstream.close(http2.constants.NGHTTP2_CANCEL));
  stream.pipe(upstream);
}

const server = ROLE === 'front' ? http2.createServer() : http2.createSecureServer({ ...tls, requestCert: true, rejectUnauthorized: true });
server.on('stream', forward);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
// Exits on SIGTERM, so that a --cpu-prof given through BARE_NODE_OPTIONS is written.
process.on('SIGTERM', () => process.exit(0));
